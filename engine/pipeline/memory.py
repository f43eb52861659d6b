"""The pipeline with its state in memory instead of a database: what the backtest runs.

``MemoryLedger.handle(items, now)`` takes batches as ``engine.services.events.handle`` does —
validate, skip ids seen before, apply with the same pure core — and keeps the stock levels,
demand and alerts between batches in plain dicts. Only the storage differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.alerts import OpenAlert
from engine.metrics import DemandWindow
from engine.pipeline.core import apply, touched
from engine.pipeline.ordered import OrderedRequisitions
from engine.pipeline.state import Changes, NewAlert, Pair, StockState
from engine.pipeline.validate import ItemResult, validate_items
from engine.snapshot import Snapshot
from engine.stock import StockLevel


@dataclass
class MemoryAlert:
    """An alert as the ledger keeps it: the one the core opened, and what happened since."""

    id: int
    opened: NewAlert
    hits: int
    last_hit_at: datetime | None
    resolved_at: datetime | None = None


@dataclass
class MemoryLedger:
    """Stock levels, demand and alerts of a history applied batch by batch, in memory."""

    snap: Snapshot
    state: StockState = field(default_factory=StockState)
    alerts: dict[int, MemoryAlert] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def handle(self, items: Sequence[Any], now: datetime) -> list[ItemResult]:
        """Validate and apply a batch; the answer per item (as the event handler answers)."""
        good, results = validate_items(items, self.snap, now)
        events = []
        for index, event in good:
            status = "duplicate" if event.id in self.seen else "accepted"
            if status == "accepted":
                self.seen.add(event.id)
                events.append(event)
            results.append(ItemResult(index, event.id, status))
        results.sort(key=lambda r: r.index)
        keys, _ = touched(events, self.snap)
        for sku_id, wh_id in keys:
            if (sku_id, wh_id) not in self.state.pairs:
                self.state.pairs[(sku_id, wh_id)] = Pair(sku_id, wh_id, StockLevel(), DemandWindow())
        self.state.ordered = OrderedRequisitions()
        self._save(apply(self.state, events, self.snap))
        return results

    def _save(self, changes: Changes) -> None:
        """Give the new alerts their ids (the core numbers them -1, -2, … within a batch)."""
        for alert_id, (hits, at) in changes.hits.items():
            kept = self.alerts[alert_id]
            kept.hits, kept.last_hit_at = hits, at
        for alert_id, at in changes.resolved.items():
            self.alerts[alert_id].resolved_at = at
        for new in changes.new_alerts:
            new.id = len(self.alerts) + 1
            self.alerts[new.id] = MemoryAlert(new.id, new, new.hits, new.last_hit_at, new.resolved_at)
            still = new.pair.open_alerts.get(new.rule.id)
            if still is not None and still.id < 0 and changes.new_alerts[-still.id - 1] is new:
                new.pair.open_alerts[new.rule.id] = OpenAlert(new.id, new.rule.id, still.hits)

    def open_alerts(self) -> list[MemoryAlert]:
        return [a for a in self.alerts.values() if a.resolved_at is None]
