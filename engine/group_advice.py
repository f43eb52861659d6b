"""A group rule (``per: group_warehouse``, issue #19) whose group holds no SKU now cannot alert:
a warning, located like a problem, where the master data is at hand (``POST /ruleset/validate``
and the rule editor). Valid documents only; it refuses nothing (SKUs may join the group later).
"""

from __future__ import annotations

from engine.membership import GroupIndex
from engine.rules.compiled import CompiledRuleset
from engine.rules.problems import Problem


def empty_group_rules(compiled: CompiledRuleset, index: GroupIndex) -> list[Problem]:
    out = []
    for position, rule in enumerate(compiled.rules):
        if rule.per != "group_warehouse" or index.skus_in(rule.groups):
            continue
        groups = ", ".join(rule.groups)
        out.append(Problem(
            ("rules", position, "per"),
            f"rule '{rule.id}' adds up its group in each warehouse, but {groups} holds no SKU "
            "now: its totals cover nothing and it cannot alert until SKUs join the group",
            code="empty_group"))
    return out
