"""The JsonLogic data for one SKU×warehouse at one event: the facts of SPEC §3.

Null facts are left out of the dict (not set to None) so that a ``var`` default says what null
means. Metrics come from ``engine.metrics``; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from engine.metrics import DemandWindow, Metrics, SupplierLink, compute_metrics
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


def local_day(at: datetime, tz: tzinfo) -> Any:
    return at.astimezone(tz).date()


def build_facts(inputs: FactInputs) -> tuple[dict[str, Any], Metrics]:
    """The data dict a condition reads, and the metrics it contains."""
    p = inputs.params
    level = inputs.level
    window = inputs.window
    today = inputs.event.at.astimezone(inputs.tz).date()
    demand = window.stats(today, int(p.get("demand_window_days", 28)))
    last_day = window.last_demand_day
    supplier = _preferred(inputs.links)
    available = level.available
    metrics = compute_metrics(
        demand,
        available=available,
        service_level=float(p.get("service_level", 0.95)),
        review_period_days=float(p.get("review_period_days", 7)),
        lead_time_days=supplier.lead_time_days if supplier else None,
        lead_time_std=supplier.lead_time_std_days if supplier else None,
        default_lead_time_days=float(p.get("default_lead_time_days", 7.0)),
        days_since_last_sale=(today - last_day).days if last_day is not None else None,
    )
    on_order = level.on_order
    stock = {
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "available": available,
        "on_order": on_order,
        "inventory_position": available + on_order,
        "total_available": available if inputs.total_available is None else inputs.total_available,
    }
    facts: dict[str, Any] = {
        "event": inputs.event.facts(),
        "sku": inputs.sku,
        "warehouse": inputs.warehouse,
        "stock": stock,
        "metrics": metrics.as_facts(),
        "params": p,
        "calendar": _calendar(today, inputs.promotion_days),
    }
    if supplier is not None:
        facts["supplier"] = _supplier_facts(supplier)
    return facts, metrics


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
        iso = today.isoformat()
        found = _CALENDARS[key] = {"date": iso, "weekday": today.isoweekday(),
                                   "month": today.month, "promotion": iso in promotion_days}
    return dict(found)


def _supplier_facts(link: SupplierLink) -> dict[str, Any]:
    out = {"code": link.code, "moq": link.moq, "pack_size": link.pack_size,
           "lead_time_std_days": link.lead_time_std_days}
    if link.lead_time_days is not None:
        out["lead_time_days"] = link.lead_time_days
    if link.price is not None:
        out["price"] = link.price
    return out
