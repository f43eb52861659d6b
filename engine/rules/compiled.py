"""The immutable result of a valid rule document: what the engine runs until the next version.

Everything here is frozen; a ruleset version is compiled once (conditions become Python callables)
and shared by every evaluation. Durations are ``timedelta``; JsonLogic is kept raw (``when``) for
display and explanation, and compiled (``condition``) for evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from forms.fields import FieldSpec

SEVERITIES = ("info", "low", "medium", "high", "critical")
EVENT_TYPES = (
    "receipt",
    "sale",
    "issue",
    "return",
    "adjustment",
    "count",
    "transfer",
    "reserve",
    "release",
    "supplier_delay",
)
# A rule without ``on`` listens to every event that changes a stock level (SPEC §3).
STOCK_CHANGING = frozenset(t for t in EVENT_TYPES if t != "supplier_delay")
# What a rule's ``on`` may list: the stock event types, and ``daily`` (issue #16): the daily run
# evaluates such rules over every SKU×warehouse, for facts that change without any event
# (days since the last sale, calendars, forecasts). Never a stock event's type.
DAILY = "daily"
RULE_TRIGGERS = (*EVENT_TYPES, DAILY)
FORECAST_METHODS = ("mean", "ses", "holt", "seasonal")
CALENDAR_KINDS = ("promotion", "season", "closure")
QUANTITY_POLICIES = ("order_up_to", "eoq", "fixed", "expression")
SUPPLIER_CHOICES = ("preferred", "backup", "fastest", "cheapest")
# What one alert of a rule is about (issue #19): a SKU×warehouse, or a group×warehouse (the
# rule's condition then reads the ``group.*`` aggregates: engine/group_facts.py)
RULE_SCOPES = ("pair", "group_warehouse")

Condition = Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class RulesetSettings:
    demand_window_days: int = 28
    review_period_days: int = 7
    service_level: float = 0.95
    timezone: str = "Asia/Shanghai"
    default_lead_time_days: float = 7.0
    ordering_cost: float = 50.0  # per order, for EOQ
    holding_cost_rate: float = 0.25  # per year, fraction of unit cost, for EOQ
    # issue #16; None: not set (a ruleset that does not use them sees no such params)
    forecast_method: str | None = None  # FORECAST_METHODS; None = "mean", the demand window
    forecast_alpha: float | None = None  # level smoothing (ses, holt)
    forecast_beta: float | None = None  # trend smoothing (holt)
    fill_rate: float | None = None  # β target; when set it replaces service_level's z
    # issue #19: receipts before a learned lead time replaces the master data's (None: 3),
    # and how many of the latest receipts it is computed from (None: 20)
    lead_time_min_observations: int | None = None
    lead_time_window: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_params(self) -> dict[str, Any]:
        """The settings as the ``params.*`` facts before a group's overrides."""
        out = {k: v for k, v in self.__dict__.items() if k != "extra" and v is not None}
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Calendar:
    """A named period of the ``calendars`` section (issue #16): 双11, 618, a season, 春节.

    ``multiplier`` scales the demand forecast on its days; ``lead_time_change`` adds days to
    the lead time of an order whose lead time meets the period (a supplier's closure).
    ``groups`` empty: every SKU. ``yearly``: the same dates every year (a backtest over
    history sees the past years' 双11 too).
    """

    id: str
    name: str
    kind: str  # one of CALENDAR_KINDS
    start: date
    end: date  # inclusive
    groups: tuple[str, ...] = ()
    multiplier: float = 1.0
    lead_time_change: float = 0.0
    yearly: bool = False


@dataclass(frozen=True)
class SkuGroup:
    id: str
    name: str
    where: Any  # raw JsonLogic over sku.* and warehouse.*, None = every SKU
    matches: Condition  # compiled ``where``
    params: Mapping[str, Any] = field(default_factory=dict)
    owner: str | None = None  # the role of its rules that name no owner (#17)


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    members: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    escalate_to: str | None = None
    # issue #17: messages per hour, for each channel (``rate_limit``) or per channel
    # (``rate_limits``); quiet hours as "HH:MM-HH:MM" in the settings' time zone
    rate_limit: int | None = None
    rate_limits: tuple[tuple[str, int], ...] = ()
    quiet_hours: str | None = None

    def limit_for(self, channel: str) -> int | None:
        """The most messages per hour this role is sent on ``channel`` (None: no limit)."""
        return dict(self.rate_limits).get(channel, self.rate_limit)


