"""The supply side (issue #19): learned lead times, supplier delays, when open orders land, and
the failover of a requisition to a backup supplier.

Pure: no database. Storage reads the observations and open orders and hands them here;
``engine.actions.create_requisition`` asks ``split_by_arrival`` and ``failover``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from engine.metrics import SupplierLink

MIN_OBSERVATIONS = 3
"""Receipts a supplier (or a supplier×SKU) needs before its learned lead time replaces the
master data's (setting ``lead_time_min_observations``)."""
WINDOW = 20
"""The most recent receipts a learned lead time is computed from (``lead_time_window``)."""
ON_TIME_GRACE_DAYS = 1.0
"""A receipt is on time when it arrives no later than a day after the promised lead time."""
FALLBACK_AFTER_LATE_DAYS = 3.0
"""A requisition's ``fallback`` is taken when the preferred supplier's open delay exceeds this."""
DAY = 86400.0

MASTER, LEARNED, LEARNED_SKU = "master", "learned", "learned_sku"
"""Where a lead time comes from: the master data, the supplier's receipts, or the receipts of
this supplier for this SKU (``supplier.lead_time_source``)."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One receipt of an ordered requisition: how long it took and whether it was on time."""

    supplier_id: int
    sku_id: int
    lead_time_days: float
    on_time: bool


@dataclass(frozen=True, slots=True)
class LeadTimeStats:
    n: int
    mean: float
    std: float  # sample standard deviation (n − 1): the receipts are a sample of the supplier
    on_time: int  # receipts on time among the n


def days_between(start: datetime, end: datetime) -> float:
    """Days from ``start`` to ``end`` (fractional), rounded to a thousandth."""
    return round((end - start).total_seconds() / DAY, 3)


def observe(supplier_id: int, sku_id: int, ordered_at: datetime, received_at: datetime,
            promised_days: float) -> Observation:
    """The observation of a requisition ordered at ``ordered_at`` and received at
    ``received_at``; on time when no later than ``promised_days`` + a day's grace."""
    lead = max(days_between(ordered_at, received_at), 0.0)
    return Observation(supplier_id, sku_id, lead, lead <= promised_days + ON_TIME_GRACE_DAYS)


def stats_of(observations: Sequence[Observation]) -> LeadTimeStats:
    n = len(observations)
    values = [o.lead_time_days for o in observations]
    mean = math.fsum(values) / n if n else 0.0
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return LeadTimeStats(n, mean, std, sum(1 for o in observations if o.on_time))


def learned(observations: Iterable[Observation], window: int = WINDOW,
            ) -> tuple[dict[int, LeadTimeStats], dict[tuple[int, int], LeadTimeStats]]:
    """Rolling statistics of the last ``window`` receipts (given oldest first): per supplier,
    and per supplier×SKU."""
    by_supplier: dict[int, deque[Observation]] = {}
    by_pair: dict[tuple[int, int], deque[Observation]] = {}
    for o in observations:
        by_supplier.setdefault(o.supplier_id, deque(maxlen=window)).append(o)
        by_pair.setdefault((o.supplier_id, o.sku_id), deque(maxlen=window)).append(o)
    return ({k: stats_of(list(v)) for k, v in by_supplier.items()},
            {k: stats_of(list(v)) for k, v in by_pair.items()})


def on_time_rate(stats: LeadTimeStats | None, open_delays: int = 0) -> float | None:
    """Receipts on time over receipts, an open announced delay counting as a late one; None
    with nothing to count."""
    n = (stats.n if stats else 0) + open_delays
    if n == 0:
        return None
    return round((stats.on_time if stats else 0) / n, 4)


def with_learning(link: SupplierLink, supplier: LeadTimeStats | None,
                  pair: LeadTimeStats | None, min_observations: int = MIN_OBSERVATIONS,
                  open_delays: int = 0, open_delay_days: float | None = None,
                  unavailable: bool = False) -> SupplierLink:
    """``link`` with its learned lead time (the supplier×SKU's when it has enough receipts,
    else the supplier's, else the master data's), its on-time rate from the same receipts
    (the master data's while there are none) and its open delay."""
    chosen, source = None, MASTER
    if pair is not None and pair.n >= min_observations:
        chosen, source = pair, LEARNED_SKU
    elif supplier is not None and supplier.n >= min_observations:
        chosen, source = supplier, LEARNED
    rate = on_time_rate(supplier, open_delays)
    changes: dict[str, object] = {
        "lead_time_source": source, "unavailable": unavailable,
        "open_delay_days": open_delay_days,
        "observations": supplier.n if supplier else 0,
        "on_time_rate": rate if rate is not None else link.on_time_rate,
    }
    if chosen is not None:
        changes["lead_time_days"] = round(chosen.mean, 3)
        changes["lead_time_std_days"] = round(chosen.std, 3)
    return replace(link, **changes)  # type: ignore[arg-type]


# --- open orders: when they land ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An open requisition of a SKU×warehouse as the coverage check sees it."""

    quantity: float
    eta: datetime | None  # None: not known (counted as arriving in time)
    supplier: str | None = None
    delay_days: float | None = None  # announced by a supplier_delay; None: none
    ref: str | None = None


