"""Replenishment metrics of SPEC §3: demand statistics, safety stock, reorder point, cover, ABC."""

from __future__ import annotations

import math
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import compress, count
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # annotations only: metrics stays a leaf module (STYLE module map)
    from engine.rules.compiled import ApprovalThreshold, CreateRequisition

KEEP_DAYS = 120
"""Days of demand history a DemandWindow keeps by default: enough for any window up to this."""


class DemandStats(NamedTuple):
    mean: float
    std: float  # population standard deviation (see DemandWindow.stats)


class DemandWindow:
    """Daily demand (sales + issues) of one SKU×warehouse, updated one event at a time.

    Days are kept as ordinals. ``stats`` keeps a running sum and sum of squares for the last
    window it answered, so the engine's usual pattern (add today's sale, then ask for today's
    stats) costs O(1); moving to a later day costs O(days moved), at most O(window). The running
    sums are exact for whole quantities (floats add integers exactly below 2**53); for fractional
    ones they are recounted once per window length, and a window with no demand is exactly 0.
    """

    __slots__ = (
        "_end",
        "_keep",
        "_last",
        "_latest",
        "_nonzero",
        "_qty",
        "_size",
        "_slides",
        "_sq",
        "_sum",
    )

    def __init__(self, keep_days: int = KEEP_DAYS) -> None:
        self._qty: dict[int, float] = {}
        self._keep = keep_days  # older days are pruned, lazily, in batches
        self._last: int | None = None
        self._latest = 0  # the latest day ever added, demand or not
        self._end = 0  # last day of the cached window (ordinal); 0 = no cache
        self._size = 0
        self._sum = 0.0
        self._sq = 0.0
        self._nonzero = 0  # days with a non-zero total in the window: exact zero detection
        self._slides = 0  # days slid since the last full recount (bounds float drift)

    @property
    def last_demand_ordinal(self) -> int | None:
        """``last_demand_day`` as an ordinal (what the facts of every event need)."""
        return self._last

    @property
    def last_demand_day(self) -> date | None:
        """The latest day with positive demand, or None when nothing was ever demanded."""
        return date.fromordinal(self._last) if self._last is not None else None

    def add(self, day: date, qty: float) -> None:
        """Record ``qty`` units demanded on ``day`` (a local calendar date; may be out of order)."""
        o = day.toordinal()
        old = self._qty.get(o, 0.0)
        new = old + qty
        self._qty[o] = new
        if qty > 0 and (self._last is None or o > self._last):
            self._last = o
        if o > self._latest:
            self._latest = o
        if self._end and self._end - self._size < o <= self._end:
            self._sum += qty
            self._sq += new * new - old * old
            self._nonzero += (new != 0) - (old != 0)
        if len(self._qty) > max(self._keep, self._size) + 32:
            self._prune()

    def stats(self, today: date, window_days: int) -> DemandStats:
        """Mean and population std of daily demand over ``window_days`` days ending ``today``.

        Days without demand count as 0. The population std (divide by n) is used: the window is
        the whole period we describe, not a sample of it, and it is 0 for a constant demand.
        """
        if window_days <= 0:
            raise ValueError("window_days must be positive")
        end = today.toordinal()
        if window_days != self._size or end < self._end:
            if end < self._end:  # a look into the past: answer without moving the cache
                return _describe(*self._sums(end, window_days), window_days)
            self._recount(end, window_days)
        elif end > self._end:
            self._slide(end)
        return _describe(self._sum, self._sq, self._nonzero, window_days)

    def _sums(self, end: int, size: int) -> tuple[float, float, int]:
        start = end - size + 1
        if len(self._qty) < size:  # sparse: the days kept, not every day of the window
            values = [q for o, q in self._qty.items() if start <= o <= end and q != 0]
        else:
            get = self._qty.get
            values = [v for o in range(start, end + 1) if (v := get(o, 0.0)) != 0]
        # zero days add nothing to either (exactly rounded) sum: only the others are summed
        return math.fsum(values), math.fsum([v * v for v in values]), len(values)

    def _recount(self, end: int, size: int) -> None:
        self._end, self._size, self._slides = end, size, 0
        self._sum, self._sq, self._nonzero = self._sums(end, size)

    def _slide(self, end: int) -> None:
        steps = end - self._end
        self._slides += steps
        if steps >= self._size or self._slides >= self._size:
            self._recount(end, self._size)
            return
        get = self._qty.get
        for o in range(self._end + 1, end + 1):
            v_in, v_out = get(o, 0.0), get(o - self._size, 0.0)
            self._sum += v_in - v_out
            self._sq += v_in * v_in - v_out * v_out
            self._nonzero += (v_in != 0) - (v_out != 0)
        self._end = end

    def _prune(self) -> None:
        cutoff = self._latest - max(self._keep, self._size)
        if self._end and cutoff > self._end - self._size:
            self._end = self._size = 0  # the cached window loses days: recount on next stats
        self._qty = {o: q for o, q in self._qty.items() if o > cutoff}

    def to_dict(self) -> dict[str, Any]:
        """A compact JSON-ready form: first day, dense daily quantities, last demand day."""
        kept = self._qty
        if 0.0 in kept.values():  # stored zeros are left out (demand is added > 0: rare)
            kept = {o: q for o, q in kept.items() if q != 0}
        if not kept:
            return {"start": None, "qty": [], "last": _iso(self._last)}
        start = min(kept)
        # Days without demand are zeros: the list starts as zeros and only the days kept are
        # set (most days of a window sell nothing). Whole quantities as ints (``_compact``).
        qty: list[float | int] = [0] * (max(kept) - start + 1)
        for o, q in kept.items():
            qty[o - start] = int(q) if q.is_integer() else q
        return {"start": date.fromordinal(start).isoformat(), "qty": qty, "last": _iso(self._last)}

    def to_packed(self) -> bytes:
        """``to_dict`` in binary (``PACKED_FORMAT``), what the whole-catalogue what-if reads: a
        million of these are read by numpy at once where their JSON texts took seconds."""
        kept = [o for o, q in self._qty.items() if q != 0]
        if not kept:
            return _pack([0.0, float(self._last or 0)])
        start = min(kept)
        values = [0.0] * (max(kept) - start + 2 + 1)
        values[0], values[1] = float(start), float(self._last or 0)
        for o in kept:
            values[o - start + 2] = self._qty[o]
        return _pack(values)

    @classmethod
    def from_packed(cls, data: bytes, keep_days: int = KEEP_DAYS) -> DemandWindow:
        """The window ``to_packed`` wrote: the same as ``from_dict`` of its ``to_dict``."""
        values = array("d")
        values.frombytes(data)
        if sys.byteorder != "little":
            values.byteswap()
        if len(values) < 2:
            raise ValueError("a packed demand window holds at least its two ordinals")
        window = cls(keep_days)
        start, last = int(values[0]), int(values[1])
        if start:
            qty = values[2:]
            window._qty = dict(zip(compress(count(start), qty), filter(None, qty)))
            window._latest = next(reversed(window._qty), 0)
        if last:
            window._last = last
        return window

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], keep_days: int = KEEP_DAYS) -> DemandWindow:
        window = cls(keep_days)
        if data.get("start"):
            start = date.fromisoformat(data["start"]).toordinal()
            qty = data["qty"]
            # the days with demand (``compress`` keeps those whose quantity is not 0), in order
            window._qty = dict(zip(compress(count(start), qty), map(float, filter(None, qty))))
            window._latest = next(reversed(window._qty), 0)  # days ascend: the last is latest
        if data.get("last"):
            window._last = date.fromisoformat(data["last"]).toordinal()
        return window


