"""The JsonLogic data for one SKU×warehouse at one event: the facts of SPEC §3.

Null facts are left out of the dict (not set to None) so that a ``var`` default says what null
means. Metrics come from ``engine.metrics``; nothing here touches the database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from engine.calendars import CalendarView, plain_facts
from engine.forecast import Model
from engine.metrics import DemandWindow, Metrics, SupplierLink, z_for, z_for_fill_rate
from engine.stock import StockEvent, StockLevel


@dataclass(slots=True)
class FactInputs:
    """What the facts of one evaluation are built from (one per evaluation: not frozen, whose
    ``__init__`` cost a tenth of ``build_facts``)."""

    event: StockEvent
    sku: Mapping[str, Any]
    warehouse: Mapping[str, Any]
    level: StockLevel
    window: DemandWindow
    links: tuple[SupplierLink, ...]
    params: Mapping[str, Any]
    tz: tzinfo
    total_available: float | None = None
    promotion_days: frozenset[str] = frozenset()
    calendar: CalendarView | None = None  # the ruleset's periods as the pair's groups see them
    forecast: Model | None = None  # the pair's stored forecast (groups with a forecast_method)


# Paths that ``FactMaker.facts`` always fills, with the kind of value it puts there: "num" is an
# int or a float (never a bool, None or a string), "str" a string. The compiled conditions
# (``engine.evaluation``) leave out their type tests for these paths, so this is a promise:
# ``tests/engine/test_facts.py`` checks it against facts built from odd inputs.
FACT_KINDS: dict[tuple[str, ...], str] = {
    **{("stock", name): "num" for name in ("on_hand", "reserved", "available", "on_order",
                                           "inventory_position", "total_available")},
    **{("metrics", name): "num" for name in ("avg_daily_demand", "demand_std", "lead_time_days",
                                             "lead_time_std", "safety_stock", "reorder_point",
                                             "max_stock")},
    **{("event", name): "str" for name in ("id", "type", "sku", "warehouse", "at")},
    **{("forecast", name): "num" for name in ("daily", "lead_time_demand", "review_demand",
                                              "error_std", "safety_factor")},
    ("forecast", "method"): "str",
    ("calendar", "demand_multiplier"): "num",
}


def build_facts(inputs: FactInputs) -> tuple[dict[str, Any], Metrics]:
    """The data dict a condition reads, and the metrics it contains."""
    forecasts = ({(inputs.sku.get("code"), inputs.warehouse.get("code")): inputs.forecast}
                 if inputs.forecast is not None else None)
    maker = FactMaker(inputs.links, inputs.params, inputs.tz, inputs.promotion_days,
                      inputs.calendar, forecasts)
    facts = maker.facts(inputs.event, inputs.sku, inputs.warehouse, inputs.level, inputs.window,
                        inputs.total_available)
    return facts, Metrics.from_facts(facts["metrics"])


class FactMaker:
    """The facts of one SKU's events under one set of group params.

    What every event of a SKU×params shares (the preferred supplier and its facts, the service
    level's z, lead time, review period and demand window) is worked out once here, so that an
    event's facts cost its stock, its demand statistics and a few multiplications (SPEC §3).
    ``build_facts`` goes through this class too: one definition of the facts.
    """

    __slots__ = (
        "calendar",
        "fill_rate",
        "forecasts",
        "lead_time",
        "method",
        "params",
        "plain",
        "promotion_days",
        "review",
        "service_level",
        "sigma_lt",
        "sigma_lt2",
        "supplier",
        "tz",
        "window_days",
        "z",
    )

    def __init__(self, links: tuple[SupplierLink, ...], params: Mapping[str, Any], tz: tzinfo,
                 promotion_days: frozenset[str] = frozenset(),
                 calendar: CalendarView | None = None,
                 forecasts: Mapping[tuple[Any, Any], Model] | None = None) -> None:
        p = params
        self.tz, self.promotion_days, self.params = tz, promotion_days, params
        self.calendar = calendar if calendar else None
        self.forecasts = forecasts
        self.method = str(p.get("forecast_method") or "mean")
        fill = p.get("fill_rate")
        self.fill_rate: float | None = float(fill) if isinstance(fill, int | float) else None
        # SPEC §3's window formulas exactly (inlined below) unless a forecast, a calendar or a
        # fill rate is asked for: then ``forecast_metrics`` (issue #16)
        self.plain = self.method == "mean" and self.calendar is None and self.fill_rate is None
        self.window_days = int(p.get("demand_window_days", 28))
        self.review = float(p.get("review_period_days", 7))
        self.service_level = float(p.get("service_level", 0.95))
        supplier = _preferred(links)
        if supplier is None or supplier.lead_time_days is None:
            # without a supplier lead time: the ruleset's default, with no variability
            self.lead_time: float = float(p.get("default_lead_time_days", 7.0))
            self.sigma_lt = 0.0
        else:
            self.lead_time = supplier.lead_time_days
            self.sigma_lt = supplier.lead_time_std_days or 0.0
        self.sigma_lt2 = self.sigma_lt**2
        try:
            self.z: float | None = z_for(self.service_level)
        except ValueError:
            self.z = None  # raised again by every ``facts`` call, as ``z_for`` says why
        self.supplier = _supplier_facts(supplier) if supplier is not None else None

    def facts(self, event: StockEvent, sku: Mapping[str, Any], warehouse: Mapping[str, Any],
              level: StockLevel, window: DemandWindow,
              total_available: float | None = None, today: date | None = None) -> dict[str, Any]:
        """The facts of ``event`` on this SKU at ``warehouse``, its stock and demand as given.

        ``today`` is the event's local day when the caller has it already (same time zone)."""
        if today is None:
            today = event.at.astimezone(self.tz).date()
        d, sigma_d = window.stats(today, self.window_days)
        z = self.z
        if z is None:
            z = z_for(self.service_level)
        lead_time = self.lead_time
        if self.plain:
            # safety_stock, reorder_point and max_stock of engine.metrics, inlined (same order
            # of operations, so the same floats): they run for every event
            ss = z * math.sqrt(lead_time * sigma_d**2 + d**2 * self.sigma_lt2)
            rop = d * lead_time + ss
            top = rop + d * self.review
            forecast: dict[str, Any] = {
                "daily": d, "lead_time_demand": d * lead_time, "review_demand": d * self.review,
                "error_std": sigma_d, "safety_factor": z, "method": "mean"}
        else:
            lead_time, ss, rop, top, forecast = self.forecast_metrics(
                today, d, sigma_d, z, sku.get("code"), warehouse.get("code"))
        available = level.available
        metrics: dict[str, Any] = {
            "avg_daily_demand": d,
            "demand_std": sigma_d,
            "lead_time_days": lead_time,
            "lead_time_std": self.sigma_lt,
            "safety_stock": ss,
            "reorder_point": rop,
            "max_stock": top,
        }
        if d > 0:
            metrics["days_of_cover"] = available / d
        last = window.last_demand_ordinal
        if last is not None:
            metrics["days_since_last_sale"] = today.toordinal() - last
        on_order = level.on_order
        facts: dict[str, Any] = {
            "event": event.facts(),
            "sku": sku,
            "warehouse": warehouse,
            "stock": {
                "on_hand": level.on_hand,
                "reserved": level.reserved,
                "available": available,
                "on_order": on_order,
                "inventory_position": available + on_order,
                "total_available": available if total_available is None else total_available,
            },
            "metrics": metrics,
            "forecast": forecast,
            "params": self.params,
            "calendar": (self.calendar.facts(today) if self.calendar is not None
                         else _calendar(today, self.promotion_days)),
        }
        if self.supplier is not None:
            facts["supplier"] = dict(self.supplier)  # each alert may keep its facts
        return facts


    def reorder_point(self, window: DemandWindow, today: date) -> tuple[float, float] | None:
        """Daily demand and reorder point as ``facts`` computes them (the same operations, so
        the same floats), without the rest of the facts: a group rule's sums over many SKUs
        (issue #19). None when they come from a forecast or a calendar: then ``facts``."""
        if not self.plain or self.z is None:
            return None
        d, sigma_d = window.stats(today, self.window_days)
        ss = self.z * math.sqrt(self.lead_time * sigma_d**2 + d**2 * self.sigma_lt2)
        return d, d * self.lead_time + ss

    def forecast_metrics(self, today: date, d: float, sigma_d: float, z: float,
                          sku: Any, warehouse: Any
                          ) -> tuple[float, float, float, float, dict[str, Any]]:
        """Lead time, safety stock, reorder point and max stock from the demand forecast over
        the lead time and its error (issue #16): the stored model of a forecast group (else
        the window mean, every day alike), times each day's calendar multiplier; a period that
        lengthens lead times lengthens this order's. With a fill rate, z = L⁻¹((1−β)·Q/σ),
        Q the review period's forecast demand; below 0 when Q alone serves more than β."""
        lead_time = self.lead_time
        if self.calendar is not None:
            lead_time += self.calendar.lead_time_change(today, lead_time)
        model = None
        if self.method != "mean" and self.forecasts is not None:
            model = self.forecasts.get((sku, warehouse))
        horizon = int(math.ceil(lead_time + self.review))
        first = date.fromordinal(today.toordinal() + 1)
        daily = model.predict_days(first, horizon) if model is not None else [d] * horizon
        if self.calendar is not None:
            daily = [f * m for f, m in zip(daily, self.calendar.multipliers(first, horizon))]
        ltd = _sum_days(daily, 0.0, lead_time)
        review = _sum_days(daily, lead_time, lead_time + self.review)
        error = model.error_std if model is not None else sigma_d
        d_lt = ltd / lead_time if lead_time > 0 else 0.0
        sigma = math.sqrt(lead_time * error**2 + d_lt**2 * self.sigma_lt2)
        if self.fill_rate is not None:
            # a fill rate the order cycle alone serves asks for less than the mean lead-time
            # demand (a negative safety stock), never for a reorder point below 0
            z = z_for_fill_rate(self.fill_rate, review, sigma,
                                lowest=-ltd / sigma if sigma > 0 else 0.0)
        ss = z * sigma
        rop = ltd + ss
        forecast = {"daily": daily[0] if daily else 0.0, "lead_time_demand": ltd,
                    "review_demand": review, "error_std": error, "safety_factor": z,
                    "method": model.method if model is not None else "mean"}
        return lead_time, ss, rop, rop + review, forecast


def _sum_days(daily: list[float], start: float, end: float) -> float:
    """The demand of days [start, end) of ``daily`` (day 0 = tomorrow); a fraction of a day
    counts that fraction of its demand."""
    total = 0.0
    if start == int(start) and end == int(end):  # whole days: the same sum, added in order
        for f in daily[int(start):int(end)]:
            total += f
        return total
    for i, f in enumerate(daily):
        lo, hi = max(start, i), min(end, i + 1)
        if hi > lo:
            total += f * (hi - lo)
    return total


def fact_at(facts: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of the facts (``metrics.reorder_point``); None when absent.
    What an explanation shows a condition read, not JsonLogic's ``var`` (no list indexes)."""
    value: Any = facts
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _preferred(links: tuple[SupplierLink, ...]) -> SupplierLink | None:
    """``choose_supplier("preferred", links)`` without its generality: the first preferred
    link, else the first link."""
    if type(links) is not tuple:
        links = tuple(links)
    for link in links:
        if link.preferred:
            return link
    return links[0] if links else None


_CALENDARS: dict[tuple[date, frozenset[str]], dict[str, Any]] = {}


def _calendar(today: date, promotion_days: frozenset[str]) -> dict[str, Any]:
    """The ``calendar.*`` facts of a day, computed once per day (a fresh copy each time)."""
    key = (today, promotion_days)
    found = _CALENDARS.get(key)
    if found is None:
        if len(_CALENDARS) > 1024:
            _CALENDARS.clear()
        found = _CALENDARS[key] = plain_facts(today, promotion_days)
    return dict(found)


def _supplier_facts(link: SupplierLink) -> dict[str, Any]:
    out = {"code": link.code, "moq": link.moq, "pack_size": link.pack_size,
           "lead_time_std_days": link.lead_time_std_days}
    if link.lead_time_days is not None:
        out["lead_time_days"] = link.lead_time_days
    if link.price is not None:
        out["price"] = link.price
    if link.name is not None:
        out["name"] = link.name
    if link.on_time_rate is not None:
        out["on_time_rate"] = link.on_time_rate
    # issue #19: which lead time the metrics use, and the supplier's announced delay
    out["lead_time_source"] = link.lead_time_source
    out["unavailable"] = link.unavailable
    if link.open_delay_days is not None:
        out["open_delay_days"] = link.open_delay_days
    return out
