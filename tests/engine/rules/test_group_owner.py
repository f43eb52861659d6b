"""Groups may name an owner role that their rules inherit (#17), and what an activation changed
(``engine.rules.impact``): pure, no database."""

from __future__ import annotations

import pytest

from engine.rules import load_ruleset
from engine.rules.editing import upsert_role, usages
from engine.rules.impact import changed_rules, live_rules
from engine.rules.problems import RulesetInvalid

DOC = """\
ruleset: owners
roles:
  - {id: buyer, name: 采购员}
  - {id: manager, name: 经理}
workflows:
  - {id: review, states: [open, done], transitions: [{id: close, from: [open], to: done}]}
sku_groups:
  - {id: drinks, owner: buyer}
  - {id: snacks}
  - {id: fresh, owner: manager}
rules:
  - id: inherits
    group: drinks
    when: {"<": [{"var": "stock.available"}, 1]}
    actions: [{create_task: {title: x, workflow: review}}, {notify: {to: owner}}]
  - {id: own, group: drinks, owner: manager, when: {"<": [{"var": "stock.available"}, 1]}}
  - {id: first-with-one, groups: [snacks, fresh, drinks],
     when: {"<": [{"var": "stock.available"}, 1]}}
  - {id: none, group: snacks, when: {"<": [{"var": "stock.available"}, 1]}}
"""


def test_a_rule_without_owner_takes_its_groups_and_its_own_wins() -> None:
    compiled = load_ruleset(DOC)
    owners = {r.id: r.owner for r in compiled.rules}
    assert owners == {"inherits": "buyer", "own": "manager", "first-with-one": "manager",
                      "none": None}
    assert compiled.groups["drinks"].owner == "buyer" and compiled.groups["snacks"].owner is None


def test_an_unknown_owner_role_is_a_located_problem_with_a_suggestion() -> None:
    with pytest.raises(RulesetInvalid) as err:
        load_ruleset(DOC.replace("{id: drinks, owner: buyer}", "{id: drinks, owner: buyr}"))
    [problem] = err.value.problems
    assert problem.path == "sku_groups[0].owner" and problem.line == 8
    assert "did you mean 'buyer'" in problem.message


def test_a_task_or_notice_needs_an_owner_from_the_rule_or_its_group() -> None:
    with pytest.raises(RulesetInvalid) as err:
        load_ruleset(DOC.replace("{id: drinks, owner: buyer}", "{id: drinks}"))
    assert {p.code for p in err.value.problems} == {"no_owner"}
    assert {p.path for p in err.value.problems} == {
        "rules[0].actions[0].create_task", "rules[0].actions[1].notify.to"}


def test_renaming_a_role_renames_the_group_owner_and_a_role_in_use_says_so() -> None:
    doc = dict(load_ruleset(DOC).document)
    assert "group:drinks" in usages(doc, "role", "buyer")
    renamed = upsert_role(doc, {"id": "purchaser", "name": "采购员"}, old_id="buyer")
    assert renamed["sku_groups"][0]["owner"] == "purchaser"


# -- which rules an activation changed ----------------------------------------------------------

BASE = """\
ruleset: impact
settings: {service_level: 0.95}
sku_groups:
  - {id: g, where: {"==": [{"var": "sku.abc_class"}, "A"]}}
roles: [{id: buyer}]
rules:
  - {id: a, group: g, when: {"<": [{"var": "stock.available"}, 5]}}
  - {id: b, when: {"<": [{"var": "stock.available"}, 1]}}
  - {id: c, when: {"<": [{"var": "stock.available"}, 2]}, enabled: false}
"""


def test_a_first_version_changes_every_enabled_rule() -> None:
    assert changed_rules(None, load_ruleset(BASE)) == ["a", "b"]


def test_only_the_rules_whose_item_or_groups_differ_changed() -> None:
    old = load_ruleset(BASE)
    assert changed_rules(old, load_ruleset(BASE)) == []
    tighter = BASE.replace('stock.available"}, 1]', 'stock.available"}, 3]')
    assert changed_rules(old, load_ruleset(tighter)) == ["b"]
    # a group's definition moves the rules of that group only
    assert changed_rules(old, load_ruleset(BASE.replace('"A"]}}', '"B"]}}'))) == ["a"]
    # roles change no condition
    renamed = BASE.replace("[{id: buyer}]", "[{id: buyer, name: 采购}]")
    assert changed_rules(old, load_ruleset(renamed)) == []
    # a rule enabled again, or a new one, is evaluated
    assert changed_rules(old, load_ruleset(BASE.replace(", enabled: false", ""))) == ["c"]


def test_settings_change_every_rule_and_live_rules_are_the_enabled_ones() -> None:
    old = load_ruleset(BASE)
    new = load_ruleset(BASE.replace("0.95", "0.98"))
    assert changed_rules(old, new) == ["a", "b"]
    assert live_rules(new) == frozenset({"a", "b"})
