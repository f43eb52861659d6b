"""Ordered requisitions while a batch is applied: receipts receive them, ERP counts take them over.

Pure: read once per batch by ``engine.storage.stock_state`` (after the batch's stock levels are
locked: a requisition transition locks its stock level first, so none of these can change under
us), changed in memory event by event in the batch's order, and written by the requisition
store at the end of the batch — the same effects, in the same transaction, as a query and an
update per event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
    # (requisition id, event id, receipt time): the lead times observed (issue #19)
    observed: list[tuple[int, str, datetime]] = field(default_factory=list)

    def receive(self, key: tuple[int, int], ref: str, event_id: str,
                at: datetime | None = None) -> Ordered | None:
        """The first (lowest id) ordered requisition of ``key`` with ``ref``, now received
        (at ``at``: its lead time is observed)."""
        ordered = self.by_pair.get(key)
        if not ordered:
            return None
        for i, req in enumerate(ordered):
            if req.ref == ref:
                del ordered[i]
                self.received.append((req.id, event_id))
                if at is not None:
                    self.observed.append((req.id, event_id, at))
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
