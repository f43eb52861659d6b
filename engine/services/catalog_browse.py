"""Browsing master data: SKUs, warehouses and suppliers searched, filtered and paged in SQL.

The pages list a catalogue of 100k SKUs: every listing is one query for the page's rows
(ORDER BY code, LIMIT/OFFSET: the unique index on code) and one count, and the figures shown
beside each row (stock on hand, SKUs linked) are read for that page's ids only. Exports walk
the same filters in batches keyed by code, so memory stays flat whatever the size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, Table, func, or_, select

from engine.errors import NotFound
from engine.storage.tables import sku_suppliers, skus, stock_levels, suppliers, warehouses

TABLES: dict[str, Table] = {"skus": skus, "warehouses": warehouses, "suppliers": suppliers}
EXPORT_BATCH = 1000


@dataclass(frozen=True)
class Filters:
    """What a listing is narrowed by; empty strings mean 'any'."""

    q: str = ""  # part of the code or the name
    category: str = ""  # SKUs
    abc: str = ""  # SKUs: A, B, C or "-" (no class yet)
    supplier: str = ""  # SKUs linked to this supplier code
    region: str = ""  # warehouses


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(kind: str, f: Filters) -> list[ColumnElement[bool]]:
    table = TABLES[kind]
    where: list[ColumnElement[bool]] = []
    q = f.q.strip()
    if q:
        pattern = _like(q)
        where.append(or_(table.c.code.ilike(pattern, escape="\\"),
                         table.c.name.ilike(pattern, escape="\\")))
    if kind == "skus":
        if f.category:
            where.append(skus.c.category == f.category)
        if f.abc == "-":
            where.append(skus.c.abc_class.is_(None))
        elif f.abc:
            where.append(skus.c.abc_class == f.abc)
        if f.supplier:
            linked = (select(sku_suppliers.c.sku_id)
                      .join(suppliers, suppliers.c.id == sku_suppliers.c.supplier_id)
                      .where(suppliers.c.code == f.supplier))
            where.append(skus.c.id.in_(linked))
    if kind == "warehouses" and f.region:
        where.append(warehouses.c.region == f.region)
    return where


def search(conn: Connection, kind: str, filters: Filters, limit: int,
           offset: int) -> tuple[int, list[dict[str, Any]]]:
    """One page of ``kind`` matching ``filters``, by code; with the total that match."""
    table = TABLES[kind]
    where = _conditions(kind, filters)
    total = conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
    rows = [dict(r._mapping) for r in conn.execute(
        select(table).where(*where).order_by(table.c.code).limit(limit).offset(offset))]
    if rows:
        ADD_FIGURES[kind](conn, rows)
    return total, rows


def _sku_figures(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Stock on hand and available over every warehouse, and the preferred supplier."""
    ids = [r["id"] for r in rows]
    stock = {sku_id: (on_hand, reserved, n) for sku_id, on_hand, reserved, n in conn.execute(
        select(stock_levels.c.sku_id, func.sum(stock_levels.c.on_hand),
               func.sum(stock_levels.c.reserved), func.count())
        .where(stock_levels.c.sku_id.in_(ids)).group_by(stock_levels.c.sku_id))}
    preferred = dict(conn.execute(
        select(sku_suppliers.c.sku_id, suppliers.c.code)
        .join(suppliers, suppliers.c.id == sku_suppliers.c.supplier_id)
        .where(sku_suppliers.c.sku_id.in_(ids), sku_suppliers.c.preferred.is_(True))).all())
    for r in rows:
        on_hand, reserved, n = stock.get(r["id"], (None, None, 0))
        r["on_hand"] = on_hand
        r["available"] = None if on_hand is None else on_hand - (reserved or 0)
        r["warehouse_count"] = n
        r["preferred_supplier"] = preferred.get(r["id"])


def _warehouse_figures(conn: Connection, rows: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in rows]
    counts: dict[int, int] = dict(conn.execute(
        select(stock_levels.c.warehouse_id, func.count())
        .where(stock_levels.c.warehouse_id.in_(ids)).group_by(stock_levels.c.warehouse_id))
        .all())
    for r in rows:
        r["sku_count"] = counts.get(r["id"], 0)


def _supplier_figures(conn: Connection, rows: list[dict[str, Any]]) -> None:
    ids = [r["id"] for r in rows]
    counts: dict[int, int] = dict(conn.execute(
        select(sku_suppliers.c.supplier_id, func.count())
        .where(sku_suppliers.c.supplier_id.in_(ids)).group_by(sku_suppliers.c.supplier_id))
        .all())
    for r in rows:
        r["sku_count"] = counts.get(r["id"], 0)


ADD_FIGURES = {"skus": _sku_figures, "warehouses": _warehouse_figures,
               "suppliers": _supplier_figures}


