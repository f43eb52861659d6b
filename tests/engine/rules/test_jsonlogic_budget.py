"""The run-time budget of a condition (issue #13): fuel counted by the compiled code.

Conditions that loop or build without bound stop with ``BudgetExceeded`` after a bounded amount
of work and memory, whether compiled alone or fused with other rules (whose answers stand); the
same data always costs the same fuel; conditions on data the catalogue allows stay well within.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest

from engine.evaluation import truthy
from engine.rules.jsonlogic_budget import FUEL, BudgetExceeded
from engine.rules.jsonlogic_compile import build, build_many, hits_of
from engine.rules.variables import MAX_TAG_CHARS, MAX_TAGS

ACC, CUR = {"var": "accumulator"}, {"var": "current"}
THIRTY = [1] * 30


def nested(op: str, depth: int, inner: Any) -> Any:
    for _ in range(depth):
        inner = {op: [list(range(30)), inner]}
    return inner


BOMBS = {
    "reduce with merge doubling": {"reduce": [THIRTY, {"merge": [ACC, ACC]}, [1]]},
    "reduce with cat doubling": {"reduce": [THIRTY, {"cat": [ACC, ACC]}, "ab"]},
    "nested some": nested("some", 5, {"==": [1, 2]}),
    "nested all": nested("all", 5, 1),
    "map over a doubled list": {"map": [{"reduce": [THIRTY, {"merge": [ACC, ACC]}, [1]]},
                                        {"+": [{"var": ""}, 1]}]},
    "text of a shared list": {"cat": [{"reduce": [THIRTY, [ACC, ACC], [1]]}]},
    "map of nested maps": nested("map", 5, {"var": ""}),
}


@pytest.mark.parametrize("name", BOMBS)
def test_a_bomb_under_1_kb_stops_on_its_budget(name: str) -> None:
    logic = BOMBS[name]
    assert len(json.dumps(logic)) < 1024
    with pytest.raises(BudgetExceeded, match="steps one evaluation may take"):
        build(logic)({})


@pytest.mark.parametrize("name", BOMBS)
def test_a_bomb_fused_with_other_rules_fails_alone(name: str) -> None:
    fused = build_many([{"<": [1, 2]}, BOMBS[name], {"==": [{"var": "a"}, 1]}], truthy)
    hits, errors = hits_of(fused({"a": 1}))
    assert hits == [0, 2]
    assert [(i, type(e)) for i, e in errors or []] == [(1, BudgetExceeded)]


@pytest.mark.parametrize("name", BOMBS)
def test_a_bomb_allocates_a_bounded_amount_of_memory(name: str) -> None:
    fn = build(BOMBS[name])
    tracemalloc.start()
    try:
        with pytest.raises(BudgetExceeded):
            fn({})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024  # the fuel is 200,000 steps: a few MB, never gigabytes


def test_whole_numbers_in_a_reduce_become_floats_as_in_javascript() -> None:
    # squaring an accumulator doubles its digits on every step: 2**(2**30) would take minutes
    squares = {"reduce": [THIRTY, {"*": [ACC, ACC]}, 3]}
    assert build(squares)({}) == float("inf")
    assert build({"+": [10**20, 1]})({}) == 1e20  # a literal beyond 2**53 is a float


def test_the_same_data_costs_the_same_fuel() -> None:
    """No clock decides: a condition just under the budget passes every time, one just over
    fails every time (each ``some`` over n items of weight w pays w × n up front)."""
    body = {"==": [{"var": ""}, -1]}
    weight = 4  # its nodes: the comparison, the var, its "" and -1
    fits = FUEL // weight
    ok = {"some": [{"var": "items"}, body]}
    for _ in range(3):
        assert build(ok)({"items": [0] * fits}) is False
        with pytest.raises(BudgetExceeded):
            build(ok)({"items": [0] * (fits + 1)})


def _largest_sku() -> dict[str, Any]:
    tags = [f"{i:02d}" + "t" * (MAX_TAG_CHARS - 2) for i in range(MAX_TAGS)]
    return {"sku": {"tags": tags, "code": "S" * 64, "attributes": {"sizes": list(range(2000))}}}


@pytest.mark.parametrize("logic", [
    {"some": [{"var": "sku.tags"}, {"in": ["cold", {"var": ""}]}]},
    {"all": [{"var": "sku.tags"}, {"some": [[1, 2, 3], {"==": [{"var": ""}, 2]}]}]},
    {"filter": [{"var": "sku.tags"}, {"<": [{"substr": [{"var": ""}, 0, 2]}, "50"]}]},
    {"reduce": [{"var": "sku.attributes.sizes"}, {"+": [ACC, CUR]}, 0]},
    {"map": [{"var": "sku.tags"}, {"cat": [{"var": ""}, "-", {"var": ""}]}]},
])
def test_conditions_on_the_largest_data_the_catalogue_allows_stay_within(logic: Any) -> None:
    build(logic)(_largest_sku())  # no BudgetExceeded
