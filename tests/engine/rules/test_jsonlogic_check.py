"""The static JsonLogic checker: one test per bad input, every problem with its exact path."""

from __future__ import annotations

from typing import Any

import pytest

from engine.rules.jsonlogic import OPERATORS, check, compile, infer_type
from engine.rules.problems import Problem
from engine.rules.variables import GROUP_CATALOG

AT = ("rules", 0, "when")


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_unknown_operator_is_refused_with_a_suggestion() -> None:
    problem = only(check({"and": [True, {"adn": [1, 2]}]}, at=AT))
    assert problem.code == "unknown_operator"
    assert problem.path == "rules[0].when.and[1]"
    assert problem.message.startswith(
        "'adn' is not an operator; did you mean 'and'? Allowed: and, or"
    )


def test_unknown_operator_without_a_close_match_lists_the_allowed_ones() -> None:
    problem = only(check({"eval": "__import__('os')"}, at=AT))
    assert problem.code == "unknown_operator"
    assert problem.path == "rules[0].when"
    assert problem.message == "'eval' is not an operator; allowed: " + ", ".join(OPERATORS)


def test_method_is_refused() -> None:
    problem = only(check({"method": [{"var": "sku.name"}, "upper"]}, at=AT))
    assert problem.code == "unknown_operator"
    assert "'method' is not supported" in problem.message
    with pytest.raises(ValueError):
        compile({"method": [{"var": "sku.name"}, "upper"]})


def test_unknown_variable_is_refused_with_a_suggestion() -> None:
    problem = only(check({"and": [{"<": [{"var": "stock.avalable"}, 5]}]}, at=AT))
    assert problem.code == "unknown_variable"
    assert problem.segments == (*AT, "and", 0, "<", 0)
    assert problem.path == 'rules[0].when.and[0]["<"][0]'
    assert (
        problem.message == "'stock.avalable' is not a known fact; did you mean 'stock.available'?"
    )


def test_unknown_variable_in_missing_is_refused() -> None:
    problem = only(check({"missing": ["sku.code", "stock.on_hnad"]}, at=AT))
    assert (problem.code, problem.path) == ("unknown_variable", "rules[0].when.missing[1]")
    assert "did you mean 'stock.on_hand'?" in problem.message


def test_group_filter_cannot_read_stock() -> None:
    where = {"<": [{"var": "stock.available"}, 5]}
    problem = only(check(where, at=("sku_groups", 1, "where"), catalog=GROUP_CATALOG))
    assert problem.code == "unknown_variable"
    assert problem.path == 'sku_groups[1].where["<"][0]'
    assert problem.message == (
        "'stock.available' is not available here; only sku.* and warehouse.* facts are"
    )
    assert check({"==": [{"var": "sku.abc_class"}, "A"]}, catalog=GROUP_CATALOG) == []


@pytest.mark.parametrize(
    ("logic", "index", "message"),
    [
        (
            {"<": [{"var": "stock.available"}, "ten"]},
            1,
            "'<' compares numbers, but \"ten\" is text",
        ),
        ({"<": [{"var": "sku.name"}, 5]}, 0, "'<' compares numbers, but 'sku.name' is text"),
        (
            {">=": [{"var": "calendar.promotion"}, 1]},
            0,
            "'>=' compares numbers, but 'calendar.promotion' is true/false",
        ),
        ({"+": [{"var": "sku.tags"}, 1]}, 0, "'+' adds numbers, but 'sku.tags' is a list"),
    ],
)
def test_arithmetic_and_comparison_need_numbers(logic: Any, index: int, message: str) -> None:
    problem = only(check(logic, at=AT))
    op = next(iter(logic))
    assert (problem.code, problem.segments, problem.message) == ("type", (*AT, op, index), message)


def test_text_against_text_compares_alphabetically_and_passes() -> None:
    assert check({"<": [{"var": "calendar.date"}, "2026-12-01"]}, at=AT) == []


def test_numeric_text_against_a_number_passes() -> None:
    assert check({"<": [{"var": "stock.available"}, "10"]}, at=AT) == []
    assert check({"==": [{"var": "stock.available"}, "10"]}, at=AT) == []


