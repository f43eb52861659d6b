"""The whole-catalogue evaluation answers exactly what the per-event evaluation answers: a
property test over random stock, demand windows, groups (with calendars and fill rates) and
conditions, with no database (the snapshot is built in memory)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.evaluation import truthy
from engine.fact_columns import PairRow, window_columns, window_stats
from engine.metrics import DemandWindow, SupplierLink
from engine.rules.loader import build
from engine.rules.schema import validate_document
from engine.services.engine_cache import Snapshot
from engine.services.what_if import Makers, build_rows, evaluate_rows, exact_facts
from engine.stock import StockLevel

NOW = datetime(2026, 11, 5, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, a week before 双11
TODAY = date(2026, 11, 5)

NUM_FACTS = ["stock.available", "stock.on_hand", "stock.inventory_position", "stock.on_order",
             "metrics.reorder_point", "metrics.safety_stock", "metrics.max_stock",
             "metrics.avg_daily_demand", "metrics.demand_std", "forecast.lead_time_demand",
             "forecast.daily", "sku.unit_cost", "params.service_level", "params.limit",
             "stock.total_available", "calendar.demand_multiplier"]
NULLABLE = ["metrics.days_of_cover", "metrics.days_since_last_sale", "supplier.lead_time_days",
            "calendar.days_to_next_period", "sku.attributes.size"]

quantities = st.one_of(st.integers(0, 40), st.sampled_from([0.5, 1.25, 2.5, 7.75]))


def number_expr() -> st.SearchStrategy[Any]:
    leaf = st.one_of(
        st.sampled_from(NUM_FACTS).map(lambda p: {"var": p}),
        st.tuples(st.sampled_from(NULLABLE), st.integers(0, 50)).map(
            lambda t: {"var": [t[0], t[1]]}),
        st.sampled_from(NULLABLE).map(lambda p: {"var": p}),
        st.integers(-5, 60),
        st.sampled_from([0.5, 1.5, 2.25]),
    )
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(st.sampled_from(["+", "-", "*", "/", "min", "max"]), inner, inner).map(
            lambda t: {t[0]: [t[1], t[2]]}),
    ), max_leaves=4)


def condition() -> st.SearchStrategy[Any]:
    comparison = st.tuples(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), number_expr(),
                           number_expr()).map(lambda t: {t[0]: [t[1], t[2]]})
    text = st.one_of(
        st.sampled_from(["A", "B", "C"]).map(
            lambda c: {"==": [{"var": ["sku.abc_class", ""]}, c]}),
        st.just({"in": ["seasonal", {"var": "sku.tags"}]}),
        st.just({"var": "calendar.promotion"}),
        st.just({"==": [{"var": "forecast.method"}, "mean"]}),
        st.just({"<": [{"var": "sku.code"}, "S5"]}),  # order on text: evaluated pair by pair
    )
    base = st.one_of(comparison, comparison, text)
    return st.recursive(base, lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: {"and": xs}),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: {"or": xs}),
        inner.map(lambda x: {"!": x}),
    ), max_leaves=4)


def window() -> st.SearchStrategy[Any]:
    stored = st.tuples(st.integers(0, 60), st.lists(quantities, min_size=1, max_size=60)).map(
        lambda t: DemandWindow.from_dict({
            "start": (TODAY - timedelta(t[0])).isoformat(), "qty": t[1],
            "last": (TODAY - timedelta(t[0])).isoformat()}).to_dict())
    # as a PostgreSQL driver gives it (decoded) or SQLite (the JSON text), or packed
    return st.one_of(st.none(), stored, stored.map(json.dumps),
                     stored.map(lambda w: DemandWindow.from_dict(w).to_packed()))


def packed_window(days: int) -> st.SearchStrategy[bytes]:
    """Packed windows all of ``days`` days (read as one matrix), maybe never sold."""
    return st.tuples(st.integers(0, 60), st.lists(quantities, min_size=days, max_size=days),
                     st.booleans()).map(lambda t: DemandWindow.from_dict({
                         "start": (TODAY - timedelta(t[0])).isoformat(), "qty": t[1],
                         "last": (TODAY - timedelta(t[0])).isoformat() if t[2] else None,
                     }).to_packed())


pair = st.tuples(st.integers(0, 4), st.integers(0, 1), quantities, quantities, quantities,
                 window(), st.sampled_from([(), ("a",), ("b",), ("a", "b")]))


def ruleset(when: Any, fill_rate: float | None) -> Any:
    b_params: dict[str, Any] = {"limit": 5}
    if fill_rate is not None:
        b_params["fill_rate"] = fill_rate
    # conditions the validator would refuse (a nullable fact without a default) still run:
    # the schema's data compiled without the static check
    data = {
        "ruleset": "t",
        "settings": {"timezone": "Asia/Shanghai", "service_level": 0.95},
        "sku_groups": [{"id": "a", "params": {"service_level": 0.98, "limit": 10}},
                       {"id": "b", "params": b_params}],
        "calendars": [{"id": "d11", "name": "双11", "from": "2026-11-08", "to": "2026-11-11",
                       "groups": ["b"], "demand_multiplier": 3},
                      {"id": "cny", "kind": "closure", "from": "2026-11-07", "to": "2026-11-09",
                       "groups": ["a"], "lead_time_change_days": 4}],
        "rules": [{"id": "r", "when": when}],
    }
    doc, problems = validate_document(data)
    assert not problems
    return build(doc, data)


def snapshot() -> Snapshot:
    skus = {i + 1: {"code": f"S{i}", "name": f"s{i}", "abc_class": "ABC"[i % 3],
                    "tags": ["seasonal"] if i % 2 else [], "unit_cost": 1.5 * i,
                    **({"attributes": {"size": i}} if i % 3 else {})}
            for i in range(5)}
    links = {1: (SupplierLink("SUP", lead_time_days=5.0, lead_time_std_days=1.5,
                              preferred=True),),
             2: (SupplierLink("SUP2", lead_time_days=12.0),)}
    return Snapshot(key=(1, 1), ruleset=None, sku_ids={v["code"]: k for k, v in skus.items()},
                    sku_facts=skus, warehouse_ids={"W1": 1, "W2": 2},
                    warehouse_facts={1: {"code": "W1", "name": "w1"},
                                     2: {"code": "W2", "name": "w2", "region": "east"}},
                    links=links, supplier_ids={}, supplier_contacts={})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(when=condition(), pairs=st.lists(pair, min_size=1, max_size=12,
                                        unique_by=lambda p: (p[0], p[1])),
       fill_rate=st.one_of(st.none(), st.sampled_from([0.9, 0.98])))
def test_the_whole_catalogue_answer_is_the_per_event_answer(when: Any, pairs: list[Any],
                                                            fill_rate: float | None) -> None:
    compiled = ruleset(when, fill_rate)
    snap = snapshot()
    makers = Makers(snap, compiled, {})
    rows = [PairRow(s + 1, w + 1, StockLevel(on_hand, reserved, on_order, 0.0), win, groups)
            for s, w, on_hand, reserved, on_order, win, groups in pairs]
    totals: dict[int, float] = {}
    for r in rows:
        totals[r.sku_id] = totals.get(r.sku_id, 0.0) + r.level.available
    rule = compiled.rule("r")
    answer = evaluate_rows(rule, rows, makers, NOW, "preview", totals)
    for i, row in enumerate(rows):
        facts = exact_facts(makers, row, NOW, "preview", totals)
        try:
            expected = truthy(rule.condition(facts))
        except Exception:
            expected = False
            assert i in answer.errors
        assert bool(answer.hits[i]) == expected, (when, row, facts)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(when=condition(), data=st.data(), days=st.sampled_from([1, 7, 28, 40]),
       fill_rate=st.one_of(st.none(), st.sampled_from([0.9, 0.98])))
def test_stock_levels_read_as_columns_answer_as_each_event(when: Any, data: Any, days: int,
                                                           fill_rate: float | None) -> None:
    # the rows as read (read_pairs' tuples, with an unknown SKU and warehouse), windows packed
    # with one length: build_rows' columns and the matrix sums against each pair's own facts
    levels = data.draw(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 2), quantities,
                                          quantities, quantities, quantities,
                                          st.one_of(packed_window(days), st.none())),
                                min_size=1, max_size=14, unique_by=lambda p: (p[0], p[1])))
    pairs = [(s + 1, w + 1, *rest) for s, w, *rest in levels]
    compiled = ruleset(when, fill_rate)
    snap = snapshot()
    makers = Makers(snap, compiled, {})
    rows, totals = build_rows(pairs, snap, compiled)
    known = [p for p in pairs if p[0] in snap.sku_facts and p[1] in snap.warehouse_facts]
    assert len(rows) == len(known)
    assert [(r.sku_id, r.wh_id) for r in rows] == sorted(
        [(p[0], p[1]) for p in known], key=lambda k: (snap.sku_facts[k[0]]["code"],
                                                      snap.warehouse_facts[k[1]]["code"]))
    expected_totals: dict[int, float] = {}
    for p in pairs:
        expected_totals[p[0]] = expected_totals.get(p[0], 0.0) + StockLevel(*p[2:6]).available
    assert totals == expected_totals
    rule = compiled.rule("r")
    answer = evaluate_rows(rule, rows, makers, NOW, "preview", totals)
    for i, row in enumerate(rows):
        facts = exact_facts(makers, row, NOW, "preview", totals)
        try:
            expected = truthy(rule.condition(facts))
        except Exception:
            expected = False
            assert i in answer.errors
        assert bool(answer.hits[i]) == expected, (when, row, facts)


def test_window_stats_are_the_demand_window_s() -> None:
    stored = DemandWindow.from_dict({"start": "2026-10-01", "qty": [1, 0, 2.5, 0, 7] * 8,
                                     "last": "2026-11-09"})
    for days in (7, 28, 60):
        mean, std, last = window_stats(stored.to_dict(), TODAY, days)
        assert (mean, std) == tuple(stored.stats(TODAY, days))
        assert last == date(2026, 11, 9).toordinal()


def test_a_condition_on_a_fact_the_columns_lack_is_evaluated_pair_by_pair() -> None:
    compiled = ruleset({"==": [{"cat": ["a", {"var": "sku.code"}]}, "aS0"]}, None)
    rows = [PairRow(1, 1, StockLevel(3, 0, 0, 0), None, ())]
    answer = evaluate_rows(compiled.rule("r"), rows, Makers(snapshot(), compiled, {}), NOW)
    assert not answer.vectorised and answer.one_by_one == 1 and answer.hits[0]


def test_stored_texts_are_read_at_once_as_each_would_be() -> None:
    windows = [json.dumps(DemandWindow.from_dict({"start": "2026-10-20", "qty": q,
                                                  "last": "2026-11-04"}).to_dict())
               for q in ([3, 0, 5] * 6, [0.25, 1, 2.5] * 9, [0] * 4, [7])]
    windows.append(json.dumps({"start": None, "qty": [], "last": None}))
    mean, std, last = window_columns(windows, TODAY, np.array([28, 7, 28, 28, 28]))
    for i, w in enumerate(windows):
        expected = window_stats(w, TODAY, [28, 7, 28, 28, 28][i])
        assert (mean[i], std[i]) == expected[:2]
        assert last[i] == (expected[2] if expected[2] is not None else -1)


@given(data=st.data(), days=st.sampled_from([1, 7, 28, 40]))
def test_packed_windows_of_one_length_are_summed_as_each_would_be(data: Any, days: int) -> None:
    windows = data.draw(st.lists(st.one_of(packed_window(days), st.none()), min_size=1,
                                 max_size=8))
    wanted = data.draw(st.lists(st.sampled_from([1, 7, 28, 60]), min_size=len(windows),
                                max_size=len(windows)))
    mean, std, last = window_columns(windows, TODAY, np.array(wanted))
    for i, w in enumerate(windows):
        expected = window_stats(w, TODAY, wanted[i])
        assert (mean[i], std[i]) == expected[:2]
        assert last[i] == (expected[2] if expected[2] is not None else -1)


@given(data=st.data(), form=st.sampled_from(["packed", "text", "decoded"]))
def test_windows_of_several_lengths_are_summed_as_each_would_be(data: Any, form: str) -> None:
    # windows ending before the days asked for, fractions, empty ones: one reduceat for all
    stored = data.draw(st.lists(st.tuples(st.integers(0, 60),
                                          st.lists(quantities, min_size=1, max_size=40)),
                                min_size=1, max_size=8))
    windows: list[Any] = []
    for ago, qty in stored:
        w = DemandWindow.from_dict({"start": (TODAY - timedelta(ago)).isoformat(), "qty": qty,
                                    "last": (TODAY - timedelta(ago)).isoformat()})
        windows.append(w.to_packed() if form == "packed" else
                       json.dumps(w.to_dict()) if form == "text" else w.to_dict())
    wanted = data.draw(st.lists(st.sampled_from([1, 7, 28]), min_size=len(windows),
                                max_size=len(windows)))
    mean, std, last = window_columns(windows, TODAY, np.array(wanted))
    for i, w in enumerate(windows):
        expected = window_stats(w, TODAY, wanted[i])
        assert (mean[i], std[i]) == expected[:2], (w, wanted[i])
        assert last[i] == (expected[2] if expected[2] is not None else -1)
