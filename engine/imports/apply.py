"""Applying one checked page: master data through the bulk upserts, everything about stock as
stock events through the event path of ``POST /events`` (so the rules see imported stock).

Decisions (SPEC §4, ERP.md TL;DR 5 and §3):
- a stock snapshot is a ``count`` event carrying ``reserved`` and ``on_order`` when the source
  gives them; a pair whose stored level already equals the snapshot is *unchanged*: no event;
- open purchase-order lines are kept per source (``import_po_lines``); a pair's ``on_order`` is
  the sum of its open lines over every source, set by a ``count`` event that carries only
  ``on_order`` (a count may omit ``qty``: on_hand is left alone);
- a complete stock snapshot sets every pair it did not list, in the warehouses it covers, to 0;
  a complete purchase-order snapshot drops the lines it did not list;
- a move cancelled at its source is never applied; one already applied is undone by a
  compensating event (``<id>~cancel``); its demand, if a sale, stays in the history.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, select, tuple_

from engine.imports.records import PurchaseOrderLine, StockSnapshot
from engine.imports.validate import Checked, Validator, event_id
from engine.services.engine_cache import Snapshot
from engine.storage import bulk
from engine.storage.tables import (
    import_po_lines,
    import_seen,
    skus,
    stock_events,
    stock_levels,
    warehouses,
)
from engine.storage.upsert import upsert

EPS = 1e-9
LEVEL_COLUMNS = ("sku_id", "warehouse_id", "on_hand", "reserved", "on_order_erp")


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= EPS * max(1.0, abs(a), abs(b))


Pair = tuple[int, int]


def _levels(conn: Connection, keys: list[Pair]) -> dict[Pair, tuple[float, float, float]]:
    rows = bulk.select_by_pairs(conn, stock_levels, LEVEL_COLUMNS, sorted(set(keys)))
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


def snapshot_events(conn: Connection, snap: Snapshot | None, validator: Validator, run_id: int,
                    records: list[StockSnapshot]) -> tuple[list[dict[str, Any]], int]:
    """Count events for the snapshots that change something; the pairs are noted as seen by
    this run (for the reconciliation of a complete snapshot). Returns (events, unchanged)."""
    if not records or snap is None:
        return [], 0
    keys = [(snap.sku_ids[r.sku], snap.warehouse_ids[r.warehouse]) for r in records]
    bulk.insert_many(conn, import_seen, ("run_id", "sku_id", "warehouse_id"),
                     [(run_id, s, w) for s, w in sorted(set(keys))],
                     "ON CONFLICT (run_id, sku_id, warehouse_id) DO NOTHING")
    levels = _levels(conn, keys)
    by_lines = _pairs_with_po_lines(conn, keys)
    events, unchanged = [], 0
    for rec, key in zip(records, keys, strict=True):
        f = rec.factor
        qty = rec.on_hand * f
        reserved = rec.reserved * f if rec.reserved is not None else None
        # a pair with purchase-order lines has its on_order from them (their sum), never from
        # the snapshot's own figure (Odoo's incoming_qty): the two would undo each other
        on_order = rec.on_order * f if rec.on_order is not None and key not in by_lines \
            else None
        on_hand0, reserved0, on_order0 = levels.get(key, (0.0, 0.0, 0.0))
        if (_same(qty, on_hand0) and (reserved is None or _same(reserved, reserved0))
                and (on_order is None or _same(on_order, on_order0))):
            unchanged += 1
            continue
        at = validator.at(rec.as_of, end_of_day=True)
        raw_id = rec.id or "stock:{}:{}:{}:{}".format(rec.sku, rec.warehouse, at, hashlib.blake2b(
            repr((qty, reserved, on_order)).encode(), digest_size=6).hexdigest())
        event: dict[str, Any] = {"id": event_id(raw_id), "type": "count", "sku": rec.sku,
                                 "warehouse": rec.warehouse, "qty": qty, "at": at}
        if reserved is not None:
            event["reserved"] = reserved
        if on_order is not None:
            event["on_order"] = on_order
        events.append(event)
    return events, unchanged


def _pairs_with_po_lines(conn: Connection, keys: list[Pair]) -> set[Pair]:
    wanted = sorted(set(keys))
    found: set[Pair] = set()
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        found.update((s, w) for s, w in conn.execute(
            select(import_po_lines.c.sku_id, import_po_lines.c.warehouse_id).where(
                tuple_(import_po_lines.c.sku_id, import_po_lines.c.warehouse_id).in_(chunk))
            .distinct()))
    return found


def reconcile_stock(conn: Connection, codes: Codes, run_id: int,
                    at: str) -> list[dict[str, Any]]:
    """After a complete stock snapshot: a count of 0 for every pair of the warehouses it covers
    that it did not list (Odoo deletes empty quants: absent means none)."""
    covered = select(import_seen.c.warehouse_id).where(import_seen.c.run_id == run_id).distinct()
    seen = exists().where(import_seen.c.run_id == run_id,
                          import_seen.c.sku_id == stock_levels.c.sku_id,
                          import_seen.c.warehouse_id == stock_levels.c.warehouse_id)
    rows = conn.execute(select(stock_levels.c.sku_id, stock_levels.c.warehouse_id).where(
        stock_levels.c.warehouse_id.in_(covered), ~seen,
        (stock_levels.c.on_hand != 0) | (stock_levels.c.reserved != 0))
        .order_by(stock_levels.c.sku_id, stock_levels.c.warehouse_id)).all()
    out = []
    for sku_id, wh_id in rows:
        sku, wh = codes.pair(conn, sku_id, wh_id)
        out.append({"id": event_id(f"reconcile:{run_id}:{sku}:{wh}"), "type": "count",
                    "sku": sku, "warehouse": wh, "qty": 0.0, "reserved": 0.0, "at": at})
    return out


class Codes:
    """SKU and warehouse codes by id, read as needed."""

    def __init__(self) -> None:
        self.skus: dict[int, str] = {}
        self.warehouses: dict[int, str] = {}

    def pair(self, conn: Connection, sku_id: int, wh_id: int) -> tuple[str, str]:
        if sku_id not in self.skus:
            self.skus[sku_id] = conn.execute(
                select(skus.c.code).where(skus.c.id == sku_id)).scalar_one()
        if wh_id not in self.warehouses:
            self.warehouses[wh_id] = conn.execute(
                select(warehouses.c.code).where(warehouses.c.id == wh_id)).scalar_one()
        return self.skus[sku_id], self.warehouses[wh_id]


def store_po_lines(conn: Connection, snap: Snapshot | None, source: str, run_id: int,
                   lines: list[PurchaseOrderLine], now: datetime) -> set[tuple[int, int]]:
    """Keep the page's lines with their open quantity (0 once done or cancelled); the pairs
    whose on_order may have changed."""
    if not lines or snap is None:
        return set()
    keys = [(line.po, line.line) for line in lines]
    old = conn.execute(select(import_po_lines.c.sku_id, import_po_lines.c.warehouse_id).where(
        import_po_lines.c.source == source,
        tuple_(import_po_lines.c.po, import_po_lines.c.line).in_(keys))).all()
    rows: list[dict[str, Any]] = []
    for line in lines:
        still_open = line.status in (None, "open")
        remaining = max(0.0, line.qty_ordered - line.qty_received) * line.factor
        open_qty = remaining if still_open else 0.0
        rows.append({"source": source, "po": line.po[:128], "line": line.line[:128],
                     "sku_id": snap.sku_ids[line.sku],
                     "warehouse_id": snap.warehouse_ids[line.warehouse],
                     "supplier": line.supplier[:64] or None, "open_qty": open_qty,
                     "expected_date": line.expected_date, "run_id": run_id, "updated_at": now})
    upsert(conn, import_po_lines, rows, ["source", "po", "line"])
    return {(r["sku_id"], r["warehouse_id"]) for r in rows} | {(s, w) for s, w in old}


def drop_unseen_po_lines(conn: Connection, source: str, run_id: int) -> set[tuple[int, int]]:
    """After a complete purchase-order snapshot: lines it did not list are no longer open."""
    unseen = and_(import_po_lines.c.source == source,
                  (import_po_lines.c.run_id != run_id) | import_po_lines.c.run_id.is_(None))
    pairs = {(s, w) for s, w in conn.execute(
        select(import_po_lines.c.sku_id, import_po_lines.c.warehouse_id).where(unseen))}
    conn.execute(delete(import_po_lines).where(unseen))
    seen = conn.execute(select(import_po_lines.c.sku_id, import_po_lines.c.warehouse_id).where(
        import_po_lines.c.source == source, import_po_lines.c.run_id == run_id).distinct())
    return pairs | {(s, w) for s, w in seen}


def on_order_events(conn: Connection, codes: Codes, pairs: Iterable[tuple[int, int]], tag: str,
                    at: str) -> tuple[list[dict[str, Any]], int]:
    """A count carrying only ``on_order`` (the sum of the open lines of every source) for each
    pair whose stored ERP on-order differs; (events, unchanged)."""
    keys = sorted(set(pairs))
    if not keys:
        return [], 0
    totals: dict[tuple[int, int], float] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        for s, w, total in conn.execute(
                select(import_po_lines.c.sku_id, import_po_lines.c.warehouse_id,
                       func.sum(import_po_lines.c.open_qty))
                .where(tuple_(import_po_lines.c.sku_id, import_po_lines.c.warehouse_id).in_(chunk))
                .group_by(import_po_lines.c.sku_id, import_po_lines.c.warehouse_id)):
            totals[(s, w)] = float(total or 0.0)
    levels = _levels(conn, keys)
    events, unchanged = [], 0
    for key in keys:
        total = totals.get(key, 0.0)
        if _same(total, levels.get(key, (0.0, 0.0, 0.0))[2]):
            unchanged += 1
            continue
        sku, wh = codes.pair(conn, *key)
        events.append({"id": event_id(f"on_order:{tag}:{sku}:{wh}"), "type": "count",
                       "sku": sku, "warehouse": wh, "on_order": total, "at": at})
    return events, unchanged


def cancellations(conn: Connection, validator: Validator, checked: Checked) -> list[dict[str, Any]]:
    """The compensating events of cancelled moves that were applied here."""
    if not checked.cancelled:
        return []
    ids = [event_id(m.id) for m in checked.cancelled]
    applied = set(conn.execute(select(stock_events.c.event_id)
                               .where(stock_events.c.event_id.in_(ids))).scalars())
    out = []
    for move in checked.cancelled:
        if event_id(move.id) in applied:
            wh = validator.warehouse(move.warehouse) or move.warehouse
            reverse = validator.reversal(move, wh)
            if reverse is not None:
                out.append(reverse)
    return out
