"""The whole pipeline: every problem from every stage at once, with lines; else a ruleset."""

from __future__ import annotations

import json
from datetime import timedelta
from textwrap import dedent

import pytest

import engine.rules as rules_api
from engine.rules import CompiledRuleset, Problem, RulesetInvalid, load_ruleset, validate_ruleset
from engine.rules.compiled import STOCK_CHANGING, CreateRequisition, CreateTask, Escalate, Notify
from engine.rules.problems import DocumentTooLarge

DOC = dedent(
    """\
    ruleset: test
    settings: {min_cover: 3}
    sku_groups:
      - {id: fast, name: 畅销品, where: {"==": [{"var": "sku.abc_class"}, "A"]},
         params: {target: 9}}
    roles:
      - {id: buyer, members: [alice], escalate_to: boss}
      - {id: boss, members: [carol]}
    workflows:
      - id: wf
        states: [open, done]
        transitions:
          - {id: resolve, from: open, to: done, roles: [buyer], form: [{name: note}]}
    rules:
      - id: low
        group: fast
        when: {"<": [{"var": "stock.available"}, {"var": "params.target"}]}
        owner: buyer
        cooldown: 1d
        actions:
          - create_task: {title: "补货 {{ sku.code }}", workflow: wf, due: 4h}
          - create_requisition: {quantity: {"*": [2, {"var": "metrics.reorder_point"}]}}
          - notify: {to: owner}
          - escalate: {after: 8h, to: boss}
    """
)


def only(problems: list[Problem], code: str) -> Problem:
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, problems
    return found[0]


def test_the_package_exports_the_pipeline() -> None:
    assert set(rules_api.__all__) == {
        "CompiledRuleset",
        "Problem",
        "RulesetInvalid",
        "compile",
        "evaluate",
        "load_ruleset",
        "validate_ruleset",
    }
    assert rules_api.evaluate({"+": [1, 2]}, {}) == 3
    assert rules_api.compile({"var": "a"})({"a": 5}) == 5


def test_a_valid_document_becomes_a_compiled_ruleset() -> None:
    ruleset = load_ruleset(DOC)
    assert isinstance(ruleset, CompiledRuleset)
    assert ruleset.name == "test"
    assert ruleset.settings.extra == {"min_cover": 3}
    assert ruleset.params_for(("fast",))["target"] == 9
    assert ruleset.roles_of("alice") == {"buyer"}
    workflow = ruleset.workflows["wf"]
    assert (workflow.initial, workflow.terminal) == ("open", ("done",))
    assert workflow.transition("resolve").form[0].label == "note"
    rule = ruleset.rule("low")
    assert rule.groups == ("fast",) and rule.on == STOCK_CHANGING
    assert (rule.severity, rule.cooldown, rule.auto_resolve) == ("medium", timedelta(days=1), True)
    task, requisition, notify, escalate = rule.actions
    assert isinstance(task, CreateTask) and task.due == timedelta(hours=4)
    assert isinstance(requisition, CreateRequisition) and requisition.policy == "expression"
    assert requisition.quantity_fn({"metrics": {"reorder_point": 7}}) == 14
    assert isinstance(notify, Notify) and notify.to == "owner"
    assert isinstance(escalate, Escalate) and escalate.after == timedelta(hours=8)


def test_conditions_are_compiled_callables() -> None:
    ruleset = load_ruleset(DOC)
    rule = ruleset.rule("low")
    assert rule.condition({"stock": {"available": 3}, "params": {"target": 9}}) is True
    assert rule.condition({"stock": {"available": 30}, "params": {"target": 9}}) is False
    assert ruleset.groups["fast"].matches({"sku": {"abc_class": "A"}}) is True


def test_json_gives_the_same_ruleset_as_yaml() -> None:
    yaml_ruleset = load_ruleset(DOC)
    json_text = json.dumps(yaml_ruleset.document, ensure_ascii=False, indent=2)
    json_ruleset = load_ruleset(json_text.encode(), "json")
    assert json_ruleset.rules[0].when == yaml_ruleset.rules[0].when
    assert json_ruleset.document == yaml_ruleset.document


def test_validate_returns_nothing_for_a_valid_document() -> None:
    assert validate_ruleset(DOC) == []


