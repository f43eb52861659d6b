"""Backtest (issue #16): recorded daily demand replayed through a ruleset in a simulation that
touches no live data.

Each simulated day, per SKU×warehouse: requisitions due arrive; the day's recorded demand is
served from stock and what stock cannot serve is lost; at the end of the day the rules review
the pair with the engine's own facts (``FactMaker``), evaluation, alert decisions and actions —
rules ``on`` sales or ``daily`` — and a requisition raised then arrives after the supplier's
lead time, drawn (seeded) from its mean and σ. Requisitions are taken as approved and ordered
at once. Days before the simulated period only feed the demand history (and the forecasts,
refitted every ``REFIT_DAYS`` days from the history up to then). The result counts fill rate,
stock-out days, average on hand (units and value), orders, alerts and tasks, per group and
month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from engine.actions import run_actions
from engine.actions.context import ActionContext, RequisitionDraft, TaskDraft
from engine.alerts import OPEN, RESOLVE, OpenAlert, decide
from engine.calendars import CalendarView
from engine.evaluation import RuleIndex, evaluate
from engine.facts import FactMaker
from engine.forecast import DEFAULT_ALPHA, DEFAULT_BETA, Model, fit
from engine.metrics import DemandWindow, Metrics, SupplierLink
from engine.rules.compiled import DAILY, CompiledRuleset
from engine.stock import StockEvent, StockLevel

REFIT_DAYS = 28
NO_GROUP = ""


@dataclass
class Series:
    """One SKU×warehouse's recorded daily demand from ``first_day`` on."""

    sku: Mapping[str, Any]
    warehouse: Mapping[str, Any]
    groups: tuple[str, ...]
    links: tuple[SupplierLink, ...]
    demand: np.ndarray
    first_day: date


@dataclass
class Tally:
    demand: float = 0.0
    served: float = 0.0
    days: int = 0
    stockout_days: int = 0
    on_hand_days: float = 0.0  # Σ end-of-day on hand
    value_days: float = 0.0
    orders: int = 0
    ordered_units: float = 0.0
    alerts: int = 0
    tasks: int = 0

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def summary(self) -> dict[str, float | int | None]:
        return {"fill_rate": self.served / self.demand if self.demand else None,
                "demand": self.demand, "lost": self.demand - self.served,
                "stockout_days": self.stockout_days,
                "avg_on_hand": self.on_hand_days / self.days if self.days else 0.0,
                "avg_value": self.value_days / self.days if self.days else 0.0,
                "orders": self.orders, "ordered_units": self.ordered_units,
                "alerts": self.alerts, "tasks": self.tasks, "pair_days": self.days}


@dataclass
class Result:
    total: Tally = field(default_factory=Tally)
    groups: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    months: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total.summary(),
                "groups": {g: t.summary() for g, t in sorted(self.groups.items())},
                "months": {m: t.summary() for m, t in sorted(self.months.items())}}


class _Pair:
    __slots__ = (
        "level",
        "maker",
        "open",
        "pipeline",
        "resolved",
        "series",
        "started",
        "tally",
        "unit_cost",
        "window",
    )

    def __init__(self, series: Series, maker: FactMaker) -> None:
        self.series, self.maker = series, maker
        self.level = StockLevel()
        self.window = DemandWindow()
        self.pipeline: list[tuple[int, float]] = []  # (arrival ordinal, units)
        self.open: dict[str, OpenAlert] = {}
        self.resolved: dict[str, datetime] = {}
        self.tally = Tally()  # this month's, added to the result when the month ends
        self.started = False
        self.unit_cost = float(series.sku.get("unit_cost") or 0.0)


def simulate(ruleset: CompiledRuleset, series: Sequence[Series], start: date, end: date,
             seed: int = 1) -> Result:
    """Simulate ``ruleset`` on ``series`` from ``start`` to ``end`` (inclusive)."""
    rng = np.random.default_rng(seed)
    tz = ZoneInfo(ruleset.settings.timezone)
    index = RuleIndex(ruleset)
    promotion = frozenset(str(d) for d in ruleset.settings.extra.get("promotion_days", []))
    forecasts: dict[tuple[str, str], Model] = {}
    pairs = [_Pair(s, _maker(ruleset, s, tz, promotion, forecasts)) for s in series]
    first = min((s.first_day for s in series), default=start)
    result = Result()
    day = first
    refit_due = start
    month = day.strftime("%Y-%m")
    while day <= end:
        if day >= start and day >= refit_due:
            _refit(ruleset, pairs, day, forecasts)
            refit_due = day + timedelta(REFIT_DAYS)
        if day.strftime("%Y-%m") != month:
            _close_month(pairs, month, result)
            month = day.strftime("%Y-%m")
        at = datetime.combine(day, time(21), tz).astimezone(UTC)  # the end-of-day review
        for pair in pairs:
            t = (day - pair.series.first_day).days
            if t < 0 or t >= len(pair.series.demand):
                continue
            qty = float(pair.series.demand[t])
            if day < start:
                pair.window.add(day, qty)  # history only
                continue
            if not pair.started:  # the first simulated day: start at the version's max stock
                pair.level.on_hand = _facts(pair, day, at)["metrics"]["max_stock"]
                pair.started = True
            _day(pair, day, at, qty, index, ruleset, rng)
            tally = pair.tally  # the day's stock (what _count did, added in place)
            on_hand = pair.level.on_hand
            if on_hand < 0.0:
                on_hand = 0.0
            tally.days += 1
            tally.on_hand_days += on_hand
            tally.value_days += on_hand * pair.unit_cost
        day += timedelta(1)
    _close_month(pairs, month, result)
    return result


