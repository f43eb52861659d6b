"""``build_many``: several conditions in one function must say exactly what each says alone."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.evaluation import truthy
from engine.rules.jsonlogic import compile
from engine.rules.jsonlogic_compile import build_many, generate_many, hits_of

SUITE = Path(__file__).resolve().parents[2] / "data" / "jsonlogic" / "tests.json"
CASES = [
    pytest.param(*entry, id=f"case-{n}")
    for n, entry in enumerate(e for e in json.loads(SUITE.read_text(encoding="utf-8"))
                              if not isinstance(e, str))
]


def _alone(rules: list[Any], data: Any) -> tuple[list[int], list[int]]:
    hits, errors = [], []
    for i, rule in enumerate(rules):
        try:
            if truthy(compile(rule)(data)):
                hits.append(i)
        except Exception:
            errors.append(i)
    return hits, errors


def _fused(rules: list[Any], data: Any) -> tuple[list[int], list[int]]:
    hits, errors = hits_of(build_many(rules, truthy)(data))
    return hits, [i for i, _ in errors or []]


def _by_data() -> list[Any]:
    """The suite's rules grouped by the data they run on: one fused function per data."""
    groups: dict[str, list[Any]] = defaultdict(list)
    for case in CASES:
        rule, data, _ = case.values
        groups[json.dumps(data, sort_keys=True)].append(rule)
    return [pytest.param(rules, json.loads(d), id=f"data-{n}") for n, (d, rules) in enumerate(groups.items())]


@pytest.mark.parametrize(("rule", "data", "expected"), CASES)
def test_one_condition_fused_is_the_condition(rule: Any, data: Any, expected: Any) -> None:
    assert _fused([rule], data) == _alone([rule], data)


@pytest.mark.parametrize(("rules", "data"), _by_data())
def test_conditions_on_the_same_data_fused(rules: list[Any], data: Any) -> None:
    assert _fused(rules, data) == _alone(rules, data)


FACTS = {
    "stock": {"available": 4.0, "on_hand": 6.0, "reserved": 2.0},
    "metrics": {"reorder_point": 30.0, "avg_daily_demand": 2.5},
    "sku": {"tags": ["fragile", "cold"], "abc_class": "A", "unit_cost": 0},
    "params": {"critical_cover_days": 3},
}


def test_shared_reads_defaults_errors_and_truthiness() -> None:
    rules = [
        {"<": [{"var": "stock.available"}, {"*": [{"var": "metrics.reorder_point"}, 0.2]}]},
        {"<=": [{"var": ["metrics.days_of_cover", 9999]}, 1]},  # default for a missing fact
        {"or": [{"var": "metrics.days_of_cover"}, {"var": "stock.available"}]},  # and/or reuse
        {"/": [1, {"var": "sku.unit_cost"}]},  # raises: reported, the others go on
        {"in": ["cold", {"var": "sku.tags"}]},
        {"var": "sku.tags"},  # a non-empty list: a hit
        {"merge": []},  # an empty list: not a hit
        {"some": [{"var": "sku.tags"}, {"==": [{"var": ""}, "cold"]}]},  # item scope: not shared
        {"var": "stock.available.x"},  # through a number: null
        {"==": [{"var": "sku.abc_class"}, "A"]},
    ]
    hits, errors = hits_of(build_many(rules, truthy)(FACTS))
    assert (hits, [i for i, _ in errors or []]) == _alone(rules, FACTS)
    assert hits == [0, 2, 4, 5, 7, 9]
    assert [type(x).__name__ for _, x in errors or []] == ["ZeroDivisionError"]


def test_no_document_text_in_the_fused_source() -> None:
    source, consts = generate_many([{"==": [{"var": "sku.name"}, "x'); import os; ('"]}])
    assert "import" not in source and "sku" not in source
    assert "x'); import os; ('" in consts