PACKED_FORMAT = "<f8"
"""A packed window (``stock_levels.demand_packed``): little-endian float64s, the first kept
day's ordinal (0: no day kept), the last demand day's ordinal (0: never), then the quantity of
every day from the first kept one on (ordinals are exact in a float64)."""


def _pack(values: list[float]) -> bytes:
    packed = array("d", values)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def _describe(total: float, squares: float, nonzero: int, n: int) -> DemandStats:
    if nonzero == 0:
        return DemandStats(0.0, 0.0)
    mean = total / n
    return DemandStats(mean, math.sqrt(max(squares / n - mean * mean, 0.0)))


def _iso(ordinal: int | None) -> str | None:
    return date.fromordinal(ordinal).isoformat() if ordinal is not None else None


def _compact(q: float) -> float | int:
    return int(q) if float(q).is_integer() else q


# --- SPEC §3 formulas -----------------------------------------------------------------------


@lru_cache(maxsize=64)
def z_for(service_level: float) -> float:
    """The standard normal quantile for a cycle service level in (0, 1): 0.95 → 1.6449."""
    if not 0 < service_level < 1:
        raise ValueError(f"service level must be between 0 and 1 (exclusive), got {service_level}")
    return NormalDist().inv_cdf(service_level)


def safety_stock(z: float, lead_time: float, d: float, sigma_d: float, sigma_lt: float) -> float:
    """z·√(LT·σd² + d²·σLT²): cover for demand and lead-time variability during the lead time."""
    return z * math.sqrt(lead_time * sigma_d**2 + d**2 * sigma_lt**2)