def test_equality_of_a_number_with_words_is_a_mismatch() -> None:
    problem = only(check({"==": [{"var": "stock.available"}, "many"]}, at=AT))
    assert (problem.code, problem.path) == ("type", 'rules[0].when["=="][1]')
    assert problem.message == (
        "'==' compares 'stock.available', which is a number, with \"many\", which is text: "
        "they are never equal"
    )


def test_in_needs_a_list_or_text() -> None:
    problem = only(check({"in": ["A", {"var": "stock.on_hand"}]}, at=AT))
    assert (problem.code, problem.path) == ("type", "rules[0].when.in[1]")
    assert problem.message.endswith("but 'stock.on_hand' is a number")


def test_nullable_fact_compared_without_saying_what_null_means_is_flagged() -> None:
    problem = only(check({"<": [{"var": "metrics.days_of_cover"}, 3]}, at=AT))
    assert (problem.code, problem.path) == ("nullable", 'rules[0].when["<"][0]')
    assert problem.message == (
        "'metrics.days_of_cover' has no value when there is no demand (null counts as 0 in "
        'comparisons); give a default such as {"var": ["metrics.days_of_cover", 9999]} or test '
        "it first"
    )


def test_nullable_fact_in_arithmetic_is_flagged() -> None:
    problem = only(check({">": [{"-": [{"var": "supplier.moq"}, 1]}, 0]}, at=AT))
    assert (problem.code, problem.path) == ("nullable", 'rules[0].when[">"][0]["-"][0]')


def test_nullable_number_equal_to_a_number_is_flagged() -> None:
    problem = only(check({"==": [{"var": "metrics.days_of_cover"}, 0]}, at=AT))
    assert problem.code == "nullable"
    assert "null is never equal to a number" in problem.message


@pytest.mark.parametrize(
    "logic",
    [
        pytest.param({"<": [{"var": ["metrics.days_of_cover", 9999]}, 3]}, id="default"),
        pytest.param({"==": [{"var": "metrics.days_of_cover"}, None]}, id="compared-with-null"),
        pytest.param({"!=": [None, {"var": "metrics.days_of_cover"}]}, id="null-first"),
        pytest.param(
            {
                "and": [
                    {"!=": [{"var": "metrics.days_of_cover"}, None]},
                    {"<": [{"var": "metrics.days_of_cover"}, 3]},
                ]
            },
            id="and-after-not-null",
        ),
        pytest.param(
            {
                "and": [
                    {"!!": [{"var": "metrics.days_of_cover"}]},
                    {"<": [{"var": "metrics.days_of_cover"}, 3]},
                ]
            },
            id="and-after-double-bang",
        ),
        pytest.param(
            {
                "and": [
                    {"var": "metrics.days_of_cover"},
                    {"<": [{"var": "metrics.days_of_cover"}, 3]},
                ]
            },
            id="and-after-bare-var",
        ),
        pytest.param(
            {
                "if": [
                    {"var": "metrics.days_of_cover"},
                    {"<": [{"var": "metrics.days_of_cover"}, 3]},
                    False,
                ]
            },
            id="if-condition",
        ),
        pytest.param(
            {
                "or": [
                    {"==": [{"var": "metrics.days_of_cover"}, None]},
                    {"<": [{"var": "metrics.days_of_cover"}, 3]},
                ]
            },
            id="or-after-is-null",
        ),
        pytest.param(
            {
                "if": [
                    {"==": [{"var": "metrics.days_of_cover"}, None]},
                    False,
                    {"<": [{"var": "metrics.days_of_cover"}, 3]},
                ]
            },
            id="else-of-is-null",
        ),
        pytest.param({"==": [{"var": "sku.abc_class"}, "A"]}, id="nullable-text-equals-text"),
    ],
)
def test_saying_what_null_means_is_not_flagged(logic: Any) -> None:
    assert check(logic, at=AT) == []


def test_a_test_guards_only_what_follows_it() -> None:
    logic = {
        "and": [
            {"<": [{"var": "metrics.days_of_cover"}, 3]},
            {"!!": [{"var": "metrics.days_of_cover"}]},
        ]
    }
    assert only(check(logic, at=AT)).path == 'rules[0].when.and[0]["<"][0]'
    then_of_is_null = {
        "if": [
            {"==": [{"var": "metrics.days_of_cover"}, None]},
            {"<": [{"var": "metrics.days_of_cover"}, 3]},
            False,
        ]
    }
    assert only(check(then_of_is_null, at=AT)).path == 'rules[0].when.if[1]["<"][0]'