# --- fused arithmetic and comparisons on facts of any type ---------------------------------------
# The fused function tests once per call whether each fact is a plain number and reuses that
# test in every comparison and arithmetic; with facts that are null, text, booleans or numbers
# (and defaults), its answers must stay those of each condition compiled alone.

_FACT = st.one_of(st.none(), st.booleans(), st.integers(-3, 30), st.sampled_from([0.5, -1.5, 2.0]),
                  st.sampled_from(["", "7", "a"]))
_FACTS = st.fixed_dictionaries({
    "stock": st.fixed_dictionaries({"available": _FACT, "on_hand": _FACT}),
    "metrics": st.fixed_dictionaries({"reorder_point": _FACT}, optional={"days_of_cover": _FACT}),
})
_READS = st.sampled_from([
    {"var": "stock.available"}, {"var": "stock.on_hand"}, {"var": "metrics.reorder_point"},
    {"var": "metrics.days_of_cover"}, {"var": ["metrics.days_of_cover", 9999]},
    {"var": ["stock.available", 0]}, {"var": ["metrics.reorder_point", "x"]},
])
_LEAF = st.one_of(_READS, st.integers(-2, 10), st.sampled_from([0.3, 1.5, "4", None, True]))


def _expr(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return _LEAF
    sub = _expr(depth - 1)
    arith = st.sampled_from(["+", "-", "*", "/"]).flatmap(
        lambda op: st.tuples(sub, sub).map(lambda ab: {op: list(ab)}))
    relation = st.sampled_from(["<", "<=", ">", ">=", "==", "!=", "===", "!=="]).flatmap(
        lambda op: st.tuples(sub, sub).map(lambda ab: {op: list(ab)}))
    between = st.sampled_from(["<", "<="]).flatmap(
        lambda op: st.tuples(sub, sub, sub).map(lambda abc: {op: list(abc)}))
    logic = st.sampled_from(["and", "or"]).flatmap(
        lambda op: st.lists(sub, min_size=1, max_size=3).map(lambda xs: {op: xs}))
    return st.one_of(_LEAF, arith, relation, between, logic)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(_expr(3), min_size=1, max_size=6), data=_FACTS)
def test_fused_number_tests_agree_with_each_condition_alone(rules: list[Any], data: Any) -> None:
    assert _fused(rules, data) == _alone(rules, data), rules


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(_expr(2), min_size=1, max_size=4),
       order=st.lists(st.integers(0, 3), min_size=2, max_size=8), data=_FACTS)
def test_a_repeated_condition_gets_the_answer_of_its_first(rules: list[Any], order: list[int],
                                                           data: Any) -> None:
    """Repeated conditions are run once: hits, misses and failures must stay each one's own."""
    repeated = [rules[i % len(rules)] for i in order]
    assert _fused(repeated, data) == _alone(repeated, data), repeated


def test_a_repeated_failing_condition_fails_in_every_place() -> None:
    fails = {"/": [1, {"var": "sku.unit_cost"}]}
    low = {"<": [{"var": "stock.available"}, 5]}
    hits, errors = hits_of(build_many([fails, low, fails, low, {"<": [{"var": "stock.available"}, 5.0]}],
                                      truthy)(FACTS))
    assert hits == [1, 3, 4]
    assert [(i, type(x).__name__) for i, x in errors or []] == [(0, "ZeroDivisionError"),
                                                                (2, "ZeroDivisionError")]
    source, _ = generate_many([fails, low, fails, low])
    assert source.count("DIV(") == 1 and source.count("LT(") == 1  # each computed once


