"""The shipped rule documents load, and their conditions decide as their names say."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.rules import CompiledRuleset, load_ruleset, validate_ruleset
from engine.rules.compiled import CreateRequisition
from engine.rules.versions import RulesetVersion, diff, diff_versions

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def load(name: str) -> CompiledRuleset:
    return load_ruleset((CONFIGS / name).read_bytes())


@pytest.mark.parametrize("name", ["retail-default.yaml", "demo-ruleset.yaml"])
def test_config_is_valid(name: str) -> None:
    assert validate_ruleset((CONFIGS / name).read_text(encoding="utf-8")) == []


def test_retail_default_is_the_spec_example() -> None:
    ruleset = load("retail-default.yaml")
    assert ruleset.name == "retail-default"
    assert (len(ruleset.rules), len(ruleset.groups), len(ruleset.roles)) == (1, 2, 2)
    rule = ruleset.rule("fast-below-rop")
    assert rule.condition({"stock": {"available": 3}, "metrics": {"reorder_point": 10}}) is True
    assert rule.condition({"stock": {"available": 12}, "metrics": {"reorder_point": 10}}) is False
    assert ruleset.groups["seasonal"].matches({"sku": {"tags": ["seasonal"]}}) is True
    assert [a.kind for a in rule.actions] == [
        "create_task",
        "create_requisition",
        "notify",
        "escalate",
    ]


def test_demo_exercises_every_feature() -> None:
    ruleset = load("demo-ruleset.yaml")
    assert (len(ruleset.rules), len(ruleset.groups), len(ruleset.workflows)) == (8, 4, 2)
    assert {m for r in ruleset.roles.values() for m in r.members} == {
        "alice",
        "bob",
        "carol",
        "dave",
    }
    assert ruleset.roles_of("bob") == {"warehouse-lead"} and ruleset.roles_of("admin") == set()
    assert all(
        t.form
        for w in ruleset.workflows.values()
        for t in w.transitions
        if t.id in ("resolve", "close")
    )
    policies = {
        a.policy for r in ruleset.rules for a in r.actions if isinstance(a, CreateRequisition)
    }
    assert policies == {"order_up_to", "eoq", "fixed", "expression"}
    kinds = {a.kind for r in ruleset.rules for a in r.actions}
    assert kinds == {"create_task", "create_requisition", "notify", "escalate", "suggest_transfer"}
    assert ruleset.rule("many-a-low").per == "group_warehouse"
    assert ruleset.rule("supplier-late").on == {"supplier_delay"}


@pytest.mark.parametrize(
    ("rule_id", "facts", "expected"),
    [
        ("stock-out", {"stock": {"available": 0}}, True),
        ("stock-out", {"stock": {"available": 4}}, False),
        (
            "low-cover",
            {"metrics": {"days_of_cover": 1.5}, "params": {"critical_cover_days": 3}},
            True,
        ),
        ("low-cover", {"metrics": {}, "params": {"critical_cover_days": 3}}, False),  # no demand
        ("overstock", {"stock": {"on_hand": 900}, "metrics": {"max_stock": 500}}, True),
        (
            "slow-mover",
            {"metrics": {"days_since_last_sale": 90}, "params": {"slow_mover_days": 60}},
            True,
        ),
        ("slow-mover", {"metrics": {}, "params": {"slow_mover_days": 60}}, False),  # never sold
    ],
)
def test_demo_conditions_decide(rule_id: str, facts: dict, expected: bool) -> None:
    rule = load("demo-ruleset.yaml").rule(rule_id)
    assert bool(rule.condition(facts)) is expected


def test_versions_diff_shows_what_changed() -> None:
    old = (CONFIGS / "retail-default.yaml").read_text(encoding="utf-8")
    new = old.replace("severity: high", "severity: critical")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    v1 = RulesetVersion(1, "admin", at, old, "initial", active=False)
    v2 = RulesetVersion(2, "admin", at, new, "more urgent", active=True)
    text = diff_versions(v1, v2)
    assert text.startswith("--- version 1\n+++ version 2\n")
    assert "-    severity: high" in text and "+    severity: critical" in text
    assert diff(old, old, "a", "b") == ""
    assert "(no newline at end of file)" in diff("a\n", "a", "a", "b")


def test_in_the_demo_whoever_an_overdue_task_escalates_to_can_finish_it() -> None:
    """Tried as a new user: the demo escalates the buyer's overdue tasks to the purchasing
    manager (carol), who could only cancel them; every step that finishes a task (to a state
    with no way out) that a role may take, the role it escalates to may take too."""
    rules = load_ruleset((CONFIGS / "demo-ruleset.yaml").read_text(encoding="utf-8"))
    for role in rules.roles.values():
        if not role.escalate_to:
            continue
        for workflow in rules.workflows.values():
            leaving = {s for t in workflow.transitions for s in t.from_states}
            for step in workflow.transitions:
                if role.id in step.roles and step.to not in leaving:
                    assert role.escalate_to in step.roles, (workflow.id, step.id, role.id)
