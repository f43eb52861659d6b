"""What the rule editor reads from the database: a rule's preview, a group's live count, how
often each rule fired, and the master data a group can be defined by.

The preview answers "which SKU×warehouse would alert now?": for every pair that has a stock level
and is in the rule's groups, the facts are built exactly as for an evaluation (``build_facts``,
the stored level and demand window, the ruleset's params and time zone) with a synthetic
``preview`` event at ``now``, and the rule's compiled condition is run on them. The rule may be
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
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, case, func, select

from engine.evaluation import truthy
from engine.facts import FactInputs, build_facts, fact_at
from engine.membership import GroupIndex
from engine.metrics import DemandWindow
from engine.rules import jsonlogic
from engine.rules.compiled import CompiledRuleset, Rule, RulesetSettings
from engine.rules.editing import var_paths
from engine.rules.loader import build
from engine.rules.problems import Problem
from engine.rules.variables import GROUP_CATALOG
from engine.services.engine_cache import Snapshot
from engine.stock import StockEvent, StockLevel
from engine.storage.tables import OPEN_ALERT_STATES, alerts, ruleset_state, stock_levels

MAX_HITS = 200
MAX_PAIRS = 50_000
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


def read_levels(conn: Connection) -> list[Any]:
    """Every stock level with its demand window: what a preview evaluates, read at once so that
    the caller can end its transaction before the evaluation starts."""
    return list(conn.execute(select(
        stock_levels.c.sku_id, stock_levels.c.warehouse_id, stock_levels.c.on_hand,
        stock_levels.c.reserved, stock_levels.c.on_order_erp, stock_levels.c.on_order_local,
        stock_levels.c.demand_window)))


def preview_rule(rows: list[Any], snap: Snapshot, rule: Rule, ruleset: CompiledRuleset,
                 now: datetime, max_hits: int = MAX_HITS, max_pairs: int = MAX_PAIRS,
                 max_seconds: float = MAX_SECONDS) -> Preview:
    """Which SKU×warehouse pairs ``rule`` (of ``ruleset``) would alert on now, with the numbers,
    from the levels ``read_levels`` read."""
    paths = var_paths(rule.when)
    out = Preview(paths=paths)
    index = _index(snap, ruleset)
    wanted = set(rule.groups)
    tz = ZoneInfo(ruleset.settings.timezone)
    promotion = frozenset(str(d) for d in ruleset.settings.extra.get("promotion_days", []))
    deadline = time.thread_time() + max_seconds
    levels = {(r.sku_id, r.warehouse_id): StockLevel(r.on_hand, r.reserved, r.on_order_erp,
                                                      r.on_order_local) for r in rows}
    totals: dict[int, float] = {}
    for (sku_id, _), level in levels.items():
        totals[sku_id] = totals.get(sku_id, 0.0) + level.available
    pairs = []
    for r in rows:
        sku = snap.sku_facts.get(r.sku_id)
        wh = snap.warehouse_facts.get(r.warehouse_id)
        if sku is None or wh is None:
            continue
        groups = index.groups_for(sku["code"], wh["code"])
        if wanted and not wanted.intersection(groups):
            continue
        pairs.append((sku["code"], wh["code"], r, groups))
    pairs.sort(key=lambda p: (p[0], p[1]))
    out.in_groups = len(pairs)
    params_cache: dict[tuple[str, ...], dict[str, Any]] = {}
    for sku_code, wh_code, r, groups in pairs[:max_pairs]:
        if time.thread_time() > deadline:
            break  # ``truncated`` says so
        params = params_cache.get(groups)
        if params is None:
            params = params_cache[groups] = ruleset.params_for(groups)
        window = DemandWindow.from_dict(r.demand_window) if r.demand_window else DemandWindow()
        facts = facts_now(snap, r.sku_id, r.warehouse_id, levels[(r.sku_id, r.warehouse_id)],
                          window, params, tz, totals[r.sku_id], promotion, now)
        error = None
        try:
            hit = truthy(rule.condition(facts))
        except Exception as exc:  # a runtime fault is shown on its row, as the engine logs it
            hit, error = False, f"{type(exc).__name__}: {exc}"
        out.checked += 1
        row = PreviewRow(sku_code, str(snap.sku_facts[r.sku_id].get("name") or ""), wh_code, hit,
                         tuple((p, fact_at(facts, p)) for p in paths), error)
        if error is not None:
            out.error_count += 1
        if hit:
            out.hit_count += 1
            if len(out.hits) < max_hits:
                out.hits.append(row)
        elif len(out.misses) < SAMPLE_MISSES:
            out.misses.append(row)
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
