"""SPEC §3 metrics against hand-computed numbers; the demand window against brute force."""

from __future__ import annotations

import math
import statistics
import timeit
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.metrics import (
    DemandWindow,
    Metrics,
    SupplierLink,
    abc_classes,
    approval_role,
    choose_supplier,
    compute_metrics,
    days_of_cover,
    days_since,
    eoq,
    order_up_to,
    requisition_quantity,
    round_to_supplier,
    safety_stock,
    z_for,
)
from engine.rules.compiled import ApprovalThreshold, CreateRequisition

TODAY = date(2026, 11, 20)


def days_back(n: int) -> date:
    return TODAY - timedelta(days=n)


# --- demand window --------------------------------------------------------------------------


def test_constant_demand_has_zero_std() -> None:
    window = DemandWindow()
    for n in range(28):
        window.add(days_back(n), 10)
    assert window.stats(TODAY, 28) == (10.0, 0.0)


def test_days_without_sales_count_as_zero() -> None:
    window = DemandWindow()
    window.add(days_back(0), 28)
    mean, std = window.stats(TODAY, 28)
    assert mean == 1.0
    assert std == pytest.approx(statistics.pstdev([28] + [0] * 27))


def test_std_is_the_population_std() -> None:
    window = DemandWindow()
    for n, qty in enumerate([2, 4, 4, 4, 5, 5, 7, 9]):
        window.add(days_back(n), qty)
    assert window.stats(TODAY, 8) == (5.0, 2.0)


def test_window_excludes_days_before_it_and_after_today() -> None:
    window = DemandWindow()
    window.add(days_back(28), 100)  # one day too old for a 28-day window
    window.add(TODAY + timedelta(days=1), 100)  # tomorrow
    window.add(days_back(27), 28)
    assert window.stats(TODAY, 28).mean == 1.0


def test_demand_leaving_the_window_gives_exactly_zero() -> None:
    window = DemandWindow()
    window.add(TODAY, 0.1)
    window.add(TODAY, 0.2)
    assert window.stats(TODAY, 7).mean > 0
    assert window.stats(TODAY + timedelta(days=7), 7) == (0.0, 0.0)


def test_last_demand_day_ignores_late_older_events() -> None:
    window = DemandWindow()
    assert window.last_demand_day is None
    window.add(days_back(1), 3)
    window.add(days_back(5), 3)
    assert window.last_demand_day == days_back(1)


def test_a_look_into_the_past_does_not_disturb_the_running_window() -> None:
    window = DemandWindow()
    window.add(days_back(10), 7)
    window.add(TODAY, 7)
    assert window.stats(TODAY, 3).mean == pytest.approx(7 / 3)
    assert window.stats(days_back(10), 3).mean == pytest.approx(7 / 3)
    window.add(TODAY, 2)
    assert window.stats(TODAY, 3).mean == pytest.approx(3.0)


def test_round_trips_through_a_compact_dict() -> None:
    window = DemandWindow()
    window.add(days_back(3), 5)
    window.add(days_back(1), 2.5)
    data = window.to_dict()
    assert data == {"start": "2026-11-17", "qty": [5, 0, 2.5], "last": "2026-11-19"}
    again = DemandWindow.from_dict(data)
    assert again.stats(TODAY, 28) == window.stats(TODAY, 28)
    assert again.last_demand_day == days_back(1)
    assert DemandWindow.from_dict(DemandWindow().to_dict()).stats(TODAY, 7) == (0.0, 0.0)


def test_old_days_are_pruned_but_the_window_stays_right() -> None:
    window = DemandWindow(keep_days=30)
    for n in range(400):
        window.add(TODAY - timedelta(days=400 - n), 1)
        window.stats(TODAY - timedelta(days=400 - n), 28)
    assert len(window.to_dict()["qty"]) <= 30 + 33
    assert window.stats(TODAY, 28) == pytest.approx((27 / 28, statistics.pstdev([1] * 27 + [0])))


def brute_force(history: dict[date, float], today: date, size: int) -> tuple[float, float]:
    values = [history.get(today - timedelta(days=i), 0.0) for i in range(size)]
    return statistics.fmean(values), statistics.pstdev(values)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 3),  # days the clock moves forward before this event
            st.integers(-5, 2),  # event day relative to the clock (late or early events)
            st.one_of(st.integers(0, 50), st.floats(0, 50, allow_nan=False)),
        ),
        max_size=60,
    ),
    size=st.integers(1, 10),
)
def test_incremental_window_equals_brute_force(
    steps: list[tuple[int, int, float]], size: int
) -> None:
    window = DemandWindow(keep_days=12)
    history: dict[date, float] = {}
    clock = TODAY
    for advance, offset, qty in steps:
        clock += timedelta(days=advance)
        day = clock + timedelta(days=offset)
        window.add(day, qty)
        history[day] = history.get(day, 0.0) + qty
        mean, std = window.stats(clock, size)
        want_mean, want_std = brute_force(history, clock, size)
        assert mean == pytest.approx(want_mean, abs=1e-9)
        assert std == pytest.approx(want_std, abs=1e-6)


