"""The supply side's pure logic (issue #19), without a database: learned lead times, when open
orders land, failover, supplier_delay parsing, and the create_requisition and notify actions
through the pipeline's core."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from engine.actions.context import NotificationDraft, RequisitionDraft, Skipped
from engine.metrics import DemandWindow, SupplierLink
from engine.pipeline.core import apply
from engine.pipeline.state import Pair, StockState
from engine.rules.loader import load_ruleset
from engine.rules.schema import validate_document
from engine.rules.source import parse_source
from engine.snapshot import Snapshot
from engine.stock import StockLevel, parse_event
from engine.supply import (
    LEARNED,
    LEARNED_SKU,
    MASTER,
    Observation,
    OpenOrder,
    failover,
    learned,
    observe,
    on_time_rate,
    projected_stockout,
    split_by_arrival,
    stats_of,
    with_learning,
)

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
A = SupplierLink(code="A", lead_time_days=4, lead_time_std_days=1, preferred=True, moq=1,
                 pack_size=1, price=5.0)
B = SupplierLink(code="B", lead_time_days=2, lead_time_std_days=0, backup=True, moq=1,
                 pack_size=1, price=6.0)


# --- learned lead times ---------------------------------------------------------------------

def test_observe_measures_days_and_allows_a_day_of_grace() -> None:
    o = observe(1, 7, T0, T0 + timedelta(days=5, hours=12), promised_days=4)
    assert (o.lead_time_days, o.on_time) == (5.5, False)
    assert observe(1, 7, T0, T0 + timedelta(days=5), promised_days=4).on_time is True


def test_stats_are_the_mean_and_sample_deviation_of_the_last_window() -> None:
    obs = [Observation(1, 7, v, v <= 5) for v in (100, 4, 5, 7)]  # 100 falls out of a window of 3
    per_supplier, per_pair = learned(obs, window=3)
    s = per_supplier[1]
    mean = 16 / 3
    assert (s.n, s.on_time) == (3, 2)
    assert math.isclose(s.mean, mean)
    assert math.isclose(s.std, math.sqrt(((4 - mean) ** 2 + (5 - mean) ** 2 + (7 - mean) ** 2) / 2))
    assert per_pair[(1, 7)] == s
    assert stats_of([Observation(1, 7, 3, True)]).std == 0.0


def test_a_learned_lead_time_replaces_the_master_data_from_the_nth_receipt() -> None:
    two = stats_of([Observation(1, 7, 6, False), Observation(1, 8, 8, False)])
    kept = with_learning(A, two, None, min_observations=3)
    assert (kept.lead_time_days, kept.lead_time_source, kept.observations) == (4, MASTER, 2)
    assert kept.on_time_rate == 0.0  # the rate counts from the first receipt
    three = stats_of([Observation(1, 7, 6, True), Observation(1, 8, 8, False),
                      Observation(1, 8, 7, False)])
    link = with_learning(A, three, None, min_observations=3)
    assert (link.lead_time_days, link.lead_time_std_days, link.lead_time_source) == (7, 1, LEARNED)
    pair = stats_of([Observation(1, 7, v, True) for v in (3, 3, 3)])
    sku_level = with_learning(A, three, pair, min_observations=3)
    assert (sku_level.lead_time_days, sku_level.lead_time_std_days,
            sku_level.lead_time_source) == (3, 0, LEARNED_SKU)


def test_an_open_delay_counts_as_a_late_receipt() -> None:
    three = stats_of([Observation(1, 7, 4, True)] * 3)
    assert on_time_rate(three) == 1.0
    assert on_time_rate(three, open_delays=1) == 0.75
    assert on_time_rate(None, open_delays=1) == 0.0
    assert on_time_rate(None) is None
    assert with_learning(A, None, None, open_delays=1, open_delay_days=10).open_delay_days == 10


# --- open orders and failover ---------------------------------------------------------------

def test_an_order_landing_after_the_stock_out_and_after_a_new_one_covers_nothing() -> None:
    stockout = projected_stockout(T0, available=50, daily_demand=10)
    assert stockout == T0 + timedelta(days=5)
    early = OpenOrder(30, T0 + timedelta(days=3), "A")
    delayed = OpenOrder(77, T0 + timedelta(days=14), "A", delay_days=10)
    unknown = OpenOrder(5, None)
    in_time, late = split_by_arrival([early, delayed, unknown], stockout, T0 + timedelta(days=2))
    assert (in_time, late) == (35, [delayed])
    # a new order could not land before it either: the late order still counts
    in_time, late = split_by_arrival([delayed], stockout, T0 + timedelta(days=20))
    assert (in_time, late) == (77, [])
    assert projected_stockout(T0, 50, 0) is None
    assert split_by_arrival([delayed], None) == (77, [])


def test_failover_reasons() -> None:
    stockout = T0 + timedelta(days=5)
    assert failover(A, B, T0, stockout) == (A, None)
    off = SupplierLink(**{**_fields(A), "unavailable": True})
    assert failover(off, B, T0, stockout) == (B, "fallback B for A: unavailable")
    late = SupplierLink(**{**_fields(A), "open_delay_days": 10.0})
    assert failover(late, B, T0, stockout, 3) == (B, "fallback B for A: late 10 days (threshold 3)")
    assert failover(late, B, T0, stockout, 12) == (late, None)
    slow = SupplierLink(**{**_fields(A), "lead_time_days": 7.0})
    assert failover(slow, B, T0, stockout) == (
        B, "fallback B for A: lands 2026-11-27 after stock-out 2026-11-25")
    # a fallback that is unavailable itself, or no fallback: the primary
    assert failover(off, SupplierLink(**{**_fields(B), "unavailable": True}), T0, stockout) == (off, None)
    assert failover(off, None, T0, stockout) == (off, None)


def _fields(link: SupplierLink) -> dict[str, object]:
    return {name: getattr(link, name) for name in SupplierLink.__slots__}  # type: ignore[attr-defined]


# --- supplier_delay events ------------------------------------------------------------------

DELAY = {"id": "d1", "type": "supplier_delay", "supplier": "A", "ref": "PO-1",
         "at": "2026-11-20T08:00:00+00:00", "eta": "2026-11-30T08:00:00+00:00"}


def test_a_delay_of_a_whole_order_needs_no_sku_nor_warehouse() -> None:
    event = parse_event(DELAY, T0)
    assert not isinstance(event, list)
    assert (event.sku, event.warehouse, event.ref, event.eta) == (
        "", "", "PO-1", datetime(2026, 11, 30, 8, tzinfo=UTC))


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"eta": None}, "eta", "needs 'eta'"),
    ({"eta": "2026-11-19T08:00:00+00:00"}, "eta", "cannot be in the past"),
    ({"ref": None}, "ref", "needs 'ref'"),
    ({"sku": "S1"}, "warehouse", "names both"),
    ({"supplier": None}, "supplier", "needs 'supplier'"),
])
def test_a_bad_delay_says_which_field(change: dict[str, object], field: str, words: str) -> None:
    raw = {k: v for k, v in {**DELAY, **change}.items() if v is not None}
    errors = parse_event(raw, T0)
    assert isinstance(errors, list)
    assert [e["field"] for e in errors] == [field]
    assert words in errors[0]["message"]


def test_other_events_still_need_sku_and_warehouse() -> None:
    errors = parse_event({"id": "s", "type": "sale", "qty": 1, "at": DELAY["at"]}, T0)
    assert isinstance(errors, list) and {e["field"] for e in errors} == {"sku", "warehouse"}


# --- create_requisition and notify in the core ----------------------------------------------

RULES = """
ruleset: supply
settings: {timezone: UTC, demand_window_days: 7}
roles: [{id: buyer, name: Buyer, members: [alice], channels: [email]}]
rules:
  - id: own-min
    name: Below our own minimum
    on: [sale]
    when: {"<": [{"var": "stock.inventory_position"}, 200]}
    owner: buyer
    actions:
      - create_requisition: {quantity: {fixed: 100}, supplier: preferred, fallback: backup}
      - notify: {to: supplier}
