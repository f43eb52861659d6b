"""Which rules an activation changed (#17): the ones to evaluate over the current stock at once.

Pure: two compiled rulesets in, rule ids out. A rule counts as changed when its own item is new
or different, when one of its SKU groups is (membership, parameters, owner), or when the
settings or calendars are (every metric may move); a disabled rule is never evaluated. Roles
and workflows change no condition, so they change no rule here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.rules.compiled import DAILY, STOCK_CHANGING, CompiledRuleset

GLOBAL_KEYS = ("settings", "calendars")


def _by_id(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    items = doc.get(key) or []
    return {str(i["id"]): i for i in items if isinstance(i, Mapping) and "id" in i}


STOCK_STATE_TRIGGERS = STOCK_CHANGING | {DAILY}


def changed_rules(old: CompiledRuleset | None, new: CompiledRuleset) -> list[str]:
    """The ids of ``new``'s enabled rules whose outcome may differ from ``old``'s, in order.

    Only rules that answer to the stock (a stock-changing event or the daily run in their
    ``on``): a rule on ``supplier_delay`` alone reacts to a delay, which the current stock
    cannot stand in for."""
    enabled = [r for r in new.rules if r.enabled and r.on & STOCK_STATE_TRIGGERS]
    if old is None:
        return [r.id for r in enabled]
    before, after = old.document, new.document
    if any(before.get(k) != after.get(k) for k in GLOBAL_KEYS):
        return [r.id for r in enabled]
    old_rules, new_rules = _by_id(before, "rules"), _by_id(after, "rules")
    old_groups, new_groups = _by_id(before, "sku_groups"), _by_id(after, "sku_groups")
    was_enabled = {r.id for r in old.rules if r.enabled}
    out = []
    for rule in enabled:
        if (rule.id not in was_enabled or old_rules.get(rule.id) != new_rules.get(rule.id)
                or any(old_groups.get(g) != new_groups.get(g) for g in rule.groups)):
            out.append(rule.id)
    return out


def live_rules(new: CompiledRuleset) -> frozenset[str]:
    """The ids whose alerts stay open under ``new``: its enabled rules (any other rule is gone)."""
    return frozenset(r.id for r in new.rules if r.enabled)
