"""The facts of an event (SPEC §3): ``FactMaker`` against the formulas of ``engine.metrics``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.facts import FACT_KINDS, FactInputs, FactMaker, build_facts
from engine.metrics import DemandWindow, Metrics, SupplierLink, compute_metrics
from engine.stock import StockEvent, StockLevel

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SKU = {"code": "S1", "tags": ["cold"]}
WH = {"code": "W1", "region": "east"}


def _event(at: datetime = AT) -> StockEvent:
    return StockEvent("E1", "sale", "S1", "W1", at, 2.0, None)


@settings(max_examples=200, deadline=None)
@given(
    sales=st.lists(st.tuples(st.integers(0, 40), st.integers(1, 30)), max_size=25),
    lead=st.one_of(st.none(), st.floats(0.5, 30)), lead_std=st.floats(0, 5),
    service=st.sampled_from([0.5, 0.9, 0.95, 0.99]), window=st.sampled_from([7, 28, 56]),
    on_hand=st.integers(-5, 500), reserved=st.integers(0, 20), on_order=st.integers(0, 50),
)
def test_facts_metrics_are_the_spec_formulas(sales: list[tuple[int, int]], lead: float | None,
                                             lead_std: float, service: float, window: int,
                                             on_hand: int, reserved: int, on_order: int) -> None:
    demand = DemandWindow()
    for days_ago, qty in sales:
        demand.add(AT.date() - timedelta(days=days_ago), float(qty))
    links = (SupplierLink("SUP", lead, lead_std, 2.0, True, False, 10, 5),)
    params = {"service_level": service, "demand_window_days": window, "review_period_days": 5,
              "default_lead_time_days": 9}
    level = StockLevel(on_hand=float(on_hand), reserved=float(reserved),
                       on_order_erp=float(on_order))
    maker = FactMaker(links, params, UTC)
    facts = maker.facts(_event(), SKU, WH, level, demand)
    facts_again = maker.facts(_event(), SKU, WH, level, demand)  # a maker is reused: same answer
    last = demand.last_demand_day
    expected = compute_metrics(
        demand.stats(AT.date(), window), available=level.available, service_level=service,
        review_period_days=5, lead_time_days=lead, lead_time_std=lead_std,
        default_lead_time_days=9, days_since_last_sale=(AT.date() - last).days if last else None)
    assert facts["metrics"] == expected.as_facts() == facts_again["metrics"]
    assert Metrics.from_facts(facts["metrics"]) == expected
    assert facts["stock"] == {"on_hand": on_hand, "reserved": reserved,
                              "available": on_hand - reserved, "on_order": on_order,
                              "inventory_position": on_hand - reserved + on_order,
                              "total_available": on_hand - reserved}
    assert facts["supplier"]["code"] == "SUP" and facts["params"] is params
    assert_fact_kinds(facts)


def assert_fact_kinds(facts: dict) -> None:  # type: ignore[type-arg]
    """The promise the compiled conditions rely on (FACT_KINDS): always there, of that kind."""
    for (head, name), kind in FACT_KINDS.items():
        value = facts[head][name]
        if kind == "num":
            assert type(value) in (int, float), (head, name, value)
        else:
            assert type(value) is str, (head, name, value)


def test_fact_kinds_hold_without_supplier_demand_or_float_levels() -> None:
    level = StockLevel(on_hand=3, reserved=0, on_order_erp=0)  # ints, as a caller may pass
    facts = FactMaker((), {}, UTC).facts(_event(), SKU, WH, level, DemandWindow())
    assert_fact_kinds(facts)
    assert "days_of_cover" not in facts["metrics"]  # optional facts are not in FACT_KINDS


def test_build_facts_is_the_maker_with_its_metrics() -> None:
    demand = DemandWindow()
    demand.add(date(2026, 11, 19), 4.0)
    level = StockLevel(on_hand=10.0)
    facts, metrics = build_facts(FactInputs(_event(), SKU, WH, level, demand, (), {}, UTC, 30.0))
    assert facts == FactMaker((), {}, UTC).facts(_event(), SKU, WH, level, demand, 30.0)
    assert metrics == Metrics.from_facts(facts["metrics"])
    assert metrics.lead_time_days == 7.0 and metrics.lead_time_std == 0.0  # no supplier: default
    assert facts["stock"]["total_available"] == 30.0 and "supplier" not in facts
    assert facts["calendar"] == {"date": "2026-11-20", "weekday": 5, "month": 11, "promotion": False,
                                 "demand_multiplier": 1.0}


def test_a_bad_service_level_fails_every_evaluation_saying_why() -> None:
    maker = FactMaker((), {"service_level": 1.5}, UTC)
    with pytest.raises(ValueError, match="service level must be between 0 and 1"):
        maker.facts(_event(), SKU, WH, StockLevel(), DemandWindow())