def test_update_and_stats_are_cheap() -> None:
    window = DemandWindow()
    for n in range(28):
        window.add(days_back(n), 3)

    def one_event() -> None:
        window.add(TODAY, 1)
        window.stats(TODAY, 28)

    per_call = min(timeit.repeat(one_event, number=2000, repeat=5)) / 2000
    assert per_call < 20e-6  # ~1–2 µs on a laptop; generous for CI noise


# --- formulas -------------------------------------------------------------------------------


def test_z_for_known_service_levels() -> None:
    assert z_for(0.95) == pytest.approx(1.6449, abs=1e-4)
    assert z_for(0.5) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        z_for(1.0)


def test_safety_stock_known_case() -> None:
    ss = safety_stock(z_for(0.95), lead_time=5, d=10, sigma_d=3, sigma_lt=1)
    assert ss == pytest.approx(1.644854 * math.sqrt(145), rel=1e-6)
    assert ss == pytest.approx(19.807, abs=1e-3)


def test_known_case_metrics() -> None:
    m = compute_metrics(
        (10, 3),
        available=50,
        service_level=0.95,
        review_period_days=7,
        lead_time_days=5,
        lead_time_std=1,
    )
    assert m.safety_stock == pytest.approx(19.807, abs=1e-3)
    assert m.reorder_point == pytest.approx(69.807, abs=1e-3)
    assert m.max_stock == pytest.approx(139.807, abs=1e-3)
    assert m.days_of_cover == 5.0


def test_constant_demand_gets_safety_stock_from_lead_time_variance_only() -> None:
    m = compute_metrics(
        (10, 0),
        available=0,
        service_level=0.95,
        review_period_days=7,
        lead_time_days=5,
        lead_time_std=2,
    )
    assert m.safety_stock == pytest.approx(z_for(0.95) * 10 * 2)


def test_no_supplier_lead_time_uses_the_default_with_no_variance() -> None:
    m = compute_metrics(
        (4, 1),
        available=8,
        service_level=0.95,
        review_period_days=7,
        lead_time_std=3,
        default_lead_time_days=9,
    )
    assert (m.lead_time_days, m.lead_time_std) == (9, 0.0)
    assert m.safety_stock == pytest.approx(z_for(0.95) * 3)


def test_null_metrics_are_left_out_of_the_facts() -> None:
    m = compute_metrics((0, 0), available=5, service_level=0.9, review_period_days=7)
    assert m.days_of_cover is None
    facts = m.as_facts()
    assert "days_of_cover" not in facts and "days_since_last_sale" not in facts
    assert facts["reorder_point"] == 0.0


def test_days_of_cover_and_days_since() -> None:
    assert days_of_cover(30, 0) is None
    assert days_of_cover(30, 4) == 7.5
    assert days_since(None, TODAY) is None
    assert days_since(days_back(3), TODAY) == 3
    assert days_since(TODAY + timedelta(days=1), TODAY) == 0


def test_eoq() -> None:
    assert eoq(1000, 50, 2.5) == pytest.approx(200.0)
    assert eoq(0, 50, 2.5) == 0.0
    assert eoq(1000, 50, 0) == 0.0


# --- ABC ------------------------------------------------------------------------------------


def test_abc_on_ten_skus() -> None:
    revenue = {
        "S01": 500,
        "S02": 200,
        "S03": 100,
        "S04": 60,
        "S05": 50,
        "S06": 40,
        "S07": 25,
        "S08": 15,
        "S09": 10,
        "S10": 0,
    }  # total 1000; cumulative before each: 0, 50, 70, 80, 86, 91, 95, 97.5, 99, —
    assert abc_classes(revenue) == {
        "S01": "A",
        "S02": "A",
        "S03": "A",  # S03 crosses 80 % and stays A
        "S04": "B",
        "S05": "B",
        "S06": "B",
        "S07": "C",
        "S08": "C",
        "S09": "C",
        "S10": "C",
    }


def test_abc_ties_are_ordered_by_code_and_nothing_sold_is_c() -> None:
    assert abc_classes({"B": 50, "A": 50}) == {"A": "A", "B": "A"}
    assert abc_classes({"Y": 10, "X": 10, "Z": 10, "W": 10, "V": 10}) == {
        "V": "A",
        "W": "A",
        "X": "A",
        "Y": "A",
        "Z": "B",
    }
    assert abc_classes({"A": 0, "B": -5}) == {"A": "C", "B": "C"}
    assert abc_classes({}) == {}


# --- requisition quantities, suppliers, approval --------------------------------------------


