"""Bulk upserts of master data: all-or-nothing, every bad row reported by index and field."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from engine.catalog import validate_rows
from engine.errors import InputInvalid
from engine.services import audit
from engine.storage.tables import ruleset_state, sku_suppliers, skus, suppliers, warehouses
from engine.storage.upsert import upsert


def put_rows(conn: Connection, kind: str, rows: Any, actor: str, now: datetime) -> dict[str, int]:
    """Validate every row, then write them all; any bad row refuses the whole batch.

    All-or-nothing keeps the master data consistent (a SKU row never lands without the supplier
    links it names) and lets the caller fix and resend the same batch.
    """
    clean, errors = validate_rows(kind, rows)
    if kind == "skus" and not errors:
        errors = _unknown_suppliers(conn, clean)
    if errors:
        raise InputInvalid(errors)
    table = {"skus": skus, "warehouses": warehouses, "suppliers": suppliers}[kind]
    codes = [r["code"] for r in clean]
    existing = set(conn.execute(select(table.c.code).where(table.c.code.in_(codes))).scalars())
    if kind == "skus":
        _put_skus(conn, clean, now)
    else:
        upsert(conn, table, [dict(r, updated_at=now) for r in clean], ["code"])
    conn.execute(update(ruleset_state).where(ruleset_state.c.id == 1)
                 .values(catalog_revision=ruleset_state.c.catalog_revision + 1))
    audit.record(conn, now, actor, f"{kind}.put", f"{len(clean)} rows",
                 created=len(clean) - len(existing), updated=len(existing))
    return {"created": len(clean) - len(existing), "updated": len(existing), "rows": len(clean)}


def _unknown_suppliers(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    wanted = {link["supplier"] for r in rows for link in (r.get("suppliers") or [])}
    if not wanted:
        return []
    known = set(conn.execute(select(suppliers.c.code).where(suppliers.c.code.in_(wanted))).scalars())
    errors = []
    for index, row in enumerate(rows):
        for li, link in enumerate(row.get("suppliers") or []):
            if link["supplier"] not in known:
                errors.append({"row": index, "field": f"suppliers.{li}.supplier",
                               "message": f"supplier '{link['supplier']}' does not exist; "
                                          "create it with PUT /suppliers first"})
    return errors


def _put_skus(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    sku_rows = []
    for r in rows:
        row = {k: v for k, v in r.items() if k != "suppliers"}
        row.update(updated_at=now, abc_given=r["abc_class"] is not None)
        sku_rows.append(row)
    given = [r for r in sku_rows if r["abc_given"]]
    computed = [r for r in sku_rows if not r["abc_given"]]
    upsert(conn, skus, given, ["code"])
    # A SKU without a given class keeps the one computed from revenue share (SPEC §5).
    upsert(conn, skus, computed, ["code"],
           update=[c for c in computed[0] if c not in ("code", "abc_class")] if computed else None)
    linked = [r for r in rows if r.get("suppliers") is not None]
    if not linked:
        return
    ids = {code: id_ for code, id_ in conn.execute(
        select(skus.c.code, skus.c.id).where(skus.c.code.in_([r["code"] for r in linked])))}
    sup_ids = {code: id_ for code, id_ in conn.execute(select(suppliers.c.code, suppliers.c.id))}
    conn.execute(delete(sku_suppliers).where(sku_suppliers.c.sku_id.in_(list(ids.values()))))
    links = [
        {"sku_id": ids[r["code"]], "supplier_id": sup_ids[link["supplier"]], "price": link["price"],
         "preferred": link["preferred"], "backup": link["backup"]}
        for r in linked for link in r["suppliers"]
    ]
    if links:
        conn.execute(sku_suppliers.insert(), links)


def list_rows(conn: Connection, kind: str, limit: int = 1000, offset: int = 0) -> list[dict[str, Any]]:
    table = {"skus": skus, "warehouses": warehouses, "suppliers": suppliers}[kind]
    rows = conn.execute(select(table).order_by(table.c.code).limit(limit).offset(offset))
    out = [dict(r._mapping) for r in rows]
    if kind == "skus" and out:
        links = conn.execute(
            select(sku_suppliers, suppliers.c.code.label("supplier"))
            .join(suppliers, suppliers.c.id == sku_suppliers.c.supplier_id)
            .where(sku_suppliers.c.sku_id.in_([r["id"] for r in out]))
        )
        by_sku: dict[int, list[dict[str, Any]]] = {}
        for link in links:
            by_sku.setdefault(link.sku_id, []).append(
                {"supplier": link.supplier, "price": link.price, "preferred": link.preferred,
                 "backup": link.backup})
        for r in out:
            r["suppliers"] = by_sku.get(r["id"], [])
    for r in out:
        r.pop("id", None)
        r.pop("abc_given", None)
    return out
