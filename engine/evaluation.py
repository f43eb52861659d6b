"""Which rules an event wakes, and what each says: the hot path of the engine.

For one event only the rules whose ``on`` lists its type and whose groups contain the SKU are
evaluated (the candidate list is cached per event type and group membership). Rules with an
open alert on the pair are also evaluated, whatever the event type, so that ``auto_resolve``
sees a receipt even when the rule is not ``on`` receipts.

Speed: the rules of one event type that share the same ``groups`` form a *unit*, whose
conditions run in one generated function (``jsonlogic_compile.build_many``) that reads each
fact once. A candidate list is the union of a few units, so a cache miss merges units instead
of scanning every rule, and there are a few hundred fused functions, not one per candidate
list (there are tens of thousands of those, each used a few times). ``evaluate`` reports hits
and failures only: a rule left out of its answer evaluated to false.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.facts import FACT_KINDS
from engine.rules.compiled import CompiledRuleset, Rule
from engine.rules.jsonlogic_compile import Fused, build_many, hits_of

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


def _failed(rule: Rule, exc: Exception) -> Outcome:
    # one rule's runtime fault must not stop the others (RELIABILITY §4 #15)
    log.warning("rule %s failed to evaluate: %s", rule.id, exc)
    return Outcome(rule, False, f"{type(exc).__name__}: {exc}")


class _Unit:
    """Rules that are always candidates together, evaluated by one fused function.

    ``positions`` are the rules' places in the ruleset, to merge the outcomes of several units
    back into document order. ``run`` is built when a candidate list first includes the unit:
    units of event types or groups never seen cost no compilation.
    """

    __slots__ = ("positions", "rules", "run")

    def __init__(self, rules: tuple[Rule, ...], positions: tuple[int, ...]) -> None:
        self.rules = rules
        self.positions = positions
        self.run: Fused | None = None

    def build(self) -> None:
        if self.run is None:
            try:
                self.run = build_many([r.when for r in self.rules], truthy, FACT_KINDS)
            except Exception as exc:
                log.info("rules %s evaluated one by one: %s", [r.id for r in self.rules], exc)
                self.run = self.each

    def each(self, facts: Mapping[str, Any]) -> int | tuple[int, list[tuple[int, Exception]]]:
        """The fused function's answer (see ``build_many``) from each rule's own condition."""
        hits = 0
        errors: list[tuple[int, Exception]] | None = None
        for i, rule in enumerate(self.rules):
            try:
                if truthy(rule.condition(facts)):
                    hits |= 1 << i
            except Exception as exc:
                errors = (errors or []) + [(i, exc)]
        return hits if errors is None else (hits, errors)


class Candidates(tuple):  # type: ignore[type-arg]
    """A candidate list: the rules in document order, and the units that evaluate them.

    ``overlap``: some rule is in two of the units (a rule of two groups the pair is in); its
    outcome is then reported once.
    """

    parts: tuple[tuple[Fused, _Unit], ...]  # each unit with its function, read once per event
    overlap: bool

    def __new__(cls, rules: Iterable[Rule], units: tuple[_Unit, ...]) -> Candidates:
        self = super().__new__(cls, rules)
        self.parts = tuple((u.run, u) for u in units)  # type: ignore[misc]
        self.overlap = sum(len(u.rules) for u in units) > len(self)
        return self


class RuleIndex:
    """Rules by event type and group membership, built once per ruleset version.

    Per event type there is one unit for the rules of every SKU and one unit per group (its
    rules in document order): an event runs one fused function per group its pair is in.
    """

    def __init__(self, ruleset: CompiledRuleset) -> None:
        self.ruleset = ruleset
        # a group rule (issue #19) is evaluated per group×warehouse (engine/pipeline/groups.py)
        self._enabled = [r for r in ruleset.rules
                         if r.enabled and getattr(r, "per", "pair") == "pair"]
        self._by_id = {r.id: r for r in self._enabled}
        self._cache: dict[tuple[str, tuple[str, ...]], Candidates] = {}
        # per event type: the unit of every SKU (or None), and the unit of each group
        self._units: dict[str, tuple[_Unit | None, dict[str, _Unit]]] = {}
        # units with the same rules (on several event types) share one fused function
        self._shared: dict[tuple[int, ...], _Unit] = {}

    def build_all(self) -> None:
        """Compile every unit now, when the ruleset is loaded: otherwise the first events of
        each type and group pay for it (500 rules: about 200 units, a second in all)."""
        for event_type in dict.fromkeys(t for r in self._enabled for t in r.on):
            always, by_group = self._units_for(event_type)
            for unit in ([always] if always is not None else []) + list(by_group.values()):
                unit.build()

    def candidates(self, event_type: str, groups: tuple[str, ...]) -> Candidates:
        key = (event_type, groups)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._select(event_type, groups)
        return found

    def _select(self, event_type: str, groups: tuple[str, ...]) -> Candidates:
        always, by_group = self._units_for(event_type)
        units = [always] if always is not None else []
        units += dict.fromkeys(by_group[g] for g in groups if g in by_group)
        for unit in units:
            unit.build()
        if len(units) == 1:
            return Candidates(units[0].rules, tuple(units))
        enabled = self._enabled
        positions = sorted({p for u in units for p in u.positions})
        return Candidates((enabled[p] for p in positions), tuple(units))

    def _units_for(self, event_type: str) -> tuple[_Unit | None, dict[str, _Unit]]:
        """The units of an event type: that of every SKU, and that of each group."""
        found = self._units.get(event_type)
        if found is None:
            always: list[int] = []
            by_group: dict[str, list[int]] = {}
            for position, rule in enumerate(self._enabled):
                if event_type in rule.on:
                    if not rule.groups:
                        always.append(position)
                    for group in dict.fromkeys(rule.groups):
                        by_group.setdefault(group, []).append(position)
            found = self._units[event_type] = (
                self._unit(tuple(always)) if always else None,
                {g: self._unit(tuple(ps)) for g, ps in by_group.items()})
        return found

    def _unit(self, positions: tuple[int, ...]) -> _Unit:
        unit = self._shared.get(positions)
        if unit is None:
            rules = tuple(self._enabled[p] for p in positions)
            unit = self._shared[positions] = _Unit(rules, positions)
        return unit

    def rule(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    def for_pair(self, event_type: str, groups: tuple[str, ...], open_rules: Iterable[str]) -> Sequence[Rule]:
        """Candidates for raising, plus the rules of open alerts that may auto-resolve."""
        found = self.candidates(event_type, groups)
        extra = self.resolvers(found, open_rules)
        return [*found, *extra] if extra else found

    def resolvers(self, candidates: Sequence[Rule], open_rules: Iterable[str]) -> list[Rule]:
        """The rules of open alerts that may auto-resolve and are not among ``candidates``."""
        extra: list[Rule] = []
        seen: set[str] | None = None
        for rule_id in open_rules:
            rule = self._by_id.get(rule_id)
            if rule is not None and rule.auto_resolve:
                if seen is None:
                    seen = {r.id for r in candidates}
                if rule_id not in seen:
                    extra.append(rule)
        return extra


def evaluate(rules: Iterable[Rule], facts: Mapping[str, Any]) -> list[Outcome]:
    """The outcomes of the rules that hit or failed, in the order of ``rules``.

    A rule not in the answer evaluated to false: building an outcome per miss (99 % of them)
    was a third of the evaluation time. A rule that fails at run time is reported, not raised.
    """
    if not isinstance(rules, Candidates):
        return _evaluate_each(rules, facts)
    parts = rules.parts
    found: list[tuple[int, Outcome]] | None = None  # (position in the ruleset, outcome)
    try:
        for run, unit in parts:
            answer = run(facts)
            if answer:  # 0 when nothing hit or failed: the usual answer
                hits, errors = hits_of(answer)
                if found is None:
                    found = []
                found += [(unit.positions[i], Outcome(unit.rules[i], True)) for i in hits]
                if errors is not None:
                    found += [(unit.positions[i], _failed(unit.rules[i], exc)) for i, exc in errors]
    except Exception:
        return _evaluate_each(rules, facts)
    if found is None:
        return []
    if len(found) > 1:
        if rules.overlap:  # a rule run by two units is reported once
            found = list(dict(found).items())
        found.sort(key=_position)
    return [o for _, o in found]


def _position(item: tuple[int, Outcome]) -> int:
    return item[0]


def _evaluate_each(rules: Iterable[Rule], facts: Mapping[str, Any]) -> list[Outcome]:
    out = []
    for rule in rules:
        try:
            value = rule.condition(facts)
        except Exception as exc:
            out.append(_failed(rule, exc))
            continue
        if value is True or (value is not False and truthy(value)):
            out.append(Outcome(rule, True))
    return out
