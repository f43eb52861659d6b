"""Supplier delays (issue #19): a ``supplier_delay`` event moves the ETA of the open order it
names (SPEC §4: supplier, ref, new ETA).

The event names a supplier and the order's ``ref`` (the ERP purchase order number the
requisitions were ordered with), perhaps one line of it (SKU and warehouse). Every open
requisition of that supplier with that ref (and line) gets the new ETA, with a ``delay`` entry
in its history; their purchase orders take the latest ETA of their lines; the delay is kept in
``supplier_delays`` (the supplier's open delay and on-time record read it) and the snapshot is
refreshed. A delay of an order nobody knows is rejected with the reason, and nothing of it is
applied. For the rules, the delay is one event per line it moved (``on: [supplier_delay]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from engine.pipeline.validate import ItemResult
from engine.snapshot import Snapshot
from engine.stock import StockEvent
from engine.storage import requisition_store
from engine.storage.supply_store import OPEN_STATES, bump_catalog
from engine.storage.tables import purchase_orders, requisitions, supplier_delays, suppliers
from engine.supply import days_between
from engine.workflows.tasks import HistoryEntry

SYSTEM = "system"


def _lines(conn: Connection, event: StockEvent, snap: Snapshot) -> list[Any]:
    supplier_id = snap.supplier_ids[event.supplier or ""]
    query = (select(requisitions.c.id, requisitions.c.sku_id, requisitions.c.warehouse_id,
                    requisitions.c.eta, requisitions.c.ordered_at, requisitions.c.created_at,
                    requisitions.c.purchase_order_id, requisitions.c.state,
                    suppliers.c.lead_time_days)
             .join(suppliers, suppliers.c.id == requisitions.c.supplier_id)
             .where(requisitions.c.ref == event.ref, requisitions.c.supplier_id == supplier_id,
                    requisitions.c.state.in_(OPEN_STATES))
             .order_by(requisitions.c.id))
    if event.sku:
        query = query.where(requisitions.c.sku_id == snap.sku_ids[event.sku],
                            requisitions.c.warehouse_id == snap.warehouse_ids[event.warehouse])
    return list(conn.execute(query).all())


def take_delays(conn: Connection, good: list[tuple[int, StockEvent]], snap: Snapshot,
                now: datetime) -> tuple[list[tuple[int, StockEvent]], list[ItemResult]]:
    """Apply the ``supplier_delay`` events of ``good``; the events for the pipeline (the others
    as they are, each applied delay as one event per line it moved) and the answers of the
    delays refused (unknown order) or seen before (duplicate)."""
    delays = [(i, e) for i, e in good if e.type == "supplier_delay"]
    if not delays:
        return good, []
    known = {r[0] for r in conn.execute(select(supplier_delays.c.event_id).where(
        supplier_delays.c.event_id.in_([e.id for _, e in delays])))}
    out = [(i, e) for i, e in good if e.type != "supplier_delay"]
    results: list[ItemResult] = []
    sku_codes = {v: k for k, v in snap.sku_ids.items()}
    wh_codes = {v: k for k, v in snap.warehouse_ids.items()}
    applied = False
    for index, event in delays:
        if event.id in known:
            results.append(ItemResult(index, event.id, "duplicate"))
            continue
        lines = _lines(conn, event, snap)
        if not lines:
            line = f" line {event.sku} @ {event.warehouse}" if event.sku else ""
            results.append(ItemResult(index, event.id, "rejected", [{
                "field": "ref", "message": f"no open order '{event.ref}'{line} of supplier "
                                           f"'{event.supplier}': nothing to delay (the ref is "
                                           "the ERP purchase order number a requisition was "
                                           "ordered with)"}]))
            continue
        known.add(event.id)
        _apply(conn, event, lines, snap, now)
        applied = True
        for line in lines:
            sku, wh = sku_codes[line.sku_id], wh_codes[line.warehouse_id]
            if event.sku:
                out.append((index, event))
                break
            out.append((index, replace(event, id=f"{event.id}:{sku}@{wh}"[:128], sku=sku,
                                       warehouse=wh,
                                       raw={**event.raw, "sku": sku, "warehouse": wh,
                                            "id": f"{event.id}:{sku}@{wh}"[:128]})))
    if applied:
        bump_catalog(conn)
    out.sort(key=lambda item: item[0])
    return out, results


def _apply(conn: Connection, event: StockEvent, lines: Sequence[Any], snap: Snapshot,
           now: datetime) -> None:
    assert event.eta is not None and event.ref is not None
    eta = event.eta
    worst = 0.0
    history = []
    for line in lines:
        promised = (line.ordered_at or line.created_at) + timedelta(days=line.lead_time_days)
        delay = days_between(promised, eta)
        worst = max(worst, delay)
        conn.execute(update(requisitions).where(requisitions.c.id == line.id).values(
            eta=eta, updated_at=now, version=requisitions.c.version + 1))
        before = (line.eta or promised).isoformat()
        history.append((line.id, HistoryEntry(now, SYSTEM, "delay", line.state, line.state, {
            "event": event.id, "eta": [before, eta.isoformat()], "delay_days": delay})))
    requisition_store.write_history(conn, history)
    for po_id in {line.purchase_order_id for line in lines if line.purchase_order_id}:
        conn.execute(update(purchase_orders).where(purchase_orders.c.id == po_id)
                     .values(eta=eta, updated_at=now))
    conn.execute(insert(supplier_delays).values(
        event_id=event.id, supplier_id=snap.supplier_ids[event.supplier or ""], ref=event.ref,
        sku_id=snap.sku_ids.get(event.sku) if event.sku else None,
        warehouse_id=snap.warehouse_ids.get(event.warehouse) if event.warehouse else None,
        eta=eta, delay_days=worst, lines=len(lines), at=event.at, received_at=now))