def test_five_different_problems_are_reported_at_once_with_lines() -> None:
    text = (
        DOC.replace("cooldown: 1d", "cooldown: 1 day")  # schema: bad duration
        .replace("8h, to: boss", "8h, to: bos")  # references: unknown role
        .replace('"stock.available"', '"stock.avilable"')  # jsonlogic: unknown variable
        .replace("    owner: buyer\n", "    owner: buyer\n    severty: high\n")  # unknown field
        .replace("[{name: note}]", "[{name: note}, {name: note}]")  # duplicate field name
    )
    problems = validate_ruleset(text)
    assert [(p.code, p.path, p.line) for p in problems] == [
        ("duplicate_id", "workflows[0].transitions[0].form[1].name", 13),
        ("unknown_variable", 'rules[0].when["<"][0]', 17),
        ("unknown_field", "rules[0].severty", 19),
        ("bad_duration", "rules[0].cooldown", 20),
        ("unknown_role", "rules[0].actions[3].escalate.to", 25),
    ]
    assert problems[1].message.endswith("did you mean 'stock.available'?")
    assert problems[2].message == "rules[0].severty is not a known field; did you mean 'severity'?"
    assert problems[4].message == "'bos' is not a defined role; did you mean 'boss'?"


def test_source_duplicate_keys_are_reported_together_with_later_stages() -> None:
    text = DOC.replace("    owner: buyer\n", "    owner: buyer\n    owner: bos\n")
    problems = validate_ruleset(text)
    assert [(p.code, p.line) for p in problems] == [("duplicate_key", 19), ("unknown_role", 19)]
    assert "already defined at line 18" in problems[0].message


def test_load_raises_with_every_problem() -> None:
    with pytest.raises(RulesetInvalid) as caught:
        load_ruleset(DOC.replace("severity", "x").replace("escalate_to: boss", "escalate_to: bos"))
    assert [p.as_dict() for p in caught.value.problems] == [
        {
            "path": "roles[0].escalate_to",
            "line": 7,
            "message": "'bos' is not a defined role; did you mean 'boss'?",
            "code": "unknown_role",
        }
    ]


def test_unknown_operator_through_the_jsonlogic_check() -> None:
    problem = only(validate_ruleset(DOC.replace('{"<": [', '{"eval": [')), "unknown_operator")
    assert (problem.path, problem.line) == ("rules[0].when", 17)
    assert problem.message.startswith("'eval' is not an operator")


def test_wrong_type_for_an_operator() -> None:
    text = DOC.replace('{"var": "params.target"}', '"ten"')
    problem = only(validate_ruleset(text), "type")
    assert (problem.path, problem.line) == ('rules[0].when["<"][1]', 17)
    assert "ten" in problem.message


def test_a_nullable_fact_must_say_what_null_means() -> None:
    text = DOC.replace('"stock.available"', '"metrics.days_of_cover"')
    problem = only(validate_ruleset(text), "nullable")
    assert (problem.path, problem.line) == ('rules[0].when["<"][0]', 17)


def test_group_filters_see_only_sku_and_warehouse_facts() -> None:
    text = DOC.replace('"sku.abc_class"}, "A"', '"stock.available"}, 1')
    problem = only(validate_ruleset(text), "unknown_variable")
    assert (problem.path, problem.line) == ('sku_groups[0].where["=="][0]', 4)


def test_a_quantity_formula_must_give_a_number() -> None:
    text = DOC.replace('{"*": [2, {"var": "metrics.reorder_point"}]}', '{"<": [1, 2]}')
    problem = only(validate_ruleset(text), "type")
    assert problem.path == "rules[0].actions[1].create_requisition.quantity"
    assert problem.line == 22


def test_params_only_some_groups_define_are_nullable_elsewhere() -> None:
    text = DOC.replace("    group: fast\n", "")
    problem = only(validate_ruleset(text), "nullable")
    assert problem.path == 'rules[0].when["<"][1]'
    settings_param = DOC.replace('"params.target"', '"params.min_cover"').replace(
        "    group: fast\n", ""
    )
    assert validate_ruleset(settings_param) == []


def test_oversize_is_raised_by_load_and_returned_by_validate() -> None:
    text = DOC + "#" * (300 * 1024)
    with pytest.raises(DocumentTooLarge):
        load_ruleset(text)
    assert [p.code for p in validate_ruleset(text)] == ["too_large"]


def test_unreadable_text_stops_after_the_source_stage() -> None:
    problems = validate_ruleset("ruleset: x\nrules: !!python/object:os.system []\n")
    assert [(p.code, p.path, p.line) for p in problems] == [("yaml_forbidden_tag", "rules", 2)]


def test_a_document_that_is_only_a_list() -> None:
    problems = validate_ruleset("[1, 2]")
    assert [(p.code, p.path, p.line) for p in problems] == [("type", "", 1)]


def test_the_key_on_reaches_the_rule_as_event_types() -> None:
    ruleset = load_ruleset(
        DOC.replace("    group: fast\n", "    group: fast\n    on: [sale, supplier_delay]\n")
    )
    assert ruleset.rules[0].on == frozenset({"sale", "supplier_delay"})