@pytest.mark.parametrize(
    ("qty", "moq", "pack", "expected"),
    [
        (0, 10, 6, 0),
        (-4, 10, 6, 0),
        (3, 10, 6, 12),  # up to the MOQ, then to whole packs
        (10, 10, 1, 10),
        (13, 10, 6, 18),
        (24, None, 12, 24),
        (25, None, 12, 36),
        (0.3, None, 0.1, 0.3),  # no extra pack from float error
        (2.2, 0, 1, 3),
        (7.5, None, None, 7.5),
    ],
)
def test_round_to_supplier(
    qty: float, moq: float | None, pack: float | None, expected: float
) -> None:
    assert round_to_supplier(qty, moq, pack) == pytest.approx(expected)


LINKS = [
    SupplierLink("S1", lead_time_days=10, price=5.0, moq=10, pack_size=6),
    SupplierLink("S2", lead_time_days=3, price=7.0, preferred=True),
    SupplierLink("S3", lead_time_days=3, price=4.0, backup=True),
    SupplierLink("S4", price=None),
]


@pytest.mark.parametrize(
    ("choice", "code"),
    [("preferred", "S2"), ("backup", "S3"), ("fastest", "S2"), ("cheapest", "S3"), ("S4", "S4")],
)
def test_choose_supplier(choice: str, code: str) -> None:
    chosen = choose_supplier(choice, LINKS)
    assert chosen is not None and chosen.code == code


def test_choose_supplier_fallbacks() -> None:
    plain = [SupplierLink("S1"), SupplierLink("S2")]
    assert choose_supplier("preferred", plain) == plain[0]
    assert choose_supplier("backup", plain) is None
    assert choose_supplier("fastest", plain) is None
    assert choose_supplier("nope", plain) is None
    assert choose_supplier("preferred", []) is None


def metrics(max_stock: float = 139.807, d: float = 10) -> Metrics:
    return Metrics(d, 3, 5, 1, 19.807, 69.807, max_stock, 0.3, 1)


FACTS = {
    "stock": {"inventory_position": 40},
    "sku": {"unit_cost": 4.0},
    "params": {"ordering_cost": 50.0, "holding_cost_rate": 0.25},
}


def test_order_up_to_rounds_to_the_supplier() -> None:
    assert order_up_to(100, 120) == 0
    q = requisition_quantity(CreateRequisition("order_up_to"), FACTS, metrics(), LINKS[0])
    assert q.raw == pytest.approx(99.807)
    assert q.quantity == 102  # 17 packs of 6
    assert q.reason is None


def test_without_a_supplier_the_quantity_is_whole_units() -> None:
    q = requisition_quantity(CreateRequisition("order_up_to"), FACTS, metrics(), None)
    assert q.quantity == 100


def test_nothing_to_order_says_why() -> None:
    q = requisition_quantity(CreateRequisition("order_up_to"), FACTS, metrics(max_stock=30), None)
    assert q.quantity == 0 and q.reason


def test_eoq_policy_uses_the_supplier_price_else_the_unit_cost() -> None:
    policy = CreateRequisition("eoq")
    # D = 3650/yr, S = 50, H = 0.25 × 4 = 1 → √365000 = 604.15 → 605
    assert requisition_quantity(policy, FACTS, metrics(), None).quantity == 605
    # price 5 → H = 1.25 → √292000 = 540.37 → 541 → 546 in packs of 6
    assert requisition_quantity(policy, FACTS, metrics(), LINKS[0]).quantity == 546
    no_cost = {**FACTS, "sku": {"unit_cost": 0}}
    q = requisition_quantity(policy, no_cost, metrics(), None)
    assert q.quantity == 0 and "unit cost" in (q.reason or "")


def test_fixed_policy() -> None:
    assert requisition_quantity(
        CreateRequisition("fixed", fixed=25), FACTS, metrics(), LINKS[0]
    ) == (30, 25, None)


@pytest.mark.parametrize(
    ("result", "expected"),
    [(42, 42), (12.5, 13), ("12", 0), (None, 0), (float("nan"), 0), (float("inf"), 0), (True, 0)],
)
def test_expression_policy(result: object, expected: float) -> None:
    policy = CreateRequisition("expression", expression={}, quantity_fn=lambda facts: result)
    q = requisition_quantity(policy, FACTS, metrics(), None)
    assert q.quantity == expected
    assert (q.reason is None) == (expected > 0)


def test_expression_sees_the_facts() -> None:
    policy = CreateRequisition(
        "expression", quantity_fn=lambda facts: facts["stock"]["inventory_position"] * 2
    )
    assert requisition_quantity(policy, FACTS, metrics(), None).quantity == 80


THRESHOLDS = (ApprovalThreshold(10_000, "purchasing-manager"), ApprovalThreshold(50_000, "cfo"))


@pytest.mark.parametrize(
    ("amount", "role"),
    [
        (0, None),
        (10_000, None),
        (10_000.01, "purchasing-manager"),
        (50_000, "purchasing-manager"),
        (80_000, "cfo"),
    ],
)
def test_approval_role(amount: float, role: str | None) -> None:
    assert approval_role(amount, THRESHOLDS) == role
    assert approval_role(amount, tuple(reversed(THRESHOLDS))) == role


def test_no_thresholds_means_no_approval() -> None:
    assert approval_role(1e9, ()) is None