def test_depth_bomb_is_too_deep_without_recursion_error() -> None:
    logic: Any = True
    for _ in range(10_000):
        logic = {"!": logic}
    problems = check(logic, at=AT)
    assert [p.code for p in problems] == ["too_deep", "too_large"]
    assert problems[0].path == "rules[0].when"
    assert problems[0].message == "This expression is nested 10,001 levels deep; the limit is 32"
    assert infer_type(logic) == "any"


def test_nested_list_bomb_is_too_deep() -> None:
    logic: Any = []
    for _ in range(10_000):
        logic = [logic]
    assert check(logic, at=AT)[0].code == "too_deep"


def test_depth_32_is_allowed_and_33_is_not() -> None:
    def nested(levels: int) -> Any:
        logic: Any = {"var": "calendar.promotion"}  # two levels: the operation and its operand
        for _ in range(levels - 2):
            logic = {"!": [logic]}
        return logic

    assert check(nested(32), at=AT) == []
    assert only(check(nested(33), at=AT)).code == "too_deep"


def test_list_of_1001_items_is_too_large() -> None:
    problem = only(check({"in": [{"var": "sku.code"}, [f"S{i}" for i in range(1001)]]}, at=AT))
    assert (problem.code, problem.path) == ("too_large", "rules[0].when.in[1]")
    assert problem.message == "This list has 1,001 items; the limit is 1,000"
    assert check({"in": [{"var": "sku.code"}, [f"S{i}" for i in range(1000)]]}, at=AT) == []


def test_more_than_2000_nodes_is_too_large() -> None:
    logic = {"or": [{"==": [{"var": "sku.code"}, f"S{i}"]} for i in range(700)]}
    problem = only(check(logic, at=AT))
    assert (problem.code, problem.path) == ("too_large", "rules[0].when")


