"""What the rule editor reads from the database: a rule's preview, a group's live count, how
often each rule fired, and the master data a group can be defined by.

The preview answers "which SKU×warehouse would alert now?" over the whole catalogue: for every
pair that has a stock level and is in the rule's groups, the facts an evaluation would see (the
stored level and demand window, the ruleset's params, calendars, forecasts and time zone, a
synthetic ``preview`` event at ``now``) are evaluated as numpy columns (``what_if``), with the
per-event answer. The rule may be
an unsaved edit: it is evaluated against the edited ruleset it belongs to, so new groups and
params count.

The levels are read first (``read_levels``, in the caller's short read transaction) and the
rule is evaluated after it ended: a preview never holds the database while it evaluates (on
SQLite a transaction holds the one write lock, and ingest waited on it: issue #13). Each pair's
evaluation has the engine's budget (``jsonlogic_budget``); the whole preview stops after
``MAX_SECONDS`` of CPU and says it is partial.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import numpy as np
from sqlalchemy import Connection, case, func, select

from engine.facts import FactInputs, build_facts, fact_at
from engine.membership import GroupIndex
from engine.metrics import DemandWindow
from engine.rules import jsonlogic
from engine.rules.compiled import CompiledRuleset, Rule, RulesetSettings
from engine.rules.editing import var_paths
from engine.rules.loader import build
from engine.rules.problems import Problem
from engine.rules.variables import GROUP_CATALOG
from engine.services import what_if
from engine.services.engine_cache import Snapshot
from engine.stock import StockEvent, StockLevel
from engine.storage.tables import OPEN_ALERT_STATES, alerts, ruleset_state

MAX_HITS = 200
MAX_SECONDS = 5.0  # of this thread's CPU, for the whole preview
SAMPLE_MISSES = 10


@dataclass(frozen=True)
class PreviewRow:
    sku: str
    sku_name: str
    warehouse: str
    hit: bool
    values: tuple[tuple[str, Any], ...]  # (fact path, value the condition saw; None = no value)
    error: str | None = None

    @property
    def numbers(self) -> dict[str, Any]:
        return dict(self.values)


@dataclass
class Preview:
    paths: list[str]  # the facts the condition reads, in order
    checked: int = 0  # SKU×warehouse pairs evaluated
    in_groups: int = 0  # pairs with a stock level in the rule's groups
    hit_count: int = 0
    error_count: int = 0
    hits: list[PreviewRow] = field(default_factory=list)  # the first MAX_HITS
    misses: list[PreviewRow] = field(default_factory=list)  # a few that would not alert
    vectorised: bool = True  # False: the condition was evaluated pair by pair

    @property
    def capped(self) -> bool:
        return self.hit_count > len(self.hits)

    @property
    def truncated(self) -> bool:
        return self.checked < self.in_groups


def facts_now(snap: Snapshot, sku_id: int, warehouse_id: int, level: StockLevel,
              window: DemandWindow, params: Mapping[str, Any], tz: Any,
              total_available: float | None, promotion_days: frozenset[str],
              now: datetime) -> dict[str, Any]:
    """The data a condition would read for this pair right now (a synthetic ``preview`` event)."""
    sku = snap.sku_facts[sku_id]
    wh = snap.warehouse_facts[warehouse_id]
    event = StockEvent(id="preview", type="preview", sku=sku["code"], warehouse=wh["code"], at=now)
    facts, _metrics = build_facts(FactInputs(
        event, sku, wh, level, window, snap.links.get(sku_id, ()), params, tz or UTC,
        total_available, promotion_days))
    return facts


def _index(snap: Snapshot, ruleset: CompiledRuleset) -> GroupIndex:
    if snap.ruleset is not None and snap.ruleset.compiled is ruleset and snap.group_index:
        return snap.group_index
    return GroupIndex(ruleset, snap.sku_facts.values(), snap.warehouse_facts.values())


@dataclass
class Levels:
    """What a preview evaluates, read in one short transaction: every stock level, and the
    forecasts when the ruleset uses them."""

    pairs: list[tuple[Any, ...]]
    makers: what_if.Makers | None = None


def read_levels(conn: Connection, snap: Snapshot | None = None,
                ruleset: CompiledRuleset | None = None) -> Levels:
    """Read what ``preview_rule`` needs, so the caller can end its transaction before the
    evaluation starts (with ``snap`` and ``ruleset``, their forecasts too)."""
    makers = what_if.makers_for(conn, snap, ruleset) if snap is not None and ruleset else None
    return Levels(what_if.read_pairs(conn), makers)


def preview_rule(levels: Levels | Connection, snap: Snapshot, rule: Rule,
                 ruleset: CompiledRuleset, now: datetime, max_hits: int = MAX_HITS,
                 max_pairs: int | None = None, max_seconds: float = MAX_SECONDS) -> Preview:
    """Which SKU×warehouse pairs ``rule`` (of ``ruleset``) would alert on now, with the numbers.

    Every pair in the rule's groups is evaluated (``max_pairs``: only the first that many),
    vectorised over columns of facts with the per-event answer (``what_if``); the rows shown
    carry the facts an event would have seen. ``levels`` come from ``read_levels`` (a
    connection is read at once, for callers that hold no write lock)."""
    if not isinstance(levels, Levels):
        levels = read_levels(levels, snap, ruleset)
    paths = var_paths(rule.when)
    out = Preview(paths=paths)
    rows, totals = what_if.build_rows(levels.pairs, snap, ruleset, rule.groups)
    out.in_groups = len(rows)
    if max_pairs is not None:
        rows = rows[:max_pairs]
    makers = levels.makers or what_if.Makers(snap, ruleset, snap.forecasts)
    answer = what_if.evaluate_rows(rule, rows, makers, now, "preview", totals,
                                   deadline=time.thread_time() + max_seconds)
    if answer.stopped is not None:  # ``truncated`` says the preview is partial
        rows = rows[:answer.stopped]
    out.checked = len(rows)
    out.hit_count = int(answer.hits.sum())
    out.error_count = len(answer.errors)
    out.vectorised = answer.vectorised
    shown = [int(i) for i in np.flatnonzero(answer.hits)[:max_hits]]
    missed = [i for i in np.flatnonzero(~answer.hits)[:SAMPLE_MISSES + len(answer.errors)]]
    missed = [int(i) for i in missed][:SAMPLE_MISSES]
    for i in sorted(set(shown) | set(missed)):
        row = rows[i]
        facts = what_if.exact_facts(makers, row, now, "preview", totals)
        sku = snap.sku_facts[row.sku_id]
        shown_row = PreviewRow(sku["code"], str(sku.get("name") or ""),
                               snap.warehouse_facts[row.wh_id]["code"], bool(answer.hits[i]),
                               tuple((p, fact_at(facts, p)) for p in paths), answer.errors.get(i))
        (out.hits if answer.hits[i] else out.misses).append(shown_row)
    return out


def count_group(snap: Snapshot, where: Any, sample: int = 12) -> tuple[int, list[str]]:
    """How many SKUs a group filter matches now (in at least one warehouse), and a few codes.

    ``ValueError`` carrying the problems when ``where`` is not a valid group filter.
    """
    if where is not None:
        problems: list[Problem] = jsonlogic.check(where, catalog=GROUP_CATALOG, expect="boolean")
        if problems:
            raise ValueError(problems)
    doc = {"ruleset": "count", "sku_groups": [{"id": "g", "where": where}]}
    ruleset = build(doc, doc)
    index = GroupIndex(ruleset, snap.sku_facts.values(), snap.warehouse_facts.values())
    codes = index.skus_in(("g",))
    return len(codes), codes[:sample]


def empty_ruleset() -> CompiledRuleset:
    return CompiledRuleset(name="", settings=RulesetSettings(), groups=MappingProxyType({}),
                           roles=MappingProxyType({}), workflows=MappingProxyType({}), rules=())


def fired_counts(conn: Connection) -> dict[str, tuple[int, int]]:
    """Rule id → (alerts ever raised, alerts still open)."""
    is_open = func.sum(case((alerts.c.state.in_(OPEN_ALERT_STATES), 1), else_=0))
    rows = conn.execute(select(alerts.c.rule, func.count(), is_open).group_by(alerts.c.rule))
    return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}


def current_revision(conn: Connection) -> int:
    """The ruleset's revision counter (what an edit form sends back to detect a conflict)."""
    value = conn.execute(select(ruleset_state.c.revision).where(ruleset_state.c.id == 1)).scalar()
    return int(value or 0)


def master_choices(snap: Snapshot) -> dict[str, Any]:
    """What a group can be defined by: the categories, tags, ABC classes, regions, warehouses
    and suppliers present in the master data now."""
    skus = list(snap.sku_facts.values())
    whs = sorted(snap.warehouse_facts.values(), key=lambda w: w["code"])
    return {
        "categories": sorted({str(s["category"]) for s in skus if s.get("category")}),
        "tags": sorted({str(t) for s in skus for t in (s.get("tags") or [])}),
        "abc_classes": ["A", "B", "C"],
        "regions": sorted({str(w["region"]) for w in whs if w.get("region")}),
        "warehouses": [(w["code"], str(w.get("name") or "")) for w in whs],
        "suppliers": sorted(snap.supplier_ids),
        "sku_count": len(skus),
    }
