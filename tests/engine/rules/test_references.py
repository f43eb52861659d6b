"""Cross-references: every group, role, workflow and state named exists, once, without loops."""

from __future__ import annotations

from textwrap import dedent

import pytest

from engine.rules.problems import Problem
from engine.rules.references import check_references
from engine.rules.schema import validate_document
from engine.rules.source import parse_source

BASE = dedent(
    """\
    ruleset: x
    sku_groups:
      - {id: fast-movers}
      - {id: seasonal}
    roles:
      - {id: buyer, escalate_to: purchasing-manager}
      - {id: purchasing-manager}
    workflows:
      - id: replenishment
        states: [open, done]
        initial: open
        transitions:
          - {id: resolve, from: [open], to: done, roles: [buyer]}
    rules:
      - id: r
        group: fast-movers
        owner: buyer
        when: true
        actions:
          - create_task: {title: t, workflow: replenishment}
    """
)


def problems_of(text: str) -> list[Problem]:
    parsed = parse_source(text)
    assert parsed.problems == []
    clean, schema_problems = validate_document(parsed.data)
    assert schema_problems == []
    return [p.with_line(parsed.line_map) for p in check_references(clean)]


def one(text: str) -> Problem:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def test_a_consistent_document_has_no_problem() -> None:
    assert problems_of(BASE) == []


def test_unknown_group_suggests_the_closest() -> None:
    problem = one(BASE.replace("group: fast-movers", "group: fast-mover"))
    assert (problem.code, problem.path, problem.line) == ("unknown_group", "rules[0].group", 16)
    assert problem.message == "'fast-mover' is not a defined SKU group; did you mean 'fast-movers'?"


def test_unknown_group_in_a_list_without_a_close_match_lists_the_groups() -> None:
    problem = one(BASE.replace("group: fast-movers", "groups: [seasonal, toys]"))
    assert (problem.path, problem.line) == ("rules[0].groups[1]", 16)
    assert (
        problem.message
        == "'toys' is not a defined SKU group; the SKU groups are fast-movers, seasonal"
    )


def test_unknown_owner_role() -> None:
    problem = one(BASE.replace("owner: buyer", "owner: buyr"))
    assert (problem.code, problem.path, problem.line) == ("unknown_role", "rules[0].owner", 17)
    assert problem.message.endswith("did you mean 'buyer'?")


def test_unknown_workflow_in_create_task() -> None:
    problem = one(BASE.replace("workflow: replenishment", "workflow: replenish"))
    assert problem.code == "unknown_workflow"
    assert (problem.path, problem.line) == ("rules[0].actions[0].create_task.workflow", 20)
    assert problem.message == "'replenish' is not a defined workflow; did you mean 'replenishment'?"


def test_create_task_needs_a_workflow() -> None:
    problem = one(BASE.replace(", workflow: replenishment", ""))
    assert (problem.code, problem.path, problem.line) == (
        "missing_workflow",
        "rules[0].actions[0].create_task",
        20,
    )
    assert "defined: replenishment" in problem.message


@pytest.mark.parametrize(
    ("action", "path"),
    [
        ("escalate: {after: 1h, to: manager}", "escalate.to"),
        ("notify: {to: manager}", "notify.to"),
        (
            "create_requisition: {approval: [{above: 1, role: manager}]}",
            "create_requisition.approval[0].role",
        ),
        ("create_task: {title: t, workflow: replenishment, role: manager}", "create_task.role"),
    ],
)
def test_unknown_roles_in_actions(action: str, path: str) -> None:
    text = BASE.replace("create_task: {title: t, workflow: replenishment}", action)
    problem = one(text)
    assert (problem.code, problem.path, problem.line) == (
        "unknown_role",
        f"rules[0].actions[0].{path}",
        20,
    )


def test_notify_to_owner_and_supplier_need_no_role() -> None:
    text = BASE.replace(
        "create_task: {title: t, workflow: replenishment}", "notify: {to: supplier}"
    )
    assert problems_of(text) == []


def test_notify_the_owner_of_a_rule_without_owner() -> None:
    text = BASE.replace("    owner: buyer\n", "").replace(
        "create_task: {title: t, workflow: replenishment}", "notify: {}"
    )
    problem = one(text)
    assert (problem.code, problem.path, problem.line) == (
        "no_owner",
        "rules[0].actions[0].notify.to",
        19,
    )