"""


def snapshot(primary: SupplierLink = A) -> Snapshot:
    snap = Snapshot.in_memory(load_ruleset(RULES), {1: {"code": "S1", "name": "one"}},
                              {1: {"code": "W1"}}, links={1: (primary, B)},
                              suppliers={"A": 1, "B": 2})
    snap.supplier_contacts = {"A": {"email": "a@x.cn"}, "B": {"email": "b@x.cn"}}
    return snap


def pair_with(on_hand: float, on_order: float, orders: list[OpenOrder]) -> StockState:
    window = DemandWindow()
    for i in range(7):
        window.add((T0 - timedelta(days=i + 1)).date(), 10)
    pair = Pair(1, 1, StockLevel(on_hand=on_hand, on_order_local=on_order), window,
                open_requisitions=1 if orders else 0, open_orders=list(orders))
    return StockState(pairs={(1, 1): pair})


def sale() -> object:
    parsed = parse_event({"id": "s1", "type": "sale", "sku": "S1", "warehouse": "W1", "qty": 10,
                          "at": T0.isoformat()}, T0)
    assert not isinstance(parsed, list)
    return parsed


def drafts(state: StockState, snap: Snapshot) -> list[object]:
    [alert] = apply(state, [sale()], snap).new_alerts  # type: ignore[list-item]
    return list(alert.drafts)


def test_a_rule_with_its_own_higher_minimum_still_orders_while_an_order_is_open() -> None:
    """bench/README.md's known issue: position 150 ≥ the reorder point (d 10 × 4 d + ss ≈ 66),
    an open requisition in time, but the rule's own minimum is 200: it orders (before: skipped
    as covered)."""
    state = pair_with(60, 100, [OpenOrder(100, T0 + timedelta(days=2), "A")])
    made = drafts(state, snapshot())
    req = next(d for d in made if isinstance(d, RequisitionDraft))
    assert (req.supplier, req.quantity) == ("A", 100)
    note = next(d for d in made if isinstance(d, NotificationDraft))
    assert note.recipients == ("a@x.cn",)


def test_a_delayed_order_does_not_block_and_the_requisition_fails_over_with_its_reasons() -> None:
    """50 on hand at 10 a day: stock-out in 4 days (after this sale's 10). The open 100 from A
    lands in 12 days, delayed 8 > 3: B, whose 2 days beat it; the notice goes to B."""
    state = pair_with(50, 100, [OpenOrder(100, T0 + timedelta(days=12), "A", delay_days=8)])
    made = drafts(state, snapshot())
    req = next(d for d in made if isinstance(d, RequisitionDraft))
    assert req.supplier == "B"
    assert req.reason == ("fixed: asked 100.00, rounded to 100 (MOQ 1, pack 1); fallback B for "
                          "A: late 8 days (threshold 3); not counted: 100 on order landing after "
                          "the stock-out on 2026-11-24")
    note = next(d for d in made if isinstance(d, NotificationDraft))
    assert note.recipients == ("b@x.cn",)
    assert not any(isinstance(d, Skipped) for d in made)


def test_an_unavailable_preferred_supplier_fails_over() -> None:
    off = SupplierLink(**{**_fields(A), "unavailable": True})
    made = drafts(pair_with(50, 0, []), snapshot(off))
    req = next(d for d in made if isinstance(d, RequisitionDraft))
    assert (req.supplier, req.reason.endswith("fallback B for A: unavailable")) == ("B", True)


# --- the rule format -------------------------------------------------------------------------

HEAD = """
ruleset: x
roles: [{id: buyer, name: Buyer, members: [alice], channels: [email]}]
rules:
  - id: r
    name: R
    when: {"<": [{"var": "stock.available"}, 1]}
    owner: buyer
    actions:
"""


@pytest.mark.parametrize(("action", "path", "words"), [
    ("{supplier: preferred, fallback: preferred}", "fallback", "the same as 'supplier'"),
    ("{fallback_after_late_days: 3}", "fallback_after_late_days", "without 'fallback'"),
    ("{fallback: bakup}", "fallback", "did you mean 'backup'"),
])
def test_a_bad_fallback_is_located(action: str, path: str, words: str) -> None:
    parsed = parse_source(HEAD + f"      - create_requisition: {action}\n")
    _, problems = validate_document(parsed.data, parsed.raw_booleans)
    assert problems, action
    assert any(path in str(p) and words in str(p) for p in problems), problems


def test_a_fallback_policy_loads() -> None:
    ruleset = load_ruleset(HEAD.replace("actions:\n", "actions:\n      - create_requisition: "
                                        "{supplier: preferred, fallback: backup, "
                                        "fallback_after_late_days: 5}\n"))
    action = ruleset.rules[0].actions[0]
    assert (action.supplier, action.fallback, action.fallback_after_late_days) == (
        "preferred", "backup", 5)


def test_order_facts_name_the_first_arrival_and_the_largest_delay() -> None:
    from engine.supply import order_facts
    orders = [OpenOrder(5, T0 + timedelta(days=9), "A", delay_days=4),
              OpenOrder(7, T0 + timedelta(days=2), "B"), OpenOrder(1, None)]
    assert order_facts(orders) == {"eta": (T0 + timedelta(days=2)).isoformat(), "supplier": "B",
                                   "delay_days": 4}
    assert order_facts([OpenOrder(1, None)]) == {}