# With ``known`` paths (the engine's promise that a fact is always a number, FACT_KINDS) the
# fused function leaves out their type tests: on data that keeps the promise its answers must
# stay those of each condition alone, defaults on those paths included.
_KNOWN = {("stock", "available"): "num", ("stock", "on_hand"): "num", ("metrics", "reorder_point"): "num"}
_NUMBER = st.one_of(st.integers(-3, 30), st.sampled_from([0.0, 0.5, -1.5, 2.0, 1e9]))
_KEPT_PROMISE = st.fixed_dictionaries({
    "stock": st.fixed_dictionaries({"available": _NUMBER, "on_hand": _NUMBER}),
    "metrics": st.fixed_dictionaries({"reorder_point": _NUMBER}, optional={"days_of_cover": _FACT}),
})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(_expr(3), min_size=1, max_size=6), data=_KEPT_PROMISE)
def test_known_number_facts_skip_their_tests_and_agree_with_each_condition_alone(
        rules: list[Any], data: Any) -> None:
    hits, errors = hits_of(build_many(rules, truthy, _KNOWN)(data))
    assert (hits, [i for i, _ in errors or []]) == _alone(rules, data), rules


def test_known_facts_are_read_without_a_type_test() -> None:
    rule = {"<": [{"var": "stock.available"}, {"*": [{"var": "metrics.reorder_point"}, 0.5]}]}
    plain, _ = generate_many([rule])
    known, _ = generate_many([rule], _KNOWN)
    assert "TYPE(" in plain and "TYPE(" not in known


def test_nothing_hit_is_zero_and_a_mask_reads_back_in_order() -> None:
    never = {"<": [{"var": "stock.available"}, -1000]}
    always = {">": [{"var": "stock.available"}, -1000]}
    assert build_many([never, never], truthy)(FACTS) == 0  # no list, no tuple: the usual answer
    answer = build_many([always, never] * 40, truthy)(FACTS)  # past 64 conditions: a long int
    assert hits_of(answer) == (list(range(0, 80, 2)), None)


def test_plain_number_conditions_are_written_inline_as_one_test() -> None:
    # ``if a < b * c:`` is one compare-and-jump that CPython specialises for floats; a value
    # stored first and tested after is not. Only what can neither fail nor have an effect is
    # written inline: ``/`` may raise ZeroDivisionError, so it keeps its own statement.
    low = {"and": [{"<": [{"var": "stock.available"}, {"*": [{"var": "metrics.reorder_point"}, 0.5]}]},
                   {">": [{"var": "stock.on_hand"}, 0]}]}
    ratio = {"<": [{"/": [{"var": "stock.available"}, {"var": "stock.on_hand"}]}, 1]}
    source, consts = generate_many([low, ratio], _KNOWN)
    lines = [ln.strip() for ln in source.splitlines()]
    inline = [ln for ln in lines if ln.startswith("if (") and " and " in ln]
    assert len(inline) == 1 and " * " in inline[0] and " < " in inline[0] and " > " in inline[0]
    assert any(ln.startswith("v") and " / " in ln for ln in lines)  # the division: a statement
    assert 0.0 in consts and all(type(c) is not int or c in (0, 1) for c in consts)
    data = {"stock": {"available": 3.0, "on_hand": 0.0}, "metrics": {"reorder_point": 10.0}}
    hits, errors = hits_of(build_many([low, ratio], truthy, _KNOWN)(data))
    assert hits == [] and [(i, type(x).__name__) for i, x in errors or []] == [(1, "ZeroDivisionError")]
    data["stock"]["on_hand"] = 4.0
    assert hits_of(build_many([low, ratio], truthy, _KNOWN)(data)) == ([0, 1], None)


@pytest.mark.parametrize("literal", [2**53, 2**53 + 1, -(2**53) - 1, 10**30])
def test_integer_literals_compared_with_numbers_stay_exact(literal: int) -> None:
    # an integer literal meets plain numbers as the equal float only while that float is exact
    for fact in (float(2**53), 2**53 + 1, float(literal), literal, 1e30):
        data = {"stock": {"available": fact, "on_hand": 0}, "metrics": {"reorder_point": 0}}
        for op in ("<", "<=", "==", "===", "!="):
            rule = {op: [{"var": "stock.available"}, literal]}
            fused = hits_of(build_many([rule], truthy, _KNOWN)(data))[0] == [0]
            assert fused == truthy(compile(rule)(data)), (op, fact, literal)
