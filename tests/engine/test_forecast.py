"""Forecasts and fill-rate targets, checked against figures worked out by hand (issue #16)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from engine.calendars import CalendarView
from engine.facts import FactMaker
from engine.forecast import Model, fit
from engine.metrics import (
    Z_MAX,
    DemandWindow,
    SupplierLink,
    fill_rate_of,
    normal_loss,
    z_for,
    z_for_fill_rate,
)
from engine.rules.compiled import Calendar
from engine.stock import StockEvent, StockLevel

DAY = date(2026, 11, 1)  # a Sunday


def test_the_normal_loss_function_matches_the_tables() -> None:
    assert normal_loss(0) == pytest.approx(0.39894, abs=1e-5)  # φ(0)
    assert normal_loss(1) == pytest.approx(0.08332, abs=1e-5)
    assert normal_loss(2) == pytest.approx(0.008491, abs=1e-6)


def test_the_safety_factor_of_a_fill_rate() -> None:
    # (1 − 0.98)·100/20 = 0.1; the tables give L(0.90) = 0.1004 and L(0.91) = 0.0986
    z = z_for_fill_rate(0.98, cycle_demand=100, sigma=20)
    assert 0.90 < z < 0.91 and z == pytest.approx(0.9023, abs=5e-4)
    assert fill_rate_of(z, 100, 20) == pytest.approx(0.98, abs=1e-6)
    # a large order cycle needs no safety stock for the same fill rate; nothing varies: none
    assert z_for_fill_rate(0.98, cycle_demand=10_000, sigma=20) == 0.0
    assert z_for_fill_rate(0.98, cycle_demand=100, sigma=0) == 0.0
    with pytest.raises(ValueError):
        z_for_fill_rate(1.0, 100, 20)


def test_the_window_mean_is_the_spec_s_demand_statistics() -> None:
    y = np.arange(1.0, 29.0)[None, :]
    [model] = fit(y, DAY, "mean", window_days=28)
    assert model.level == 14.5 and model.error_std == pytest.approx(math.sqrt(65.25))
    assert model.predict(DAY + timedelta(30)) == 14.5


def test_exponential_smoothing_by_hand() -> None:
    [model] = fit(np.array([[10.0, 20.0, 30.0]]), DAY, "ses", alpha=0.5)
    # l = 10 → 0.5·20 + 0.5·10 = 15 → 0.5·30 + 0.5·15 = 22.5; errors 20 − 10, 30 − 15
    assert model.level == 22.5 and model.trend == 0
    assert model.error_std == pytest.approx(math.sqrt((100 + 225) / 2))


def test_holt_s_trend_by_hand() -> None:
    [model] = fit(np.array([[np.nan, 10.0, 20.0, 30.0]]), DAY, "holt", alpha=0.5, beta=0.5)
    # l 10, b 0 → l 15, b 2.5 → l 0.5·30 + 0.5·17.5 = 23.75, b 0.5·8.75 + 0.5·2.5 = 5.625
    assert (model.level, model.trend) == (23.75, 5.625)
    assert model.predict(DAY + timedelta(2)) == 23.75 + 2 * 5.625


def test_the_weekday_profile_forecasts_mondays_apart() -> None:
    first = DAY - timedelta(55)
    y = np.array([[20.0 if (first + timedelta(t)).weekday() == 0 else 10.0 for t in range(56)]])
    [model] = fit(y, DAY, "seasonal")
    assert model.method == "weekday" and model.yearly is None  # less than a year: no index
    monday = DAY + timedelta(1)
    assert model.predict(monday) == pytest.approx(20.0)
    assert model.predict(monday + timedelta(1)) == pytest.approx(10.0)
    assert model.error_std == pytest.approx(0.0, abs=1e-9)


def test_the_yearly_index_forecasts_the_season() -> None:
    last = date(2026, 12, 31)
    first = last - timedelta(729)
    y = np.array([[10.0 if (first + timedelta(t)).month <= 6 else 20.0 for t in range(730)]])
    [model] = fit(y, last, "seasonal")
    assert model.method == "seasonal"
    assert model.predict(date(2027, 1, 15)) == pytest.approx(10.0, rel=1e-3)
    assert model.predict(date(2027, 7, 15)) == pytest.approx(20.0, rel=1e-3)


def test_too_little_history_falls_back_to_the_mean() -> None:
    [model] = fit(np.array([[np.nan] * 20 + [5.0] * 10]), DAY, "seasonal", window_days=10)
    assert model.method == "mean" and model.level == 5.0


def test_a_model_survives_storage() -> None:
    model = Model("seasonal", DAY, 3.5, 0.1, (1.0,) * 7, (1.2,) * 12, 0.7)
    assert Model.from_dict(model.to_dict()) == model


def _maker(calendars: tuple[Calendar, ...] = (), sigma_lt: float = 0.0, **params: object) -> FactMaker:
    link = SupplierLink("S", lead_time_days=5.0, lead_time_std_days=sigma_lt, preferred=True)
    view = CalendarView(calendars, ("g",))
    return FactMaker((link,), {"review_period_days": 7, "service_level": 0.95, **params},
                     ZoneInfo("Asia/Shanghai"), calendar=view if view else None)


def _facts(maker: FactMaker) -> dict:
    window = DemandWindow()
    for n in range(28):
        window.add(DAY - timedelta(n), 10)
    event = StockEvent(id="e", type="sale", sku="A", warehouse="W",
                       at=datetime(2026, 11, 1, 4, tzinfo=UTC))
    return maker.facts(event, {"code": "A"}, {"code": "W"}, StockLevel(100), window)


PROMO = Calendar("d11", "双11", "promotion", DAY + timedelta(2), DAY + timedelta(3), ("g",), 3.0)


def test_a_promotion_inside_the_lead_time_raises_the_reorder_point_before_it_starts() -> None:
    facts = _facts(_maker((PROMO,)))
    # tomorrow 10, then two promotion days at 3 × 10, then 10, 10: 90 over the 5-day lead time
    assert facts["forecast"]["lead_time_demand"] == 90
    assert facts["metrics"]["reorder_point"] == 90  # σd = 0, σLT = 0: no safety stock
    assert facts["metrics"]["max_stock"] == 90 + 70  # the 7 review days after it, all plain
    assert facts["calendar"]["promotion"] is False and facts["calendar"]["next_period"] == "d11"
    assert facts["calendar"]["days_to_next_period"] == 2
    plain = _facts(_maker())
    assert plain["metrics"]["reorder_point"] == 50 and plain["forecast"]["method"] == "mean"


def test_lead_time_deviation_over_a_promotion() -> None:
    facts = _facts(_maker((PROMO,), sigma_lt=1.0))
    # σ = √(LT·σe² + (LTD/LT)²·σLT²) = √(5·0 + 18²·1) = 18; z(0.95) = 1.6449
    assert facts["metrics"]["safety_stock"] == pytest.approx(z_for(0.95) * 18)
    assert facts["metrics"]["reorder_point"] == pytest.approx(90 + z_for(0.95) * 18)


def test_a_closure_lengthens_the_lead_time() -> None:
    closure = Calendar("cny", "春节", "closure", DAY + timedelta(3), DAY + timedelta(9), (), 1.0,
                       lead_time_change=10)
    facts = _facts(_maker((closure,)))
    assert facts["metrics"]["lead_time_days"] == 15
    assert facts["forecast"]["lead_time_demand"] == 150


def test_a_fill_rate_target_sets_the_safety_factor() -> None:
    facts = _facts(_maker(sigma_lt=1.0, fill_rate=0.98))
    sigma = 10.0  # √(5·0 + 10²·1²)
    z = z_for_fill_rate(0.98, 70.0, sigma)  # Q: the review period's 70 units
    assert facts["forecast"]["safety_factor"] == z
    assert facts["metrics"]["safety_stock"] == pytest.approx(z * sigma)


def test_a_fill_rate_the_order_cycle_alone_serves_asks_for_a_negative_safety_factor() -> None:
    # (1 − 0.90)·100/20 = 0.5; L(−0.18) = φ(0.18) + 0.18·Φ(0.18) = 0.39253 + 0.18·0.57142
    # = 0.49539 and L(−0.19) = 0.39181 + 0.19·0.57535 = 0.50113: z ≈ −0.18 − 0.01·0.00461/0.00574 = −0.1880
    z = z_for_fill_rate(0.90, cycle_demand=100, sigma=20, lowest=-Z_MAX)
    assert -0.19 < z < -0.18 and z == pytest.approx(-0.1880, abs=5e-4)
    assert fill_rate_of(z, 100, 20) == pytest.approx(0.90, abs=1e-6)
    # bounded below: by what the caller allows (a reorder point not below 0), and by −Z_MAX
    assert z_for_fill_rate(0.98, cycle_demand=10_000, sigma=20, lowest=-1.5) == -1.5
    assert z_for_fill_rate(0.98, cycle_demand=10_000, sigma=20, lowest=-99) == -Z_MAX
    # positive factors are what they were
    assert z_for_fill_rate(0.98, 100, 20, lowest=-Z_MAX) == z_for_fill_rate(0.98, 100, 20)


def test_the_forecast_metrics_of_a_large_order_cycle_carry_less_than_lead_time_demand() -> None:
    facts = _facts(_maker(sigma_lt=1.0, fill_rate=0.90))
    # σ = 10 as above; (1 − 0.90)·70/10 = 0.7; L(−0.5) = φ(0.5) + 0.5·Φ(0.5) = 0.35207 +
    # 0.5·0.69146 = 0.69780 and L(−0.51) = 0.35029 + 0.51·0.69497 = 0.70473: z ≈ −0.5032
    z = facts["forecast"]["safety_factor"]
    assert -0.51 < z < -0.50 and z == pytest.approx(-0.5032, abs=5e-4)
    assert facts["metrics"]["safety_stock"] == pytest.approx(z * 10)
    assert facts["metrics"]["reorder_point"] == pytest.approx(50 + z * 10)  # below the LTD 50
