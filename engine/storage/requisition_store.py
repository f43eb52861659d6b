"""Requisitions in the database: the rows and their history, written here and nowhere else.

The ``Requisition`` lifecycle (``engine.workflows.requisitions``) decides every change —
raised by an alert's action, moved by a transition, received by a receipt event — and records
it as a history entry; this store writes the rows and the new entries, in the caller's
transaction. Also the ordered requisitions a batch of events may move (``OrderedRequisitions``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, update

from engine.errors import Conflict
from engine.pipeline.ordered import Ordered, OrderedRequisitions
from engine.storage import bulk
from engine.storage.tables import requisition_history, requisitions
from engine.workflows.requisitions import Requisition, received_by_event
from engine.workflows.tasks import HistoryEntry

REQUISITION_COLUMNS = ("alert_id", "action_key", "sku_id", "warehouse_id", "supplier_id", "quantity",
                       "unit_price", "amount", "state", "approval_role", "reason", "created_at",
                       "updated_at")
HISTORY_COLUMNS = ("requisition_id", "at", "actor", "transition", "from_state", "to_state", "data")
ORDERED_COLUMNS = ("id", "sku_id", "warehouse_id", "ref", "quantity", "counted_by_erp", "ordered_at")


@dataclass(frozen=True)
class NewRequisition:
    """A requisition raised by an alert's action, as stored: ids, not codes."""

    alert_id: int
    action_key: str
    sku_id: int
    warehouse_id: int
    supplier_id: int | None
    quantity: float
    unit_price: float | None
    amount: float | None
    state: str
    approval_role: str | None
    reason: str
    created: HistoryEntry


def write_history(conn: Connection, entries: Sequence[tuple[int, HistoryEntry]]) -> None:
    """The one writer of requisition history: each ``(requisition id, entry)``."""
    bulk.insert_many(conn, requisition_history, HISTORY_COLUMNS, [
        (req_id, e.at, e.actor, e.transition, e.from_state, e.to_state, dict(e.data))
        for req_id, e in entries])


def add_new(conn: Connection, new: Sequence[NewRequisition], now: datetime) -> list[int]:
    """Insert raised requisitions (one statement for the batch) and their creation entries."""
    if not new:
        return []
    made = bulk.insert_returning(conn, requisitions, REQUISITION_COLUMNS, [
        (r.alert_id, r.action_key, r.sku_id, r.warehouse_id, r.supplier_id, r.quantity,
         r.unit_price, r.amount, r.state, r.approval_role, r.reason, now, now) for r in new],
        ("id", "alert_id", "action_key"))
    by_key = {(alert_id, action_key): req_id for req_id, alert_id, action_key in made}
    ids = [by_key[(r.alert_id, r.action_key)] for r in new]
    write_history(conn, [(i, r.created) for i, r in zip(ids, new, strict=True)])
    return ids


def save_moved(conn: Connection, row: Any, moved: Requisition, transition: str,
               now: datetime) -> None:
    """Write a transition's new state with the optimistic ``version`` check, and its entry."""
    values: dict[str, Any] = {"state": moved.state, "ref": moved.ref, "updated_at": now,
                              "version": row.version + 1}
    if transition == "order":
        values["ordered_at"] = now
    done = conn.execute(
        update(requisitions)
        .where(requisitions.c.id == row.id, requisitions.c.version == row.version)
        .values(**values)
    )
    if done.rowcount != 1:
        raise Conflict(f"requisition {row.id} was changed by someone else meanwhile; reload it")
    write_history(conn, [(row.id, moved.history[-1])])


def load_ordered(conn: Connection, keys: Iterable[tuple[int, int]]) -> OrderedRequisitions:
    """The ordered requisitions of ``keys`` (lock their stock levels first)."""
    found = OrderedRequisitions()
    rows = bulk.select_by_pairs(conn, requisitions, ORDERED_COLUMNS, sorted(set(keys)),
                                where="t.state = 'ordered'")
    rows.sort(key=lambda r: r[0])  # by id: the first ordered one is received first
    for req_id, sku_id, wh_id, ref, quantity, counted_by_erp, ordered_at in rows:
        found.by_pair.setdefault((sku_id, wh_id), []).append(
            Ordered(req_id, ref, quantity, bool(counted_by_erp), ordered_at))
    return found


def save_ordered(conn: Connection, ordered: OrderedRequisitions, now: datetime) -> None:
    """What a batch did to ordered requisitions: received by receipts, counted by the ERP."""
    if ordered.received:
        bulk.update_many(conn, requisitions, ("state", "updated_at"), ("id",),
                         [("received", now, req_id) for req_id, _ in ordered.received],
                         also="version = version + 1")
        write_history(conn, [(req_id, received_by_event(event_id, now))
                             for req_id, event_id in ordered.received])
    if ordered.counted:
        bulk.update_many(conn, requisitions, ("counted_by_erp",), ("id",),
                         [(True, req_id) for req_id in ordered.counted])
