"""What the pipeline's core reads and returns: the state of the pairs a batch touches, and the
changes applying the batch made. Plain data: storage loads the one and saves the other.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.actions.context import Draft
from engine.alerts import OpenAlert
from engine.metrics import DemandWindow
from engine.noise import NO_MUTES, Mutes
from engine.pipeline.failures import RuleFailures
from engine.pipeline.ordered import OrderedRequisitions
from engine.rules.compiled import Rule
from engine.stock import StockLevel
from engine.supply import OpenOrder


@dataclass
class Pair:
    """The state of one SKU×warehouse while a batch is applied."""

    sku_id: int
    wh_id: int
    level: StockLevel
    window: DemandWindow
    last_event_at: datetime | None = None
    last_sale_day: date | None = None
    open_alerts: dict[str, OpenAlert] = field(default_factory=dict)
    last_resolved: dict[str, datetime] = field(default_factory=dict)
    # open requisitions of the pair from any rule (1 when something is on order here; else
    # counted when loaded, if a rule may raise one): one open covers the shortage (SPEC §3)
    open_requisitions: int = 0
    erp_on_order_at: datetime | None = None
    window_changed: bool = False  # demand added in this batch: the stored window is rewritten
    # the pair's open requisitions with their expected arrival (issue #19), when a rule may
    # raise one: whether they land before the projected stock-out
    open_orders: list[OpenOrder] = field(default_factory=list)


@dataclass
class StockState:
    """The pairs a batch touches (their open alerts and last resolutions), the ordered
    requisitions its receipts and counts may move, and — when a rule reads
    ``stock.total_available`` — the available stock of each SKU's other warehouses."""

    pairs: dict[tuple[int, int], Pair] = field(default_factory=dict)
    ordered: OrderedRequisitions = field(default_factory=OrderedRequisitions)
    others_available: dict[int, float] = field(default_factory=dict)
    # issue #19, loaded when a rule suggests transfers or alerts per group: the levels and
    # demand of pairs the batch does not touch (the SKU's other warehouses, a group's other
    # members), open transfers' quantities into (``inbound``) and not yet shipped out of
    # (``outgoing``) each pair, and the group alerts open by (rule, group, warehouse id)
    elsewhere: dict[tuple[int, int], tuple[StockLevel, DemandWindow]] = field(default_factory=dict)
    inbound: dict[tuple[int, int], float] = field(default_factory=dict)
    outgoing: dict[tuple[int, int], float] = field(default_factory=dict)
    group_alerts: dict[tuple[str, str, int], OpenAlert] = field(default_factory=dict)
    group_resolved: dict[tuple[str, str, int], datetime] = field(default_factory=dict)
    mutes: Mutes = NO_MUTES  # rules muted for some pairs (issue #17): they open no alert there


@dataclass
class NewAlert:
    """An alert opened by the batch (perhaps resolved within it), with its actions' drafts."""

    rule: Rule
    pair: Pair
    at: datetime
    facts: dict[str, Any]
    drafts: list[Draft]
    hits: int = 1
    last_hit_at: datetime | None = None
    resolved_at: datetime | None = None
    id: int | None = None  # set when stored
    scope_key: str | None = None  # a group rule's alert: its group (issue #19)


@dataclass
class Changes:
    """What applying a batch changed: the pairs (levels, windows, times), the demand per day,
    alerts opened, hit and resolved, and the ordered requisitions received or counted by the
    ERP (``ordered``). Tasks, requisitions, notifications and escalations are the drafts of
    the new alerts' actions."""

    pairs: dict[tuple[int, int], Pair]
    ordered: OrderedRequisitions
    demand: dict[tuple[int, int, date], float] = field(default_factory=lambda: defaultdict(float))
    new_alerts: list[NewAlert] = field(default_factory=list)
    hits: dict[int, tuple[int, datetime]] = field(default_factory=dict)
    resolved: dict[int, datetime] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)  # of ``resolved`` not ``auto`` (#17)
    failures: RuleFailures = field(default_factory=RuleFailures)  # rules skipped on an event
    events: int = 0

    @property
    def alerts_resolved(self) -> int:
        """Alerts resolved by the batch: open ones, and ones it opened itself."""
        return len(self.resolved) + sum(1 for a in self.new_alerts if a.resolved_at is not None)
