"""What an action sees when its alert opens, and the drafts of the effects it asks for.

Actions are pure: they return drafts; the ingest service writes them in the event's transaction,
each under a unique key (alert, action index) so that a replayed evaluation adds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.metrics import Metrics, SupplierLink
from engine.rules.compiled import CompiledRuleset, Rule
from engine.supply import OpenOrder


@dataclass(frozen=True)
class ActionContext:
    ruleset: CompiledRuleset
    rule: Rule
    facts: Mapping[str, Any]
    metrics: Metrics
    links: tuple[SupplierLink, ...]
    at: datetime
    open_requisitions: int = 0  # open local requisitions for this SKU×warehouse
    supplier_contacts: Mapping[str, Any] = field(default_factory=dict)
    # issue #19: the SKU's other warehouses (``suggest_transfer``), and what open transfers
    # to this SKU×warehouse (and the ones this alert proposes) will bring: a requisition
    # raised for the same need orders that much less
    sources: tuple[SourceStock, ...] = ()
    transfer_cover: float = 0.0
    # issue #19: the pair's open orders with their arrival, and the supplier of the
    # requisition an earlier action of this rule raised (a supplier notice goes there)
    open_orders: tuple[OpenOrder, ...] = ()
    requisition_supplier: str | None = None

    def template_context(self) -> dict[str, Any]:
        ctx = dict(self.facts)
        ctx["rule"] = {"id": self.rule.id, "name": self.rule.name, "severity": self.rule.severity}
        return ctx


@dataclass(frozen=True)
class SourceStock:
    """Another warehouse's stock of the SKU, as ``suggest_transfer`` weighs it: its available
    stock less what open transfers not yet shipped will take, and its own metrics."""

    warehouse: str
    region: str | None
    available: float
    reorder_point: float
    max_stock: float
    avg_daily_demand: float

    @property
    def days_of_cover(self) -> float | None:
        return self.available / self.avg_daily_demand if self.avg_daily_demand > 0 else None


@dataclass(frozen=True)
class TaskDraft:
    action_key: str
    title: str
    workflow: str
    state: str
    role: str | None
    due_at: datetime | None
    severity: str


@dataclass(frozen=True)
class RequisitionDraft:
    action_key: str
    supplier: str | None
    quantity: float
    unit_price: float | None
    amount: float | None
    state: str
    approval_role: str | None
    reason: str


@dataclass(frozen=True)
class NotificationDraft:
    action_key: str
    channel: str
    recipients: tuple[str, ...]
    subject: str
    message: str
    role: str | None = None  # the role told (None: a supplier); rate limits count per role
    digest: str | None = None  # "daily": waits for the role's digest instead of going now


@dataclass(frozen=True)
class EscalationDraft:
    level: int
    to_role: str
    due_at: datetime


@dataclass(frozen=True)
class TransferDraft:
    """A transfer ``suggest_transfer`` proposes: from ``from_warehouse`` to the alert's; the
    figures it was decided on are kept as ``explanation`` (shown in both languages)."""

    action_key: str
    from_warehouse: str
    quantity: float
    ship_role: str | None
    receive_role: str | None
    explanation: Mapping[str, Any]


@dataclass(frozen=True)
class Skipped:
    """An action that decided to do nothing, and why (kept in the alert's explanation)."""

    action_key: str
    reason: str


Draft = (TaskDraft | RequisitionDraft | NotificationDraft | EscalationDraft | TransferDraft
         | Skipped)