def expected_arrival(ordered_at: datetime | None, created_at: datetime, lead_time_days: float,
                     eta: datetime | None) -> datetime:
    """An open requisition's arrival: the ETA a delay set, else ordered (or raised) + lead time."""
    if eta is not None:
        return eta
    return (ordered_at or created_at) + timedelta(days=lead_time_days)


def projected_stockout(at: datetime, available: float, daily_demand: float) -> datetime | None:
    """When ``available`` runs out at ``daily_demand`` a day from ``at``; None without demand."""
    if daily_demand <= 0:
        return None
    return at + timedelta(days=max(available, 0.0) / daily_demand)


def split_by_arrival(orders: Iterable[OpenOrder], stockout: datetime | None,
                     new_arrival: datetime | None = None) -> tuple[float, list[OpenOrder]]:
    """The quantity of the orders that cover the shortage, and those that do not: an order
    landing after the projected ``stockout`` and after ``new_arrival`` (when a new order would
    land) covers nothing — a new order comes sooner. One that a new order could not beat still
    covers: ordering again would only add stock that lands later still."""
    in_time, late = 0.0, []
    for order in orders:
        if (stockout is not None and order.eta is not None and order.eta > stockout
                and (new_arrival is None or order.eta > new_arrival)):
            late.append(order)
        else:
            in_time += order.quantity
    return in_time, late


# --- failover -------------------------------------------------------------------------------


def with_pair_delay(link: SupplierLink | None, orders: Iterable[OpenOrder],
                    ) -> SupplierLink | None:
    """``link`` with the largest delay announced on this pair's open orders from it, when that
    is more than the supplier's open delay the snapshot knows (a delay of this very batch)."""
    if link is None:
        return None
    delays = [o.delay_days for o in orders if o.supplier == link.code and o.delay_days]
    if not delays or max(delays) <= (link.open_delay_days or 0.0):
        return link
    return replace(link, open_delay_days=max(delays))


def failover(primary: SupplierLink | None, fallback: SupplierLink | None, at: datetime,
             stockout: datetime | None, late_after_days: float = FALLBACK_AFTER_LATE_DAYS,
             ) -> tuple[SupplierLink | None, str | None]:
    """The supplier to order from, and why the fallback was taken (None: it was not).

    The fallback replaces the primary when the primary is marked unavailable, its open delay
    exceeds ``late_after_days``, or its lead time lands after the projected stock-out while the
    fallback's lands before it. A fallback that is itself unavailable is never taken.
    """
    if primary is None or fallback is None or fallback.unavailable or fallback.code == primary.code:
        return primary, None
    if primary.unavailable:
        return fallback, f"fallback {fallback.code} for {primary.code}: unavailable"
    delay = primary.open_delay_days
    if delay is not None and delay > late_after_days:
        return fallback, (f"fallback {fallback.code} for {primary.code}: late {delay:g} days "
                          f"(threshold {late_after_days:g})")
    if stockout is not None and primary.lead_time_days is not None \
            and fallback.lead_time_days is not None:
        lands = at + timedelta(days=primary.lead_time_days)
        if lands > stockout >= at + timedelta(days=fallback.lead_time_days):
            return fallback, (f"fallback {fallback.code} for {primary.code}: lands "
                              f"{lands.date().isoformat()} after stock-out "
                              f"{stockout.date().isoformat()}")
    return primary, None


def late_note(late: Sequence[OpenOrder], stockout: datetime) -> str:
    """The reason clause for open orders that land after the stock-out."""
    qty = sum(o.quantity for o in late)
    return f"not counted: {qty:g} on order landing after the stock-out on {stockout.date().isoformat()}"


def min_observations(params: Mapping[str, object]) -> int:
    value = params.get("lead_time_min_observations")
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else MIN_OBSERVATIONS


def raised_orders(drafts: Iterable[object], links: Iterable[SupplierLink], at: datetime,
                  ) -> list[OpenOrder]:
    """The open orders a rule's requisition drafts add (arriving after their supplier's lead
    time), so that the next rule on the same event sees them."""
    lead = {link.code: link.lead_time_days for link in links}
    out = []
    for d in drafts:
        quantity = getattr(d, "quantity", None)
        if quantity is None or not hasattr(d, "supplier"):
            continue
        days = lead.get(d.supplier)
        eta = at + timedelta(days=days) if days is not None else None
        out.append(OpenOrder(float(quantity), eta, d.supplier))
    return out


def order_facts(orders: Sequence[OpenOrder]) -> dict[str, object]:
    """``order.*``: the open order that lands first (its ETA, supplier and announced delay)."""
    timed = [o for o in orders if o.eta is not None]
    if not timed:
        return {}
    first = min(timed, key=lambda o: o.eta)  # type: ignore[arg-type,return-value]
    assert first.eta is not None
    out: dict[str, object] = {"eta": first.eta.isoformat()}
    if first.supplier is not None:
        out["supplier"] = first.supplier
    delays = [o.delay_days for o in orders if o.delay_days is not None]
    if delays:
        out["delay_days"] = max(delays)
    return out
