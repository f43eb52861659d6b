"""The document's shape: every field typed, every mistake a located, plain sentence."""

from __future__ import annotations

from datetime import timedelta
from textwrap import dedent
from typing import Any

import pytest

from engine.rules.problems import Problem
from engine.rules.schema import validate_document
from engine.rules.source import parse_source


def check(text: str) -> tuple[dict[str, Any], list[Problem]]:
    parsed = parse_source(dedent(text))
    assert parsed.problems == []
    clean, problems = validate_document(parsed.data, parsed.raw_booleans)
    return clean, [p.with_line(parsed.line_map) for p in problems]


def one(text: str) -> Problem:
    _, problems = check(text)
    assert len(problems) == 1, problems
    return problems[0]


RULE_HEAD = dedent(
    """\
    ruleset: x
    rules:
      - id: r
        when: {"<": [{"var": "stock.available"}, 5]}
    """
)


def test_a_minimal_document_is_clean_and_gets_defaults_later() -> None:
    clean, problems = check(RULE_HEAD)
    assert problems == []
    assert clean == {
        "ruleset": "x",
        "rules": [{"id": "r", "when": {"<": [{"var": "stock.available"}, 5]}}],
    }


def test_unknown_field_suggests_the_real_field_name() -> None:
    problem = one(RULE_HEAD + "    severty: high\n")
    assert (problem.code, problem.path, problem.line) == ("unknown_field", "rules[0].severty", 5)
    assert problem.message == "rules[0].severty is not a known field; did you mean 'severity'?"


def test_unknown_field_without_a_close_match_lists_the_fields() -> None:
    problem = one("ruleset: x\nroles: [{id: a, phone: 123}]\n")
    assert problem.path == "roles[0].phone"
    assert problem.message.endswith(
        "the fields here are id, name, description, members, channels, escalate_to, rate_limit, "
        "quiet_hours"
    )


def test_bad_duration_is_a_sentence() -> None:
    problem = one(RULE_HEAD + "    cooldown: 24 hours\n")
    assert (problem.code, problem.path, problem.line) == ("bad_duration", "rules[0].cooldown", 5)
    assert problem.message.startswith(
        "'cooldown' must be a duration such as 30m, 4h or 7d; got '24 hours'"
    )


def test_severity_must_be_a_known_one() -> None:
    problem = one(RULE_HEAD + "    severity: urgent\n")
    assert (problem.code, problem.path) == ("invalid_choice", "rules[0].severity")
    assert (
        problem.message
        == "'severity' must be one of info, low, medium, high, critical; got 'urgent'"
    )


def test_a_yes_no_value_where_text_is_expected_says_to_quote_it() -> None:
    text = RULE_HEAD + "    actions:\n      - create_requisition: {supplier: NO}\n"
    problem = one(text)
    assert (problem.code, problem.line) == ("type", 6)
    assert problem.path == "rules[0].actions[0].create_requisition.supplier"
    assert problem.message == "'supplier' must be text; got a yes/no value — write \"NO\" in quotes"


def test_a_number_where_text_is_expected_says_to_quote_it() -> None:
    problem = one("ruleset: x\nroles: [{id: a, members: [1001]}]\n")
    assert problem.path == "roles[0].members[0]"
    assert (
        problem.message
        == "'members[0]' must be text; got the number 1001 — write \"1001\" in quotes"
    )


def test_ids_must_be_short_lowercase_names() -> None:
    problem = one("ruleset: x\nsku_groups: [{id: Fast Movers}]\n")
    assert (problem.code, problem.path) == ("invalid_id", "sku_groups[0].id")
    assert "lowercase letters, digits, '-' and '_'" in problem.message
    assert problem.message.endswith("got 'Fast Movers'")


def test_ruleset_name_is_required() -> None:
    _, problems = check("rules: []\n")
    assert [(p.code, p.path) for p in problems] == [("required", "ruleset")]
    assert "ruleset: retail-default" in problems[0].message


def test_when_is_required() -> None:
    problem = one("ruleset: x\nrules: [{id: r}]\n")
    assert (problem.code, problem.path, problem.line) == ("required", "rules[0].when", 2)


def test_group_and_groups_together_are_refused() -> None:
    problem = one(RULE_HEAD + "    group: a\n    groups: [b]\n")
    assert (problem.code, problem.path, problem.line) == ("conflict", "rules[0].groups", 6)


def test_on_must_name_event_types_and_a_single_one_is_accepted() -> None:
    problem = one(RULE_HEAD + "    on: [sale, sales]\n")
    assert problem.path == "rules[0].on[1]"
    assert problem.message.endswith("got 'sales'; did you mean 'sale'?")
    clean, problems = check(RULE_HEAD + "    on: supplier_delay\n")
    assert problems == [] and clean["rules"][0]["on"] == ["supplier_delay"]


def test_settings_are_typed_and_custom_ones_are_kept() -> None:
    clean, problems = check(
        """\
        ruleset: x
        settings: {service_level: 0.97, timezone: Europe/Berlin, min_cover: 5}
        """
    )
    assert problems == []
    assert clean["settings"] == {
        "service_level": 0.97,
        "timezone": "Europe/Berlin",
        "extra": {"min_cover": 5},
    }


@pytest.mark.parametrize(
    ("setting", "path", "fragment"),
    [
        ("service_level: 1.5", "settings.service_level", "between 0.5 and 0.9999; got 1.5"),
        ("demand_window_days: 400", "settings.demand_window_days", "between 1 and 365"),
        ("review_period_days: 2.5", "settings.review_period_days", "whole number"),
        ("timezone: Beijing", "settings.timezone", "time zone name such as Asia/Shanghai"),
        ("servce_level: 0.9", "settings.servce_level", "did you mean 'service_level'?"),
        (
            "demand_window_days: '28'",
            "settings.demand_window_days",
            "must be a whole number; got '28'",
        ),
    ],
)
def test_bad_settings(setting: str, path: str, fragment: str) -> None:
    problem = one(f"ruleset: x\nsettings: {{{setting}}}\n")
    assert problem.path == path and problem.line == 2
    assert fragment in problem.message