def choices(conn: Connection, kind: str, limit: int = 500) -> dict[str, list[str]]:
    """The values a listing's filters offer: SKU categories, warehouse regions, supplier
    codes (at most ``limit`` of each)."""
    if kind == "skus":
        return {
            "category": list(conn.execute(
                select(skus.c.category).where(skus.c.category.is_not(None)).distinct()
                .order_by(skus.c.category).limit(limit)).scalars()),
            "supplier": list(conn.execute(
                select(suppliers.c.code).order_by(suppliers.c.code).limit(limit)).scalars()),
        }
    if kind == "warehouses":
        return {"region": list(conn.execute(
            select(warehouses.c.region).where(warehouses.c.region.is_not(None)).distinct()
            .order_by(warehouses.c.region).limit(limit)).scalars())}
    return {}


def get(conn: Connection, kind: str, code: str) -> dict[str, Any]:
    """One row of ``kind`` by code (SKUs with their supplier links); ``NotFound``."""
    table = TABLES[kind]
    row = conn.execute(select(table).where(table.c.code == code)).first()
    if row is None:
        raise NotFound({"skus": "SKU", "warehouses": "warehouse", "suppliers": "supplier"}[kind],
                       code)
    out = dict(row._mapping)
    if kind == "skus":
        out["suppliers"] = [dict(r._mapping) for r in conn.execute(
            select(suppliers.c.code.label("supplier"), suppliers.c.name,
                   suppliers.c.lead_time_days, suppliers.c.moq, suppliers.c.pack_size,
                   sku_suppliers.c.price, sku_suppliers.c.preferred, sku_suppliers.c.backup)
            .join(suppliers, suppliers.c.id == sku_suppliers.c.supplier_id)
            .where(sku_suppliers.c.sku_id == out["id"])
            .order_by(sku_suppliers.c.preferred.desc(), sku_suppliers.c.backup.desc(),
                      suppliers.c.code))]
    return out


def stock_in_warehouse(conn: Connection, warehouse_id: int, limit: int,
                       offset: int) -> tuple[int, list[dict[str, Any]]]:
    """A warehouse's stock levels, by SKU code, paged."""
    where = stock_levels.c.warehouse_id == warehouse_id
    total = conn.execute(select(func.count()).select_from(stock_levels).where(where)).scalar_one()
    rows = conn.execute(
        select(skus.c.code, skus.c.name, skus.c.unit, stock_levels.c.on_hand,
               stock_levels.c.reserved, stock_levels.c.on_order_erp,
               stock_levels.c.on_order_local, stock_levels.c.last_event_at)
        .join(skus, skus.c.id == stock_levels.c.sku_id).where(where)
        .order_by(skus.c.code).limit(limit).offset(offset))
    return total, [dict(r._mapping) for r in rows]


def skus_of_supplier(conn: Connection, supplier_id: int, limit: int,
                     offset: int) -> tuple[int, list[dict[str, Any]]]:
    """The SKUs a supplier is linked to, by code, paged."""
    where = sku_suppliers.c.supplier_id == supplier_id
    total = conn.execute(select(func.count()).select_from(sku_suppliers)
                         .where(where)).scalar_one()
    rows = conn.execute(
        select(skus.c.code, skus.c.name, sku_suppliers.c.price, sku_suppliers.c.preferred,
               sku_suppliers.c.backup)
        .join(skus, skus.c.id == sku_suppliers.c.sku_id).where(where)
        .order_by(skus.c.code).limit(limit).offset(offset))
    return total, [dict(r._mapping) for r in rows]


def export(connect: Callable[[], Any], kind: str, filters: Filters,
           batch: int = EXPORT_BATCH) -> Iterator[dict[str, Any]]:
    """Every row matching ``filters`` in code order, read ``batch`` rows at a time, each batch
    in a short transaction of its own (``connect()`` gives a unit of work): an export of 100k
    SKUs never holds the database (SQLite's write lock) while the workbook is written. Keyset
    paging (each batch starts after the last code of the one before) keeps it exact while rows
    are added meanwhile."""
    table = TABLES[kind]
    where = _conditions(kind, filters)
    last: str | None = None
    while True:
        query: Select[Any] = select(table).where(*where)
        if last is not None:
            query = query.where(table.c.code > last)
        with connect() as uow:
            rows = [dict(r._mapping) for r in uow.conn.execute(query.order_by(table.c.code)
                                                               .limit(batch))]
            if kind == "skus" and rows:
                _links(uow.conn, rows)
        if not rows:
            return
        yield from rows
        last = rows[-1]["code"]


def _links(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Each SKU's supplier codes, the preferred one first."""
    by_sku: dict[int, list[str]] = {}
    for sku_id, code, _preferred in conn.execute(
            select(sku_suppliers.c.sku_id, suppliers.c.code, sku_suppliers.c.preferred)
            .join(suppliers, suppliers.c.id == sku_suppliers.c.supplier_id)
            .where(sku_suppliers.c.sku_id.in_([r["id"] for r in rows]))
            .order_by(sku_suppliers.c.preferred.desc(), suppliers.c.code)):
        by_sku.setdefault(sku_id, []).append(code)
    for r in rows:
        r["supplier_codes"] = by_sku.get(r["id"], [])