@dataclass(frozen=True)
class Transition:
    id: str
    from_states: tuple[str, ...]
    to: str
    roles: tuple[str, ...]
    form: tuple[FieldSpec, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class Workflow:
    id: str
    name: str
    states: tuple[str, ...]
    initial: str
    transitions: tuple[Transition, ...]
    terminal: tuple[str, ...] = ()  # states with no way out; a task there is closed

    def transition(self, transition_id: str) -> Transition | None:
        return next((t for t in self.transitions if t.id == transition_id), None)


@dataclass(frozen=True)
class ApprovalThreshold:
    above: float  # requisition amount above which ``role`` must approve
    role: str


@dataclass(frozen=True)
class CreateTask:
    title: str  # sandboxed Jinja template
    workflow: str
    due: timedelta | None = None
    role: str | None = None  # defaults to the rule's owner
    kind: str = "create_task"


@dataclass(frozen=True)
class CreateRequisition:
    policy: str  # one of QUANTITY_POLICIES
    fixed: float | None = None
    expression: Any = None  # raw JsonLogic when policy == "expression"
    quantity_fn: Condition | None = None  # compiled expression
    supplier: str = "preferred"  # a SUPPLIER_CHOICES entry or a supplier code
    approval: tuple[ApprovalThreshold, ...] = ()
    kind: str = "create_requisition"
    # issue #19: where to go when ``supplier`` is late, unavailable or cannot meet the date
    fallback: str | None = None
    fallback_after_late_days: float = 3.0


@dataclass(frozen=True)
class Notify:
    to: str = "owner"  # owner | supplier | a role id
    channels: tuple[str, ...] = ()  # empty: the role's own channels
    message: str | None = None  # sandboxed Jinja template; None: a default text
    digest: str | None = None  # "daily": one message per role, channel and day (issue #17)
    kind: str = "notify"


@dataclass(frozen=True)
class Escalate:
    after: timedelta
    to: str  # role id
    kind: str = "escalate"


@dataclass(frozen=True)
class SuggestTransfer:
    """Propose moving stock from a warehouse with a surplus of the SKU (issue #19): sources
    above their own max stock, or with more than ``min_cover_days`` of cover; only the
    ``sources`` warehouses or ``regions`` when given. The quantity leaves the source at or
    above its reorder point. ``ship``/``receive``: the roles that take those steps (None: the
    rule's owner)."""

    sources: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    min_cover_days: float | None = None
    ship: str | None = None
    receive: str | None = None
    kind: str = "suggest_transfer"


Action = CreateTask | CreateRequisition | Notify | Escalate | SuggestTransfer


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    groups: tuple[str, ...]  # empty: every SKU
    on: frozenset[str]
    when: Any  # raw JsonLogic
    condition: Condition  # compiled ``when``
    severity: str = "medium"
    owner: str | None = None
    cooldown: timedelta = timedelta(0)
    auto_resolve: bool = True
    actions: tuple[Action, ...] = ()
    enabled: bool = True
    description: str = ""
    per: str = "pair"  # RULE_SCOPES: "group_warehouse" alerts once per group×warehouse


@dataclass(frozen=True)
class CompiledRuleset:
    name: str
    settings: RulesetSettings
    groups: Mapping[str, SkuGroup]
    roles: Mapping[str, Role]
    workflows: Mapping[str, Workflow]
    rules: tuple[Rule, ...]
    document: Mapping[str, Any] = field(default_factory=dict)  # the validated data, for editors
    calendars: tuple[Calendar, ...] = ()

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def roles_of(self, username: str) -> frozenset[str]:
        """A user's business roles: the roles whose ``members`` list them (issue #2)."""
        return frozenset(r.id for r in self.roles.values() if username in r.members)

    def params_for(self, group_ids: tuple[str, ...]) -> dict[str, Any]:
        """Settings, overridden by each group's params in document order."""
        params = self.settings.as_params()
        for gid in group_ids:
            group = self.groups.get(gid)
            if group is not None:
                params.update(group.params)
        return params
