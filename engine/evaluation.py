"""Which rules an event wakes, and what each says: the hot path of the engine.

For one event only the rules whose ``on`` lists its type and whose groups contain the SKU are
evaluated (the candidate list is cached per event type and group membership). Rules with an
open alert on the pair are also evaluated, whatever the event type, so that ``auto_resolve``
sees a receipt even when the rule is not ``on`` receipts.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.rules.compiled import CompiledRuleset, Rule

log = logging.getLogger(__name__)


def truthy(value: Any) -> bool:
    """JsonLogic truthiness: JavaScript's, where an empty array is false (the official suite)."""
    if isinstance(value, list):
        return len(value) > 0
    if isinstance(value, float) and math.isnan(value):
        return False
    return bool(value)


@dataclass(frozen=True)
class Outcome:
    rule: Rule
    hit: bool
    error: str | None = None


class RuleIndex:
    """Rules by event type and group membership, built once per ruleset version."""

    def __init__(self, ruleset: CompiledRuleset) -> None:
        self.ruleset = ruleset
        self._enabled = [r for r in ruleset.rules if r.enabled]
        self._by_id = {r.id: r for r in self._enabled}
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[Rule, ...]] = {}

    def candidates(self, event_type: str, groups: tuple[str, ...]) -> tuple[Rule, ...]:
        key = (event_type, groups)
        found = self._cache.get(key)
        if found is None:
            members = set(groups)
            found = tuple(
                r for r in self._enabled
                if event_type in r.on and (not r.groups or members.intersection(r.groups))
            )
            self._cache[key] = found
        return found

    def rule(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    def for_pair(self, event_type: str, groups: tuple[str, ...], open_rules: Iterable[str]) -> list[Rule]:
        """Candidates for raising, plus the rules of open alerts that may auto-resolve."""
        rules = list(self.candidates(event_type, groups))
        seen = {r.id for r in rules}
        for rule_id in open_rules:
            rule = self._by_id.get(rule_id)
            if rule is not None and rule.auto_resolve and rule_id not in seen:
                rules.append(rule)
        return rules


def evaluate(rules: Iterable[Rule], facts: Mapping[str, Any]) -> list[Outcome]:
    """Run each rule's compiled condition; a rule that fails at run time is reported, not raised."""
    out = []
    for rule in rules:
        try:
            out.append(Outcome(rule, truthy(rule.condition(facts))))
        except Exception as exc:  # one rule's runtime fault must not stop the others (RELIABILITY §4 #15)
            log.warning("rule %s failed to evaluate: %s", rule.id, exc)
            out.append(Outcome(rule, False, f"{type(exc).__name__}: {exc}"))
    return out