def _close_month(pairs: list[_Pair], month: str, result: Result) -> None:
    """Add each pair's tally of ``month`` to the result's total, month and groups."""
    for pair in pairs:
        tally = pair.tally
        if not tally.days:
            continue
        result.total.add(tally)
        result.months[month].add(tally)
        for group in pair.series.groups or (NO_GROUP,):
            result.groups[group].add(tally)
        pair.tally = Tally()


def _maker(ruleset: CompiledRuleset, s: Series, tz: Any, promotion: frozenset[str],
           forecasts: dict[tuple[str, str], Model]) -> FactMaker:
    view = CalendarView(ruleset.calendars, s.groups, promotion)
    return FactMaker(s.links, ruleset.params_for(s.groups), tz, promotion,
                     view if view else None, forecasts)


def _refit(ruleset: CompiledRuleset, pairs: list[_Pair], day: date,
           forecasts: dict[tuple[str, str], Model]) -> None:
    """Refit the forecasts of the pairs whose groups ask for one, from history before ``day``."""
    batches: dict[tuple[Any, ...], list[_Pair]] = defaultdict(list)
    for pair in pairs:
        params = pair.maker.params
        method = params.get("forecast_method") or "mean"
        if method != "mean":
            batches[(method, int(params.get("demand_window_days", 28)),
                     float(params.get("forecast_alpha") or DEFAULT_ALPHA),
                     float(params.get("forecast_beta") or DEFAULT_BETA))].append(pair)
    last = day - timedelta(1)
    for (method, window, alpha, beta), members in batches.items():
        width = max((last - p.series.first_day).days + 1 for p in members)
        y = np.full((len(members), max(width, 1)), np.nan)
        for i, p in enumerate(members):
            n = (last - p.series.first_day).days + 1
            if n > 0:
                y[i, width - n:] = p.series.demand[:n]
        for p, model in zip(members, fit(y[:, -730:], last, method, window_days=window,
                                         alpha=alpha, beta=beta), strict=True):
            key = (p.series.sku["code"], p.series.warehouse["code"])
            if model.method == "mean":  # too little history: the live window mean does better
                forecasts.pop(key, None)
            else:
                forecasts[key] = model


def _facts(pair: _Pair, day: date, at: datetime, event_type: str = "sale") -> dict[str, Any]:
    s = pair.series
    event = StockEvent(id="backtest", type=event_type, sku=s.sku["code"],
                       warehouse=s.warehouse["code"], at=at)
    return pair.maker.facts(event, s.sku, s.warehouse, pair.level, pair.window, None, day)


def _day(pair: _Pair, day: date, at: datetime, qty: float, index: RuleIndex,
         ruleset: CompiledRuleset, rng: np.random.Generator) -> None:
    today = day.toordinal()
    level, tally = pair.level, pair.tally
    if pair.pipeline:
        due = [q for o, q in pair.pipeline if o <= today]
        if due:
            pair.pipeline = [(o, q) for o, q in pair.pipeline if o > today]
            level.on_hand += sum(due)
            level.on_order_local = max(0.0, level.on_order_local - sum(due))
    served = min(max(level.on_hand, 0.0), qty)
    level.on_hand -= served
    pair.window.add(day, qty)  # the recorded demand, served or lost
    tally.demand += qty
    tally.served += served
    if served < qty:
        tally.stockout_days += 1
    rules = [*index.candidates("sale", pair.series.groups),
             *index.candidates(DAILY, pair.series.groups)]
    extra = index.resolvers(rules, pair.open) if pair.open else []
    if not rules and not extra:
        return
    facts = _facts(pair, day, at)
    hits = {id(o.rule) for o in evaluate(rules, facts) + evaluate(extra, facts)
            if o.hit and o.error is None}
    seen: set[str] = set()
    for rule in [*rules, *extra]:
        if rule.id in seen:
            continue
        seen.add(rule.id)
        hit = id(rule) in hits
        if not hit and rule.id not in pair.open:
            continue
        decision = decide(rule, hit, pair.open.get(rule.id), pair.resolved.get(rule.id), at)
        if decision == OPEN:
            _open(pair, rule, facts, at, ruleset, rng)
        elif decision == RESOLVE:
            del pair.open[rule.id]
            pair.resolved[rule.id] = at


def _open(pair: _Pair, rule: Any, facts: dict[str, Any], at: datetime, ruleset: CompiledRuleset,
          rng: np.random.Generator) -> None:
    ctx = ActionContext(ruleset, rule, facts, Metrics.from_facts(facts["metrics"]),
                        pair.series.links, at, 1 if pair.level.on_order_local > 0 else 0)
    pair.open[rule.id] = OpenAlert(0, rule.id, 1)
    pair.tally.alerts += 1
    for draft in run_actions(rule.actions, ctx):
        if isinstance(draft, TaskDraft):
            pair.tally.tasks += 1
        elif isinstance(draft, RequisitionDraft) and draft.quantity > 0:
            lead = facts["metrics"]["lead_time_days"]
            sigma = facts["metrics"]["lead_time_std"]
            days = max(1, int(round(rng.normal(lead, sigma) if sigma > 0 else lead)))
            pair.pipeline.append((at.date().toordinal() + days, draft.quantity))
            pair.level.on_order_local += draft.quantity
            pair.tally.orders += 1
            pair.tally.ordered_units += draft.quantity
            facts["stock"] = dict(facts["stock"], on_order=pair.level.on_order,
                                  inventory_position=pair.level.inventory_position)