# --- Fill-rate targets (issue #16) -------------------------------------------------------------
# A cycle service level is the chance of no stock-out in a replenishment cycle; a fill rate β is
# the share of demand served from stock. With order cycles of Q units and σ the deviation of
# demand over the lead time, the expected units short per cycle are σ·L(z), where L is the
# standard normal loss function L(z) = φ(z) − z·(1 − Φ(z)); so β = 1 − σ·L(z)/Q and the safety
# factor is z = L⁻¹((1 − β)·Q/σ) (Silver, Pyke & Peterson, Inventory Management, ch. 7).

Z_MAX = 4.0
"""The highest safety factor a fill rate can ask for (z 4 ≈ a 99.997 % cycle service level)."""
_GRID_STEP = 0.001
_STD = NormalDist()


def normal_loss(z: float) -> float:
    """L(z) = φ(z) − z·(1 − Φ(z)): expected units short per unit of σ at safety factor z."""
    return _STD.pdf(z) - z * (1.0 - _STD.cdf(z))


@lru_cache(maxsize=1)
def loss_grid() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """L on z = −Z_MAX, …, −0.001, 0, 0.001, …, Z_MAX (decreasing), for ``z_for_fill_rate``."""
    steps = int(round(Z_MAX / _GRID_STEP))
    zs = tuple(i * _GRID_STEP for i in range(-steps, steps + 1))
    return zs, tuple(normal_loss(z) for z in zs)


@lru_cache(maxsize=1)
def _negated_losses() -> tuple[float, ...]:
    return tuple(-v for v in loss_grid()[1])  # increasing: for bisect


