"""Master data records → rows for the bulk upserts (engine.services.catalog.put_rows).

A record carries only what its source knows (``None`` = leave as it is), so each is laid over
the stored row (or the defaults, for a new code) and validated by the same schemas as
``PUT /skus``; a result equal to the stored row is *unchanged* and not written at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from sqlalchemy import Connection, select

from engine.catalog import validate_rows
from engine.imports.records import BadRow, SkuRecord, SupplierRecord, WarehouseRecord
from engine.storage.tables import sku_suppliers, skus, suppliers, warehouses

KIND_OF = {WarehouseRecord: "warehouses", SupplierRecord: "suppliers", SkuRecord: "skus"}
FIELDS = {
    "warehouses": ("code", "name", "region"),
    "suppliers": ("code", "name", "lead_time_days", "lead_time_std_days", "moq", "pack_size",
                  "on_time_rate", "contact"),
    "skus": ("code", "name", "category", "tags", "unit", "unit_cost", "abc_class", "attributes",
             "suppliers"),
}
TABLES = {"warehouses": warehouses, "suppliers": suppliers, "skus": skus}


@dataclass
class Merged:
    kind: str
    rows: list[dict[str, Any]] = field(default_factory=list)  # to write (new or changed)
    origins: list[str | None] = field(default_factory=list)
    new: int = 0
    changed: int = 0
    unchanged: int = 0


def merge(conn: Connection, kind: str, records: Sequence[Any]) -> Merged:
    """Lay each record over its stored row; keep the rows that change something (new or
    changed), not yet validated: ``check`` or the bulk upsert does that, once per row."""
    out = Merged(kind)
    if not records:
        return out
    records = _combined(records)
    stored = _stored(conn, kind, [r.code for r in records])
    for rec in records:
        old = stored.get(rec.code)
        row = dict(old) if old else _defaults(kind, rec.code)
        _overlay(kind, row, rec)
        if old is not None and row == old:
            out.unchanged += 1
            continue
        out.rows.append(row)
        out.origins.append(rec.origin or rec.code)
        if old is None:
            out.new += 1
        else:
            out.changed += 1
    return out


def check(merged: Merged, columns: dict[str, str] | None = None) -> list[BadRow]:
    """The rows the schemas of ``PUT /skus`` … refuse, as bad rows (each named by its origin
    and column); they are taken out of ``merged``."""
    if not merged.rows:
        return []
    _, errors = validate_rows(merged.kind, merged.rows)
    return drop(merged, errors, columns)


def drop(merged: Merged, errors: list[dict[str, Any]],
         columns: dict[str, str] | None = None) -> list[BadRow]:
    """Take the rows named by ``errors`` (``{row, field, message}``, as the bulk upserts say)
    out of ``merged``; the bad rows they make."""
    bad: list[BadRow] = []
    wrong: set[int] = set()
    for error in errors:
        index = error.get("row")
        if not isinstance(index, int):
            continue
        wrong.add(index)
        name = str(error.get("field") or "").split(".")[0]
        column = (columns or {}).get(_field_of(merged.kind, name), name) or None
        message = str(error.get("message"))
        if name == "lead_time_days" and "required" in message:
            message = "a new supplier needs its lead time (lead_time_days, 提前期)"
        origin = merged.origins[index]
        bad.append(BadRow(origin or merged.kind, f"{column or merged.kind}: {message}", column,
                          _row_number(origin), {"code": merged.rows[index].get("code")}))
    keep = [i for i in range(len(merged.rows)) if i not in wrong]
    merged.rows = [merged.rows[i] for i in keep]
    merged.origins = [merged.origins[i] for i in keep]
    return bad


def _combined(records: Sequence[Any]) -> list[Any]:
    """One record per code: what later records of the same code say is laid over the earlier
    (the supplier that each row of an items file names, with its lead time)."""
    by_code: dict[str, Any] = {}
    for rec in records:
        first = by_code.get(rec.code)
        if first is None:
            by_code[rec.code] = rec
        else:
            given = {f.name: getattr(rec, f.name) for f in fields(rec)
                     if f.name != "origin" and getattr(rec, f.name) is not None}
            by_code[rec.code] = replace(first, **given)
    return list(by_code.values())


def _field_of(kind: str, name: str) -> str:
    if name == "code":
        return {"skus": "sku", "warehouses": "warehouse", "suppliers": "supplier"}[kind]
    if name == "suppliers":
        return "supplier"
    return name


def _row_number(origin: str | None) -> int | None:
    if origin and origin.startswith("row "):
        try:
            return int(origin[4:])
        except ValueError:
            return None
    return None


def _defaults(kind: str, code: str) -> dict[str, Any]:
    """A new code's row before the record is laid over it: its name is its code until the
    source says otherwise (the bulk upserts require a name)."""
    return {"code": code, "name": code}


def _overlay(kind: str, row: dict[str, Any], rec: Any) -> None:
    for name in FIELDS[kind]:
        if name == "code":
            continue
        value = getattr(rec, name, None)
        if value is None:
            continue
        if name == "tags":
            value = list(value)
        elif name == "contact" and isinstance(value, str):
            value = {**(row.get("contact") or {}), "text": value}
        elif name == "attributes":
            value = {**(row.get("attributes") or {}), **value}
        elif name == "suppliers":
            value = _links(row.get("suppliers") or [], value)
        row[name] = value


def _links(old: list[dict[str, Any]], given: Sequence[Any]) -> list[dict[str, Any]]:
    """The SKU's supplier links with the given ones laid over: a given preferred supplier
    demotes the stored one; a price not given keeps the stored price."""
    by_code = {link["supplier"]: dict(link) for link in old}
    if any(g.preferred for g in given):
        for link in by_code.values():
            link["preferred"] = False
    for g in given:
        link = by_code.setdefault(g.supplier, {"supplier": g.supplier, "price": None,
                                               "preferred": False, "backup": False})
        link["preferred"] = link["preferred"] or g.preferred
        link["backup"] = (link["backup"] or g.backup) and not link["preferred"]
        if g.price is not None:
            link["price"] = g.price
    return list(by_code.values())


def _stored(conn: Connection, kind: str, codes: list[str]) -> dict[str, dict[str, Any]]:
    """The stored rows of ``codes`` as the schema takes them."""
    table = TABLES[kind]
    out: dict[str, dict[str, Any]] = {}
    ids: dict[int, str] = {}
    for r in conn.execute(select(table).where(table.c.code.in_(codes))):
        m = r._mapping
        row = {name: m[name] for name in FIELDS[kind] if name in m and name != "suppliers"}
        if kind == "skus":
            if not m["abc_given"]:
                row["abc_class"] = None  # computed from revenue: not a value the source gave
            row["suppliers"] = []
            ids[m["id"]] = m["code"]
        if kind == "suppliers" and row.get("contact") is None:
            row.pop("contact")
        out[m["code"]] = {k: v for k, v in row.items() if v is not None or k == "abc_class"}
    if ids:
        links = conn.execute(
            select(sku_suppliers, suppliers.c.code.label("supplier_code"))
            .join(suppliers, suppliers.c.id == sku_suppliers.c.supplier_id)
            .where(sku_suppliers.c.sku_id.in_(list(ids))))
        for link in links:
            out[ids[link.sku_id]]["suppliers"].append(
                {"supplier": link.supplier_code, "price": link.price,
                 "preferred": bool(link.preferred), "backup": bool(link.backup)})
        for row in out.values():
            row["suppliers"].sort(key=lambda link: link["supplier"])
    return out
