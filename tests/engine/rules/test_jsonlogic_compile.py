"""Compiling JsonLogic to Python: JavaScript semantics, safety of the generated code, caching,
and agreement with the reference interpreter (panzi-json-logic) on generated expressions."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from json_logic import jsonLogic

from engine.rules.jsonlogic import OPERATORS, check, compile, evaluate
from engine.rules.jsonlogic_compile import _HANDLERS, generate

# --- JavaScript semantics beyond the official suite ----------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"==": [0, ""]}, True),  # Number("") is 0
        ({"==": ["0x10", 16]}, True),
        ({"==": [" 12 ", 12]}, True),
        ({"==": ["1_0", 10]}, False),  # Python's float() would accept it
        ({"==": [None, 0]}, False),  # null equals only null
        ({"==": [True, "1"]}, True),
        ({"==": [[1], 1]}, True),
        ({"==": [[1, 2], "1,2"]}, True),
        ({"===": [1, 1.0]}, True),
        ({"===": [True, 1]}, False),
        ({"<": [None, 1]}, True),  # null counts as 0
        ({"<": ["abc", None]}, False),  # text against null compares numbers: NaN
        ({"<": ["10", "9"]}, True),  # text against text compares alphabetically
        ({"<": [[10], [9]]}, True),  # arrays compare as their text
        ({"<": [1, 2, None]}, False),  # the third operand counts even when null
        ({">": [3, 2, 10]}, True),  # '>' has no between form: the third operand is ignored
        ({"+": ["3 apples", 1]}, 4),  # parseFloat
        ({"+": [None, 1]}, math.nan),
        ({"-": [3, None]}, 3),  # null is 0, not a missing operand
        ({"-": ["3 apples", 1]}, math.nan),  # Number(), not parseFloat
        ({"*": ["2"]}, "2"),  # one operand: returned as is
        ({"%": [-7, 2]}, -1),  # the sign of the dividend
        ({"%": [7.5, -2]}, 1.5),
        ({"min": [1, "x"]}, math.nan),
        (
            {"cat": [0.1, "|", 1.0, "|", None, "|", [1, None, 2], "|", 1e21, "|", 1.5e-7]},
            "0.1|1||1,,2|1e+21|1.5e-7",
        ),
        ({"cat": [{"+": [0.1, 0.2]}]}, "0.30000000000000004"),
        ({"substr": ["jsonlogic", 2, "-3"]}, ""),  # JavaScript adds text to a length: NaN
        ({"substr": [None, 1]}, "ull"),
        ({"in": [1, [True, "1", 1.0]]}, True),
        ({"in": [True, [1]]}, False),  # indexOf uses strict equality
        ({"in": ["", ""]}, False),
        ({"in": [1, "a1"]}, True),
        ({"!!": [{"var": "obj"}]}, True),  # an empty object is truthy
        ({"var": "s.length"}, 5),
        ({"var": "arr.01"}, None),  # not an array index
        ({"var": ["nothing", 5]}, 5),
        ({"var": ["null_value", 5]}, 5),  # a default also replaces null (see jsonlogic_ops)
        ({"var": [{"cat": ["ar", "r.1"]}]}, 20),
        (
            {
                "reduce": [
                    {"var": "arr"},
                    {"+": [{"var": "current"}, {"var": "accumulator"}]},
                    {"+": [1, 1]},
                ]
            },
            32,
        ),  # the initial value is evaluated
        ({"all": [{"var": "s"}, True]}, False),
        (
            {"missing": ["s", "empty", "null_value", "nothing", "arr.1"]},
            ["empty", "null_value", "nothing"],
        ),
        ({"log": ["kept"]}, "kept"),
    ],
)
def test_javascript_semantics(rule: Any, expected: Any) -> None:
    data = {"obj": {}, "s": "hello", "arr": [10, 20], "null_value": None, "empty": ""}
    assert same(evaluate(rule, data), expected)


@pytest.mark.parametrize("rule", [{"/": [1, 0]}, {"%": [1, 0]}, {"/": [{"var": "zero"}, 0.0]}])
def test_division_by_zero_raises(rule: Any) -> None:
    with pytest.raises(ZeroDivisionError):
        evaluate(rule, {"zero": 0})


def test_literal_lists_are_fresh_on_every_call() -> None:
    fn = compile(["a", "b"])
    first = fn({})
    first.append("c")
    assert fn({}) == ["a", "b"]


def test_data_that_is_not_a_dict() -> None:
    assert evaluate({"var": "a.b"}, None) is None
    assert evaluate({"var": "1.0"}, [["x"], ["y"]]) == "y"
    assert evaluate({"var": "a.b"}, {"a": "text"}) is None
    assert evaluate({"var": "a.b"}, {"a": [1]}) is None
    assert evaluate({"var": "x"}, "xyz") is None


# --- the registry, refusal, limits, cache --------------------------------------------------------


def test_every_registered_operator_compiles_and_nothing_else() -> None:
    assert set(OPERATORS) == set(_HANDLERS)
    assert "method" not in OPERATORS


@pytest.mark.parametrize(
    "rule",
    [
        {"eval": "1"},
        {"method": ["x", "upper"]},
        {"and": [True, {"if": [True, {"exec": []}]}]},
        {"map": [[1], {"__import__": "os"}]},
        {"json_logic.apply": []},
    ],
)
def test_unknown_operators_do_not_compile(rule: Any) -> None:
    with pytest.raises(ValueError, match="is not an allowed JsonLogic operator"):
        compile(rule)


def test_too_deep_does_not_compile_nor_overflow_the_stack() -> None:
    rule: Any = True
    for _ in range(10_000):
        rule = {"!": rule}
    with pytest.raises(ValueError, match="too large"):
        compile(rule)


def test_equal_expressions_share_one_compiled_function() -> None:
    rule = {"<": [{"var": "stock.available"}, 5]}
    assert compile(rule) is compile(json.loads(json.dumps(rule)))
    assert compile({"==": [1, 1]}) is not compile({"==": [1, True]})


def test_typical_condition() -> None:
    rule = {
        "and": [
            {"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]},
            {"==": [{"var": "sku.abc_class"}, "A"]},
        ]
    }
    data = {"stock": {"available": 3}, "metrics": {"reorder_point": 7.5}, "sku": {"abc_class": "A"}}
    assert compile(rule)(data) is True
    assert compile(rule)({**data, "sku": {"abc_class": "B"}}) is False
    assert compile(rule)({"stock": {}, "metrics": {}, "sku": {}}) is False


# --- safety: document text is data, never code ---------------------------------------------------

HOSTILE = [
    "__import__('os').system('x')",
    "'); import os; ('",
    '"); import os; ("',
    "\\n",
    "\n    import os\n",
    "x\\\ny",
    "{0}{1}",
    "c0",
    "v1",
    "d",
    "K[0]",
    "TYPE",
    "__builtins__",
    "#",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_in_a_document_is_only_ever_data(text: str) -> None:
    data = {text: text, "k": {text: 1}}
    rules = [
        text,
        {"==": [text, {"var": text}]},
        {"cat": [text, {"var": [text + ".x", text]}]},
        {"in": [text, [text, "b"]]},
        {"var": "k." + text},
        {"if": [{"missing": [text]}, text, [text]]},
        {"map": [[text], {"cat": [{"var": ""}, text]}]},
    ]
    for rule in rules:
        source, consts = generate(rule)
        assert not re.search(r"['\"#\\]|import|system", source), source
        assert same(compile(rule)(data), jsonLogic(rule, data))


def test_generated_code_runs_without_builtins() -> None:
    fn = compile({"cat": ["a", {"var": "x"}]})
    assert fn.__globals__["__builtins__"] == {}


# --- agreement with the reference interpreter ----------------------------------------------------
# Generated expressions stay where panzi-json-logic agrees with json-logic-js. It departs from
# JavaScript (and so from us) on: 0 == null and false == null (panzi true), Number("") (panzi
# NaN, JS 0), hex/"1_0"/"infinity" text, "+"
# and "*" on null/true/[] (panzi ToNumber, JS parseFloat), "-" with a null second operand (panzi
# negates), "%" of negative numbers (Python's sign), relational text against null/true (panzi
# compares the text "null"), arrays against arrays, the between form with a null third operand,
# "===" of true and 1, "in" with true among numbers, null inside joined lists ("null" vs ""), float
# text beyond 15 digits, true as text (panzi "True"), a reduce start value that is an expression,
# and "log" (panzi prints).

TEXTS = ["apple", "Apple", "A", "b", "x y", "12", "2.5", "-3", "0"]
NUMBERS = st.one_of(st.integers(-5, 20), st.sampled_from([0.5, 2.5, -1.5, 100.0]))
LEAF_TEXT = st.sampled_from(TEXTS)
DATA = st.fixed_dictionaries(
    {
        "n1": NUMBERS,
        "n2": NUMBERS,
        "s1": LEAF_TEXT,
        "s2": LEAF_TEXT,
        "b1": st.booleans(),
        "mn": st.one_of(st.none(), NUMBERS),
        "maybe": st.one_of(st.none(), NUMBERS, LEAF_TEXT, st.booleans()),
        "arr": st.lists(st.one_of(NUMBERS, LEAF_TEXT), max_size=4),
        "nested": st.fixed_dictionaries({"n": NUMBERS, "s": LEAF_TEXT}),
    }
)


def _op(name: str, *operands: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.tuples(*operands).map(lambda args: {name: list(args)})


def numbers(depth: int) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        NUMBERS,
        st.sampled_from(["12", "2.5"]),
        st.sampled_from(
            [
                {"var": "n1"},
                {"var": "n2"},
                {"var": "nested.n"},
                {"var": ["nope", 3]},
                {"var": "arr.length"},
            ]
        ),
    )
    if depth == 0:
        return leaves
    sub = numbers(depth - 1)
    return st.one_of(
        leaves,
        st.sampled_from(["+", "-", "*"]).flatmap(lambda op: _op(op, sub, sub)),
        sub.map(lambda a: {"/": [a, 4]}),
        sub.map(lambda a: {"-": [a]}),
        st.sampled_from(["min", "max"]).flatmap(
            lambda op: st.lists(sub, min_size=1, max_size=3).map(lambda xs: {op: xs})
        ),
        _op("if", booleans(depth - 1), sub, sub),
    )


def texts(depth: int) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        LEAF_TEXT,
        st.sampled_from(
            [{"var": "s1"}, {"var": "s2"}, {"var": "nested.s"}, {"var": ["nope", "dflt"]}]
        ),
    )
    if depth == 0:
        return leaves
    sub = texts(depth - 1)
    return st.one_of(
        leaves,
        st.lists(st.one_of(sub, st.integers(-3, 30), st.just(0.5)), min_size=1, max_size=3).map(
            lambda xs: {"cat": xs}
        ),
        # "!" keeps the text from being empty, where the reference departs (Number("") is 0).
        _op("substr", sub, st.integers(-6, 6)).map(lambda x: {"cat": [x, "!"]}),
        _op("substr", sub, st.integers(-6, 6), st.integers(-6, 6)).map(lambda x: {"cat": [x, "!"]}),
        _op("if", booleans(depth - 1), sub, sub),
    )


def booleans(depth: int) -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.booleans(), st.just({"var": "b1"}))
    if depth == 0:
        return leaves
    num, text, sub = numbers(depth - 1), texts(depth - 1), booleans(depth - 1)
    relational = st.sampled_from(["<", ">", "<=", ">="])
    item_test = st.one_of(
        NUMBERS.map(lambda n: {">": [{"var": ""}, n]}),
        LEAF_TEXT.map(lambda s: {"==": [{"var": ""}, s]}),
    )
    return st.one_of(
        leaves,
        relational.flatmap(lambda op: _op(op, num, num)),
        relational.flatmap(lambda op: _op(op, text, text)),
        relational.flatmap(lambda op: _op(op, st.just({"var": "mn"}), NUMBERS)),
        st.sampled_from(["<", "<="]).flatmap(lambda op: _op(op, num, num, num)),
        st.sampled_from(["==", "!="]).flatmap(
            lambda op: st.one_of(
                _op(op, comparable(depth - 1), comparable(depth - 1)),
                _op(op, NULLS, st.one_of(NULLS, text, st.just({"var": "arr"}))),
            )
        ),
        st.sampled_from(["===", "!=="]).flatmap(
            lambda op: st.one_of(_op(op, num, num), _op(op, text, text))
        ),
        st.sampled_from(["!", "!!"]).flatmap(lambda op: _op(op, anything(depth - 1))),
        st.sampled_from(["and", "or"]).flatmap(
            lambda op: st.lists(sub, min_size=1, max_size=3).map(lambda xs: {op: xs})
        ),
        _op("in", text, st.lists(LEAF_TEXT, max_size=4)),
        _op("in", text, LEAF_TEXT),
        _op("in", num, st.just({"var": "arr"})),
        st.sampled_from(["all", "some", "none"]).flatmap(
            lambda op: _op(op, st.just({"var": "arr"}), item_test)
        ),
    )


NULLS = st.sampled_from([None, {"var": "nope"}])


def comparable(depth: int) -> st.SearchStrategy[Any]:
    """Never null: the reference has 0 == null and false == null (JavaScript: both false)."""
    return st.one_of(
        numbers(depth),
        texts(depth),
        booleans(depth),
        st.sampled_from([{"var": "arr"}, {"var": "nested"}, {"missing": ["nope", "n1"]}]),
        st.lists(st.one_of(NUMBERS, LEAF_TEXT), max_size=3),
    )


def anything(depth: int) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        NUMBERS,
        LEAF_TEXT,
        st.booleans(),
        st.none(),
        st.sampled_from(
            [
                {"var": "mn"},
                {"var": "maybe"},
                {"var": "arr"},
                {"var": "nested"},
                {"var": "nope"},
                {"var": ""},
            ]
        ),
        st.lists(st.one_of(NUMBERS, LEAF_TEXT), max_size=3),
        st.lists(
            st.sampled_from(["n1", "mn", "maybe", "nope", "nested.s", "arr.0"]), max_size=3
        ).map(lambda names: {"missing": names}),
    )
    if depth == 0:
        return leaves
    return st.one_of(
        leaves,
        numbers(depth),
        texts(depth),
        booleans(depth),
        st.lists(anything(depth - 1), max_size=3).map(lambda xs: {"merge": xs}),
        st.sampled_from(["and", "or"]).flatmap(
            lambda op: st.lists(anything(depth - 1), min_size=1, max_size=3).map(
                lambda xs: {op: xs}
            )
        ),
        _op("if", anything(depth - 1), anything(depth - 1), anything(depth - 1)),
        st.just({"map": [{"var": "arr"}, {"cat": [{"var": ""}, "!"]}]}),
        st.just({"filter": [{"var": "arr"}, {">": [{"var": ""}, 1]}]}),
        st.just({"reduce": [{"var": "arr"}, {"+": [{"var": "accumulator"}, 1]}, 0]}),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=anything(3), data=DATA)
def test_compiled_rules_agree_with_the_reference_interpreter(rule: Any, data: Any) -> None:
    try:
        expected = jsonLogic(rule, data)
    except Exception as error:
        with pytest.raises(type(error)):
            compile(rule)(data)
        return
    assert same(compile(rule)(data), expected), (rule, data)


# --- what check accepts always compiles ----------------------------------------------------------

_JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["", "a", "1", "stock.on_hand"]),
    st.sampled_from([{"var": "stock.on_hand"}, {"var": "sku.tags"}, {"var": ""}]),
)
_ANY_JSON = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(
            st.sampled_from([*OPERATORS, "method", "eval", "x"]),
            st.one_of(inner, st.lists(inner, max_size=4)),
        ).map(lambda t: {t[0]: t[1]}),
        st.dictionaries(st.sampled_from(["a", "b", "<"]), inner, max_size=3),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(logic=_ANY_JSON)
def test_whatever_check_accepts_compiles(logic: Any) -> None:
    problems = check(logic, expect=None)
    if not problems:
        compile(logic)


# --- helpers -------------------------------------------------------------------------------------


def same(actual: Any, expected: Any) -> bool:
    """JSON equality that keeps booleans apart from numbers and counts NaN equal to NaN."""
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
