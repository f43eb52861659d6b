"""The official jsonlogic.com suite (vendored in tests/data/jsonlogic): every case, both APIs."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from engine.rules.jsonlogic import compile, evaluate

SUITE = Path(__file__).resolve().parents[2] / "data" / "jsonlogic" / "tests.json"


def _load_cases() -> list[Any]:
    """Each case with an id made of its section and its index in that section."""
    cases, section, index = [], "start", 0
    for entry in json.loads(SUITE.read_text(encoding="utf-8")):
        if isinstance(entry, str):
            section, index = re.sub(r"[^a-z0-9]+", "-", entry.lower()).strip("-")[:40], 0
            continue
        rule, data, expected = entry
        cases.append(pytest.param(rule, data, expected, id=f"{section}-{index}"))
        index += 1
    return cases


CASES = _load_cases()


def same(actual: Any, expected: Any) -> bool:
    """JSON equality that keeps booleans apart from numbers (Python has ``True == 1``)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        return actual == expected or (math.isnan(actual) and math.isnan(expected))
    if isinstance(actual, list) and isinstance(expected, list):
        return len(actual) == len(expected) and all(map(same, actual, expected))
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            same(actual[k], expected[k]) for k in actual
        )
    return type(actual) is type(expected) and actual == expected


def test_the_suite_has_all_277_cases() -> None:
    assert len(CASES) == 277
    assert len(json.loads(SUITE.read_text(encoding="utf-8"))) == 301


@pytest.mark.parametrize(("rule", "data", "expected"), CASES)
def test_compiled_rule_gives_the_expected_value(rule: Any, data: Any, expected: Any) -> None:
    assert same(compile(rule)(data), expected)


@pytest.mark.parametrize(("rule", "data", "expected"), CASES)
def test_evaluate_gives_the_expected_value(rule: Any, data: Any, expected: Any) -> None:
    assert same(evaluate(rule, data), expected)


def test_same_tells_booleans_from_numbers() -> None:
    assert not same(True, 1)
    assert not same([0], [False])
    assert same(2.0, 2)
