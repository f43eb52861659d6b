"""Requisitions while a batch is applied: receipts receive the ordered ones, ERP counts take
them over, and the open ones of a pair are counted when a rule is about to raise another.

Read once per batch (after the batch's stock levels are locked: a requisition transition locks
its stock level first, so none of these can change under us), changed in memory event by event
in the batch's order, and written with one statement per kind at the end of the batch — the
same effects, in the same transaction, as a query and an update per event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from engine.services.requisitions import LOCAL_ON_ORDER_STATES
from engine.storage import bulk
from engine.storage.tables import requisition_history, requisitions

ORDERED_COLUMNS = ("id", "sku_id", "warehouse_id", "ref", "quantity", "counted_by_erp", "ordered_at")
HISTORY_COLUMNS = ("requisition_id", "at", "actor", "transition", "from_state", "to_state", "data")


@dataclass
class Ordered:
    """An ordered requisition of one SKU×warehouse (state ``ordered`` in the database)."""

    id: int
    ref: str | None
    quantity: float
    counted_by_erp: bool
    ordered_at: datetime | None


@dataclass
class OrderedRequisitions:
    """The ordered requisitions of the batch's pairs, and what the batch did to them."""

    by_pair: dict[tuple[int, int], list[Ordered]] = field(default_factory=dict)
    received: list[tuple[int, str]] = field(default_factory=list)  # (requisition id, event id)
    counted: list[int] = field(default_factory=list)

    def load(self, conn: Connection, keys: Iterable[tuple[int, int]]) -> None:
        rows = bulk.select_by_pairs(conn, requisitions, ORDERED_COLUMNS, sorted(set(keys)),
                                    where="t.state = 'ordered'")
        rows.sort(key=lambda r: r[0])  # by id: the first ordered one is received first
        for req_id, sku_id, wh_id, ref, quantity, counted_by_erp, ordered_at in rows:
            self.by_pair.setdefault((sku_id, wh_id), []).append(
                Ordered(req_id, ref, quantity, bool(counted_by_erp), ordered_at))

    def receive(self, key: tuple[int, int], ref: str, event_id: str) -> Ordered | None:
        """The first (lowest id) ordered requisition of ``key`` with ``ref``, now received."""
        ordered = self.by_pair.get(key)
        if not ordered:
            return None
        for i, req in enumerate(ordered):
            if req.ref == ref:
                del ordered[i]
                self.received.append((req.id, event_id))
                return req
        return None

    def count_by_erp(self, key: tuple[int, int], at: datetime) -> float:
        """Mark every ordered requisition of ``key`` ordered at or before ``at`` and not yet
        counted by the ERP as counted; their total quantity (summed in id order)."""
        taken = [req for req in self.by_pair.get(key, ())
                 if not req.counted_by_erp and req.ordered_at is not None and req.ordered_at <= at]
        moved = sum(req.quantity for req in taken)
        if moved:  # as before: a total of 0 changes nothing
            for req in taken:
                req.counted_by_erp = True
                self.counted.append(req.id)
        return moved

    def write(self, conn: Connection, now: datetime) -> None:
        if self.received:
            bulk.update_many(conn, requisitions, ("state", "updated_at"), ("id",),
                             [("received", now, req_id) for req_id, _ in self.received],
                             also="version = version + 1")
            rows: list[tuple[Any, ...]] = [
                (req_id, now, "system", "receive", "ordered", "received", {"event": event_id})
                for req_id, event_id in self.received]
            bulk.insert_many(conn, requisition_history, HISTORY_COLUMNS, rows)
        if self.counted:
            bulk.update_many(conn, requisitions, ("counted_by_erp",), ("id",),
                             [(True, req_id) for req_id in self.counted])


# Open: raised and not yet received, rejected or cancelled (the states that count on order).
OPEN_STATES = LOCAL_ON_ORDER_STATES


def open_requisitions(conn: Connection, sku_id: int, warehouse_id: int) -> int:
    """How many requisitions of the pair are open, from any rule, whether they count here or
    already in the ERP's on_order (an ordered one the ERP's snapshot includes is open until it
    is received). Asked only when a rule with ``create_requisition`` opens an alert on a pair
    with nothing on order here: ``on_order_local`` > 0 already says there are some. Read after
    the batch locked the pair's stock level, which every requisition transition locks first."""
    return int(conn.execute(select(func.count()).select_from(requisitions).where(
        requisitions.c.sku_id == sku_id, requisitions.c.warehouse_id == warehouse_id,
        requisitions.c.state.in_(OPEN_STATES))).scalar_one())