def test_role_channels_come_from_the_known_list() -> None:
    problem = one("ruleset: x\nroles: [{id: a, channels: [email, fax]}]\n")
    assert (problem.code, problem.path) == ("invalid_choice", "roles[0].channels[1]")
    assert "email, sms, wechat, wecom, dingtalk, feishu, webhook" in problem.message


WORKFLOW = dedent(
    """\
    ruleset: x
    workflows:
      - id: w
        states: [open, done]
        transitions:
          - id: t
            from: open
            to: done
            form:
    """
)


def test_form_fields_become_field_specs_data() -> None:
    clean, problems = check(WORKFLOW + "          - {name: q, type: number, min: 0, max: 9}\n")
    assert problems == []
    transition = clean["workflows"][0]["transitions"][0]
    assert transition["from_states"] == ["open"]
    assert transition["form"] == [{"name": "q", "type": "number", "min": 0, "max": 9}]


@pytest.mark.parametrize(
    ("field", "path", "message"),
    [
        ("{name: a, type: select}", "type", "a select field needs 'options' to choose from"),
        ("{name: a, type: number, min: 5, max: 1}", "max", "'max' (1) is less than 'min' (5)"),
        ("{name: a, options: [x]}", "options", "'options' only apply to select fields, not text"),
        (
            "{name: a, type: colour}",
            "type",
            "'type' must be one of text, textarea, number, integer, select, date, boolean; "
            "got 'colour'",
        ),
        (
            "{name: 1a}",
            "name",
            "'name' must be a name of letters, digits and '_', starting with a letter, "
            "at most 64 characters; got '1a'",
        ),
    ],
)
def test_bad_form_fields(field: str, path: str, message: str) -> None:
    problem = one(WORKFLOW + f"          - {field}\n")
    assert problem.path == f"workflows[0].transitions[0].form[0].{path}"
    assert problem.line == 10
    assert problem.message == message


def test_actions_are_parsed_with_their_parameters() -> None:
    clean, problems = check(
        RULE_HEAD
        + """\
    actions:
      - create_task: {title: t, workflow: w, due: 4h}
      - create_requisition: {quantity: {fixed: 12}, approval: [{above: 100, role: boss}]}
      - create_requisition:
          quantity: {"*": [2, {"var": "metrics.reorder_point"}]}
          supplier: SUP-1
      - notify: {to: owner, channels: email}
      - escalate: {after: 1d12h, to: boss}
"""
    )
    assert problems == []
    actions = clean["rules"][0]["actions"]
    assert actions[0] == {
        "kind": "create_task",
        "title": "t",
        "workflow": "w",
        "due": timedelta(hours=4),
    }
    assert actions[1]["quantity"] == {"policy": "fixed", "fixed": 12}
    assert actions[2]["quantity"]["policy"] == "expression"
    assert actions[2]["supplier"] == "SUP-1"
    assert actions[3]["channels"] == ["email"]
    assert actions[4]["after"] == timedelta(days=1, hours=12)


@pytest.mark.parametrize(
    ("action", "path", "fragment"),
    [
        (
            "create_tsk: {}",
            "create_tsk",
            "'create_tsk' is not an action; did you mean 'create_task'?",
        ),
        ("notify: owner", "notify", "'notify' must be a set of 'name: value' entries"),
        ("create_requisition: {quantity: 50}", "create_requisition.quantity", "write {fixed: 50}"),
        (
            "create_requisition: {quantity: {fixed: 0}}",
            "create_requisition.quantity.fixed",
            "above 0",
        ),
        (
            "create_requisition: {supplier: prefered}",
            "create_requisition.supplier",
            "did you mean 'preferred'?",
        ),
        ("escalate: {after: 0m, to: a}", "escalate.after", "'after' must be longer than zero"),
        ("create_task: {workflow: w}", "create_task.title", "'title' is required"),
    ],
)
def test_bad_actions(action: str, path: str, fragment: str) -> None:
    problem = one(RULE_HEAD + f"    actions:\n      - {action}\n")
    assert problem.path == f"rules[0].actions[0].{path}"
    assert problem.line == 6
    assert fragment in problem.message


def test_two_actions_in_one_item_are_refused() -> None:
    problem = one(
        RULE_HEAD + "    actions:\n      - notify: {}\n        escalate: {after: 1h, to: a}\n"
    )
    assert problem.path == "rules[0].actions[0]"
    assert "start each action with its own '- '" in problem.message


def test_a_document_that_is_not_a_mapping() -> None:
    clean, problems = validate_document(["ruleset"])
    assert clean == {}
    assert problems[0].message.startswith(
        "the rule document must be a set of 'name: value' entries"
    )


def test_every_error_is_collected_with_partial_data_kept_in_place() -> None:
    clean, problems = check(
        """\
        ruleset: x
        settings: {service_level: 2}
        roles: [{id: Bad}, {id: good}]
        rules:
          - 7
          - {id: r, when: true, severity: urgent}
          - {id: s, when: true, cooldown: soon}
        """
    )
    assert [p.path for p in problems] == [
        "settings.service_level",
        "roles[0].id",
        "rules[0]",
        "rules[1].severity",
        "rules[2].cooldown",
    ]
    assert [p.line for p in problems] == [2, 3, 5, 6, 7]
    assert clean["roles"][1] == {"id": "good"}
    assert not clean["rules"][0]
    assert clean["rules"][2]["id"] == "s"