def test_map_body_reads_the_item_not_the_catalog() -> None:
    logic = {"some": [{"var": "sku.tags"}, {"==": [{"var": "anything.at.all"}, "x"]}]}
    assert check(logic, at=AT) == []
    reduce = {
        "reduce": [{"var": "sku.tags"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]
    }
    assert check(reduce, at=AT) == []


def test_map_needs_a_list() -> None:
    problem = only(check({"map": [{"var": "stock.available"}, {"var": ""}]}, at=AT))
    assert (problem.code, problem.path) == ("type", "rules[0].when.map[0]")


@pytest.mark.parametrize(
    ("logic", "message"),
    [
        ({"if": []}, "'if' needs at least 2 operands, but has 0"),
        ({"<": [1]}, "'<' needs 2 or 3 operands, but has 1"),
        ({"<": [1, 2, 3, 4]}, "'<' needs 2 or 3 operands, but has 4"),
        ({">": [1, 2, 3]}, "'>' needs exactly 2 operands, but has 3"),
        ({"!": [True, False]}, "'!' needs exactly 1 operand, but has 2"),
    ],
)
def test_arity_errors(logic: Any, message: str) -> None:
    problem = only(check(logic, at=AT))
    assert (problem.code, problem.path, problem.message) == ("arity", "rules[0].when", message)


def test_between_form_is_accepted() -> None:
    assert check({"<": [0, {"var": "stock.available"}, 10]}, at=AT) == []


@pytest.mark.parametrize(
    ("logic", "message"),
    [
        ({}, 'An empty object is not an expression; write an operation such as {"<": [a, b]}'),
        (
            {"<": [1, 2], ">": [2, 1]},
            "An operation has exactly one operator as its key, but this object has 2: '<', '>'",
        ),
    ],
)
def test_objects_that_are_not_one_operation_are_refused(logic: Any, message: str) -> None:
    problem = only(check({"and": [True, logic]}, at=AT))
    assert (problem.code, problem.path, problem.message) == (
        "invalid",
        "rules[0].when.and[1]",
        message,
    )


def test_values_that_are_not_json_are_refused() -> None:
    problem = only(check({"in": ["a", {"a", "b"}]}, at=AT))
    assert (problem.code, problem.path) == ("invalid", "rules[0].when.in[1]")


def test_a_lone_operand_sits_at_its_operator() -> None:
    problem = only(check({"!": {"var": "sku.nmae"}}, at=AT))
    assert problem.path == 'rules[0].when["!"]'
    assert problem.message.endswith("did you mean 'sku.name'?")


@pytest.mark.parametrize(
    ("logic", "expect", "message"),
    [
        ("abc", "boolean", "A condition must be true or false, but this expression gives text"),
        (
            {"var": "stock.available"},
            "boolean",
            "A condition must be true or false, but this expression gives a number",
        ),
        (
            {"cat": ["1", "2"]},
            "number",
            "A quantity must be a number, but this expression gives text",
        ),
        (
            {"<": [1, 2]},
            "number",
            "A quantity must be a number, but this expression gives true/false",
        ),
    ],
)
def test_expected_type_of_the_whole_expression(logic: Any, expect: str, message: str) -> None:
    problem = only(check(logic, at=AT, expect=expect))
    assert (problem.code, problem.path, problem.message) == ("type", "rules[0].when", message)


@pytest.mark.parametrize(
    ("logic", "expect"),
    [
        ({"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]}, "boolean"),
        ({"var": "calendar.promotion"}, "boolean"),
        ({"var": "sku.attributes.fragile"}, "boolean"),
        ({"-": [{"var": "metrics.max_stock"}, {"var": "stock.inventory_position"}]}, "number"),
        ({"if": [{"var": "calendar.promotion"}, 10, 5]}, "number"),
    ],
)
def test_expected_type_accepts_what_fits(logic: Any, expect: str) -> None:
    assert check(logic, at=AT, expect=expect) == []


def test_every_problem_is_reported_in_one_call() -> None:
    logic = {
        "and": [
            {"<": [{"var": "stock.avalable"}, "ten"]},
            {"eval": "x"},
            {"<": [{"var": "metrics.days_of_cover"}, 3]},
            {"if": []},
            {"in": [{"var": "sku.code"}, list(range(5))]},
        ]
    }
    problems = check(logic, at=AT)
    assert [(p.code, p.path) for p in problems] == [
        ("unknown_variable", 'rules[0].when.and[0]["<"][0]'),
        ("type", 'rules[0].when.and[0]["<"][1]'),
        ("unknown_operator", "rules[0].when.and[1]"),
        ("nullable", 'rules[0].when.and[2]["<"][0]'),
        ("arity", "rules[0].when.and[3]"),
    ]


def test_bad_input_never_raises() -> None:
    weird: list[Any] = [
        None,
        1.5,
        float("nan"),
        "x",
        [],
        {1: 2},
        {"var": [[], {}]},
        {"var": {"cat": ["sku.", "code"]}},
        {"in": []},
        {"substr": "x"},
        {"missing_some": [1, "sku.code"]},
        {"reduce": [1]},
        {"?:": [1, 2]},
        {"var": True},
        {"<": {"var": "x"}},
        object(),
    ]
    for logic in weird:
        assert isinstance(check(logic, at=AT, expect="boolean"), list)
        assert infer_type(logic) in {"number", "string", "boolean", "array", "any"}


@pytest.mark.parametrize(
    ("logic", "expected"),
    [
        ({"+": [1, {"var": "stock.on_hand"}]}, "number"),
        ({"cat": ["a", 1]}, "string"),
        ({"var": "calendar.promotion"}, "boolean"),
        ({"and": [{"<": [1, 2]}, {"!": [False]}]}, "boolean"),
        ({"merge": [[1], 2]}, "array"),
        ({"if": [True, 1, "a"]}, "any"),
        ({"var": "sku"}, "any"),
        ("12", "string"),
        (None, "any"),
    ],
)
def test_infer_type(logic: Any, expected: str) -> None:
    assert infer_type(logic) == expected


def test_equality_of_a_text_fact_with_a_number_is_a_mismatch() -> None:
    problem = only(check({"==": [{"var": "sku.name"}, 5]}, at=AT))
    assert (problem.code, problem.path) == ("type", 'rules[0].when["=="][0]')
    assert problem.message == "'==' compares 'sku.name', which is text, with 5, which is a number"