def z_for_fill_rate(fill_rate: float, cycle_demand: float, sigma: float,
                    lowest: float = 0.0) -> float:
    """The safety factor that serves ``fill_rate`` of demand when orders cover ``cycle_demand``
    units and demand over the lead time deviates by ``sigma``: L⁻¹((1 − β)·Q/σ), within
    [``lowest``, Z_MAX]; 0 when nothing varies. With the default ``lowest`` of 0 the reorder
    point is never below the mean lead-time demand; a negative ``lowest`` (down to −Z_MAX)
    lets a large order cycle, which alone serves more than β, carry less stock than that (a
    negative safety stock, as the loss function asks for)."""
    if not 0 < fill_rate < 1:
        raise ValueError(f"fill rate must be between 0 and 1 (exclusive), got {fill_rate}")
    if sigma <= 0:
        return 0.0
    lowest = min(max(lowest, -Z_MAX), 0.0)
    target = (1.0 - fill_rate) * max(cycle_demand, 0.0) / sigma
    zs, losses = loss_grid()
    if target >= (losses[len(zs) // 2] if lowest == 0.0 else normal_loss(lowest)):
        return lowest
    if target <= losses[-1]:
        return Z_MAX
    hi = bisect_left(_negated_losses(), -target)  # losses[hi - 1] > target >= losses[hi]
    lo = hi - 1
    # linear between the two grid points
    z = zs[lo] + (losses[lo] - target) * (zs[hi] - zs[lo]) / (losses[lo] - losses[hi])
    return z if z > lowest else lowest


def fill_rate_of(z: float, cycle_demand: float, sigma: float) -> float:
    """The fill rate a safety factor gives: 1 − σ·L(z)/Q (1 when Q or σ is 0)."""
    if cycle_demand <= 0 or sigma <= 0:
        return 1.0
    return max(0.0, 1.0 - sigma * normal_loss(z) / cycle_demand)


def reorder_point(d: float, lead_time: float, ss: float) -> float:
    return d * lead_time + ss


def max_stock(rop: float, d: float, review_period: float) -> float:
    return rop + d * review_period


def days_of_cover(available: float, d: float) -> float | None:
    """How many days ``available`` lasts at ``d`` a day; None when there is no demand."""
    return available / d if d > 0 else None


def days_since(last_day: date | None, today: date) -> int | None:
    """Whole days from ``last_day`` to ``today`` (never negative); None when it never happened."""
    return max((today - last_day).days, 0) if last_day is not None else None


def eoq(annual_demand: float, ordering_cost: float, holding_cost_per_unit_year: float) -> float:
    """Economic order quantity √(2DS/H); 0 when demand, ordering or holding cost is not > 0."""
    if annual_demand <= 0 or ordering_cost <= 0 or holding_cost_per_unit_year <= 0:
        return 0.0
    return math.sqrt(2 * annual_demand * ordering_cost / holding_cost_per_unit_year)


@dataclass(slots=True)  # not frozen: built for every event, and frozen __init__ is slow
class Metrics:
    avg_daily_demand: float
    demand_std: float
    lead_time_days: float
    lead_time_std: float
    safety_stock: float
    reorder_point: float
    max_stock: float
    days_of_cover: float | None
    days_since_last_sale: int | None

    @classmethod
    def from_facts(cls, facts: Mapping[str, Any]) -> Metrics:
        """The metrics of a ``metrics.*`` facts dict (nulls are left out there)."""
        return cls(facts["avg_daily_demand"], facts["demand_std"], facts["lead_time_days"],
                   facts["lead_time_std"], facts["safety_stock"], facts["reorder_point"],
                   facts["max_stock"], facts.get("days_of_cover"),
                   facts.get("days_since_last_sale"))

    def as_facts(self) -> dict[str, float | int]:
        """The ``metrics.*`` facts, without nulls, so that a JsonLogic ``var`` default applies."""
        # Built by hand: dataclasses.asdict deep-copies and was a tenth of the ingest time.
        out: dict[str, float | int] = {
            "avg_daily_demand": self.avg_daily_demand,
            "demand_std": self.demand_std,
            "lead_time_days": self.lead_time_days,
            "lead_time_std": self.lead_time_std,
            "safety_stock": self.safety_stock,
            "reorder_point": self.reorder_point,
            "max_stock": self.max_stock,
        }
        if self.days_of_cover is not None:
            out["days_of_cover"] = self.days_of_cover
        if self.days_since_last_sale is not None:
            out["days_since_last_sale"] = self.days_since_last_sale
        return out


def compute_metrics(
    demand: tuple[float, float],
    *,
    available: float,
    service_level: float,
    review_period_days: float,
    lead_time_days: float | None = None,
    lead_time_std: float | None = None,
    default_lead_time_days: float = 7.0,
    days_since_last_sale: int | None = None,
) -> Metrics:
    """All metrics of one SKU×warehouse from its demand (mean, std) and its supplier's lead time.

    Without a supplier lead time, ``default_lead_time_days`` (the ruleset setting) is used with a
    standard deviation of 0.
    """
    d, sigma_d = demand
    if lead_time_days is None:
        lead_time_days, lead_time_std = default_lead_time_days, 0.0
    sigma_lt = lead_time_std or 0.0
    ss = safety_stock(z_for(service_level), lead_time_days, d, sigma_d, sigma_lt)
    rop = reorder_point(d, lead_time_days, ss)
    return Metrics(
        avg_daily_demand=d,
        demand_std=sigma_d,
        lead_time_days=lead_time_days,
        lead_time_std=sigma_lt,
        safety_stock=ss,
        reorder_point=rop,
        max_stock=max_stock(rop, d, review_period_days),
        days_of_cover=days_of_cover(available, d),
        days_since_last_sale=days_since_last_sale,
    )


def abc_classes(revenue_by_sku: Mapping[str, float]) -> dict[str, str]:
    """ABC class by cumulative revenue share (SPEC §5): A to 80 %, B the next 15 %, C the rest.

    A SKU is classed by the share accumulated *before* it, so the one that crosses 80 % is still
    A (and the one crossing 95 % still B). Zero or negative revenue is always C. Ties are ordered
    by code, so the result does not depend on the mapping's order.
    """
    ranked = sorted(revenue_by_sku.items(), key=lambda kv: (-max(kv[1], 0.0), kv[0]))
    total = sum(max(r, 0.0) for _, r in ranked)
    classes: dict[str, str] = {}
    before = 0.0
    for code, revenue in ranked:
        if revenue <= 0 or total <= 0:
            classes[code] = "C"
            continue
        share = before / total
        classes[code] = "A" if share < 0.80 else "B" if share < 0.95 else "C"
        before += revenue
    return classes


# --- Requisitions: supplier choice, quantity, approval ---------------------------------------


@dataclass(frozen=True, slots=True)
class SupplierLink:
    """A supplier as seen from one SKU: its terms and whether it is the preferred or backup one.

    Slotted: a snapshot holds one per SKU and supplier (100k+), a third of the size with slots.
    """

    code: str
    lead_time_days: float | None = None
    lead_time_std_days: float = 0.0
    price: float | None = None
    preferred: bool = False
    backup: bool = False
    moq: float = 0.0
    pack_size: float = 1.0
    name: str | None = None  # for supplier.* facts (SPEC §5); not a term of the order
    on_time_rate: float | None = None
    # issue #19 (engine.supply): where the lead time comes from, receipts observed, the
    # supplier's open announced delay (days past the promised arrival) and its unavailability
    lead_time_source: str = "master"
    observations: int = 0
    open_delay_days: float | None = None
    unavailable: bool = False


def choose_supplier(choice: str, links: Iterable[SupplierLink]) -> SupplierLink | None:
    """The link a ``supplier:`` choice designates, or None when no link fits.

    ``preferred`` falls back to the first link; ``backup`` has no fallback; ``fastest`` and
    ``cheapest`` skip links without a lead time or price and keep the earlier link on ties;
    anything else is a supplier code.
    """
    options = list(links)
    if choice == "preferred":
        return next((s for s in options if s.preferred), options[0] if options else None)
    if choice == "backup":
        return next((s for s in options if s.backup), None)
    if choice == "fastest":
        timed = [s for s in options if s.lead_time_days is not None]
        return min(timed, key=lambda s: s.lead_time_days or 0.0, default=None)
    if choice == "cheapest":
        priced = [s for s in options if s.price is not None]
        return min(priced, key=lambda s: s.price or 0.0, default=None)
    return next((s for s in options if s.code == choice), None)


def order_up_to(max_stock: float, inventory_position: float) -> float:
    """What brings the inventory position back up to ``max_stock`` (never negative)."""
    return max(max_stock - inventory_position, 0.0)


def round_to_supplier(qty: float, moq: float | None, pack_size: float | None) -> float:
    """Round a positive quantity up to the MOQ, then up to a whole number of packs; ≤ 0 → 0."""
    if not qty > 0:
        return 0.0
    qty = max(qty, moq or 0.0)
    if pack_size and pack_size > 0:
        packs = math.ceil(qty / pack_size - 1e-9)  # 0.3/0.1 is 2.9999…: not 3 packs + 1
        qty = round(packs * pack_size, 9)
    return qty


class Quantity(NamedTuple):
    quantity: float  # what to order, rounded to the supplier's MOQ and pack size
    raw: float  # what the policy asked for, before rounding
    reason: str | None = None  # why the quantity is 0, when the policy could not say


def requisition_quantity(
    policy: CreateRequisition,
    facts: Mapping[str, Any],
    metrics: Metrics,
    supplier: SupplierLink | None,
) -> Quantity:
    """The quantity a ``create_requisition`` action orders for these facts and this supplier.

    Without a supplier, or a pack size, quantities are rounded up to whole units (packs of 1).
    """
    raw, reason = _policy_quantity(policy, facts, metrics, supplier)
    if reason is None and not raw > 0:
        reason = "nothing to order: the policy's quantity is not above 0"
    moq, pack = (supplier.moq, supplier.pack_size or 1.0) if supplier else (None, 1.0)
    return Quantity(round_to_supplier(raw, moq, pack), raw, reason)


def _policy_quantity(
    policy: CreateRequisition,
    facts: Mapping[str, Any],
    metrics: Metrics,
    supplier: SupplierLink | None,
) -> tuple[float, str | None]:
    if policy.policy == "order_up_to":
        position = _number(_fact(facts, "stock.inventory_position"))
        if position is None:
            return 0.0, "stock.inventory_position is not known"
        return order_up_to(metrics.max_stock, position), None
    if policy.policy == "eoq":
        return _eoq_quantity(facts, metrics, supplier)
    if policy.policy == "fixed":
        value = _number(policy.fixed)
        return (value, None) if value is not None else (0.0, "no fixed quantity given")
    if policy.policy == "expression" and policy.quantity_fn is not None:
        try:
            result = policy.quantity_fn(facts)
        except Exception as exc:
            # requisition is skipped with the reason, the alert and the other rules go on (#13)
            return 0.0, f"the quantity expression failed: {type(exc).__name__}: {exc}"
        value = _number(result)
        if value is None:
            return 0.0, f"the quantity expression gave {result!r}, not a number"
        return value, None
    return 0.0, f"unknown quantity policy {policy.policy!r}"


def _eoq_quantity(
    facts: Mapping[str, Any], metrics: Metrics, supplier: SupplierLink | None
) -> tuple[float, str | None]:
    params = facts.get("params") or {}
    price = supplier.price if supplier is not None else None
    unit_cost = _number(price) or _number(_fact(facts, "sku.unit_cost")) or 0.0
    ordering = _number(params.get("ordering_cost")) or 0.0
    holding = unit_cost * (_number(params.get("holding_cost_rate")) or 0.0)
    if holding <= 0 or ordering <= 0:
        return 0.0, "EOQ needs a unit cost, an ordering cost and a holding cost rate above 0"
    return eoq(metrics.avg_daily_demand * 365, ordering, holding), None


def _fact(facts: Mapping[str, Any], path: str) -> Any:
    node: Any = facts
    for key in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _number(value: Any) -> float | None:
    """A finite real number as float; None for bool, text, null, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def approval_role(amount: float, thresholds: Iterable[ApprovalThreshold]) -> str | None:
    """The role of the highest threshold ``amount`` is above, or None when no approval is needed.

    Thresholds with the same ``above`` keep the first one declared.
    """
    passed = [t for t in thresholds if amount > t.above]
    return max(passed, key=lambda t: t.above).role if passed else None


def approval_chain(amount: float | None, thresholds: Iterable[ApprovalThreshold]) -> tuple[str, ...]:
    """The roles that approve in turn (issue #18): every threshold ``amount`` is above, from the
    lowest; a role that follows itself approves once. An unknown amount needs every level.

    The last role is ``approval_role``'s: no requisition is approved by less than before.
    """
    steps = sorted(thresholds, key=lambda t: t.above)
    if amount is not None:
        steps = [t for t in steps if amount > t.above]
    chain: list[str] = []
    for step in steps:
        if not chain or chain[-1] != step.role:
            chain.append(step.role)
    return tuple(chain)
