"""The static cost bound of conditions (issue #13): bombs under 1 KB are refused at validation,
located (path and line) with the reason; what passes fits the run-time budget on the largest
data the catalogue allows; a version saved before the bound still loads to run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.rules import jsonlogic
from engine.rules.jsonlogic_compile import build
from engine.rules.jsonlogic_cost import MAX_WORK
from engine.rules.loader import load_ruleset, validate_ruleset
from tests.engine.rules.test_jsonlogic_budget import BOMBS, _largest_sku

ACC = {"var": "accumulator"}


def document(when: Any) -> str:
    return (
        "ruleset: cost\n"
        "roles: [{id: buyer, members: [alice]}]\n"
        "rules:\n"
        "  - id: ok\n"
        "    when: {\"<\": [{\"var\": \"stock.available\"}, 1]}\n"
        "    owner: buyer\n"
        "  - id: bomb\n"
        "    owner: buyer\n"
        f"    when: {json.dumps(when)}\n"
    )


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_bomb_under_1_kb_is_refused_with_its_place_and_reason(name: str) -> None:
    when = BOMBS[name]
    assert len(json.dumps(when)) < 1024
    problems = [p for p in validate_ruleset(document(when)) if p.code == "too_costly"]
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.path.startswith("rules[1].when") and problem.line == 9
    assert f"at most {MAX_WORK:,}" in problem.message


def test_the_reason_names_the_operator_and_the_growth() -> None:
    doubling = {"reduce": [[1] * 30, {"merge": [ACC, ACC]}, [1]]}
    (problem,) = jsonlogic.check(doubling, at=("rules", 0, "when"))
    assert problem.path == "rules[0].when" and problem.code == "too_costly"
    assert "'reduce' doubles its accumulator" in problem.message
    inner = {"some": [list(range(30)), {"some": [list(range(30)), {"some": [
        list(range(30)), {"some": [list(range(30)), {"==": [{"var": ""}, 1]}]}]}]}]}
    (problem,) = jsonlogic.check(inner, at=("rules", 0, "when"))
    assert problem.path.startswith("rules[0].when.some[1]")  # where it first goes over
    assert "'some' runs" in problem.message


def test_the_sizes_come_from_the_catalogue() -> None:
    over_tags = {"some": [{"var": "sku.tags"}, {"some": [{"var": "sku.tags"}, True]}]}
    assert jsonlogic.check({"some": [{"var": "sku.tags"}, {"==": [{"var": ""}, "x"]}]}) == []
    # inside a body "sku.tags" is the item's own: a tag; over literal lists it multiplies
    assert jsonlogic.check(over_tags) == []
    squared = {"some": [{"var": "sku.tags"}, {"some": [list(range(100)), {"some": [
        list(range(100)), True]}]}]}
    assert [p.code for p in jsonlogic.check(squared)] == ["too_costly"]


FITS = [
    {"some": [{"var": "sku.tags"}, {"in": ["cold", {"var": ""}]}]},
    {"all": [{"var": "sku.tags"}, {"some": [[1, 2, 3], {"==": [{"var": ""}, 2]}]}]},
    {"map": [{"var": "sku.tags"}, {"cat": [{"var": ""}, "-", {"var": ""}]}]},
    {"reduce": [{"var": "sku.attributes.sizes"}, {"+": [ACC, {"var": "current"}]}, 0]},
    {"filter": [{"var": "sku.attributes.sizes"}, {">": [{"var": ""}, 10]}]},
]


@pytest.mark.parametrize("logic", FITS)
def test_what_passes_the_bound_fits_the_budget_on_the_largest_data(logic: Any) -> None:
    assert jsonlogic.check(logic) == []
    build(logic)(_largest_sku())  # no BudgetExceeded


def test_a_version_saved_before_the_bound_still_loads_to_run() -> None:
    text = document(BOMBS["nested some"])
    assert validate_ruleset(text)  # refused when saved now
    compiled = load_ruleset(text, stored=True)  # but a stored version runs, under its budget
    assert [r.id for r in compiled.rules] == ["ok", "bomb"]