def test_a_task_needs_a_role_or_an_owner() -> None:
    problem = one(BASE.replace("    owner: buyer\n", ""))
    assert (problem.code, problem.path) == ("no_owner", "rules[0].actions[0].create_task")


def test_unknown_role_in_transitions_and_escalate_to() -> None:
    text = BASE.replace("roles: [buyer]", "roles: [byer]").replace(
        "escalate_to: purchasing-manager", "escalate_to: manager"
    )
    problems = problems_of(text)
    assert [(p.code, p.path, p.line) for p in problems] == [
        ("unknown_role", "roles[0].escalate_to", 6),
        ("unknown_role", "workflows[0].transitions[0].roles[0]", 13),
    ]


@pytest.mark.parametrize(
    ("old", "new", "path", "line"),
    [
        ("{id: seasonal}", "{id: fast-movers}", "sku_groups[1].id", 4),
        ("{id: purchasing-manager}", "{id: buyer}", "roles[1].id", 7),
        ("replenishment}\n", "replenishment}\n  - {id: r, when: false}\n", "rules[1].id", 21),
    ],
)
def test_duplicate_ids(old: str, new: str, path: str, line: int) -> None:
    problems = [p for p in problems_of(BASE.replace(old, new)) if p.code == "duplicate_id"]
    assert [(p.path, p.line) for p in problems] == [(path, line)]
    assert "is already used by" in problems[0].message


def test_duplicate_workflow_transition_and_form_field() -> None:
    text = BASE.replace(
        "      - {id: resolve, from: [open], to: done, roles: [buyer]}\n",
        "      - {id: resolve, from: [open], to: done, form: [{name: a}, {name: a}]}\n"
        "      - {id: resolve, from: [open], to: done}\n",
    )
    text = text.replace(
        "rules:",
        "  - {id: replenishment, states: [a, b], transitions: [{id: t, from: a, to: b}]}\nrules:",
    )
    problems = sorted(problems_of(text), key=lambda p: p.line or 0)
    assert [(p.path, p.line) for p in problems] == [
        ("workflows[0].transitions[0].form[1].name", 13),
        ("workflows[0].transitions[1].id", 14),
        ("workflows[1].id", 15),
    ]
    assert problems[0].message == (
        "the name 'a' is already used by workflows[0].transitions[0].form[0]; "
        "each must be different"
    )


def test_states_of_a_workflow_must_be_listed() -> None:
    text = BASE.replace("initial: open", "initial: opn").replace(
        "from: [open], to: done", "from: [open, new], to: finished"
    )
    problems = problems_of(text)
    assert [(p.code, p.path, p.line) for p in problems] == [
        ("unknown_state", "workflows[0].initial", 11),
        ("unknown_state", "workflows[0].transitions[0].from[1]", 13),
        ("unknown_state", "workflows[0].transitions[0].to", 13),
    ]
    assert (
        problems[0].message
        == "'opn' is not a defined state in workflow 'replenishment'; did you mean 'open'?"
    )
    assert problems[1].message.endswith("the states in workflow 'replenishment' are open, done")


def test_escalation_cycles_are_refused() -> None:
    text = BASE.replace(
        "- {id: purchasing-manager}", "- {id: purchasing-manager, escalate_to: buyer}"
    )
    problem = one(text)
    assert (problem.code, problem.path, problem.line) == (
        "escalation_cycle",
        "roles[0].escalate_to",
        6,
    )
    assert "buyer → purchasing-manager → buyer" in problem.message


def test_a_role_escalating_to_itself_is_a_cycle() -> None:
    problem = one(BASE.replace("escalate_to: purchasing-manager", "escalate_to: buyer"))
    assert "buyer → buyer" in problem.message


def test_partial_data_is_checked_where_it_is_valid() -> None:
    doc = {
        "rules": [
            None,
            {"id": "r", "group": "nope"},
            {"actions": [None, {"kind": "notify", "to": "x"}]},
        ]
    }
    problems = check_references(doc)
    assert [p.path for p in problems] == ["rules[1].group", "rules[2].actions[1].notify.to"]
