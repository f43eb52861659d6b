"""A condition over every SKU×warehouse at once (issue #16): the rule preview, ``POST
/ruleset/validate`` and the daily run.

The pairs' facts become numpy columns (``engine.fact_columns``) and the condition runs over
them (``jsonlogic_vector``). Rows the vectorised answer is not sure of, and every row of a
condition it cannot vectorise, are evaluated one by one with the same facts as an event's and
the compiled condition, so the answer is the per-event evaluation's, only faster.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, select

from engine.calendars import CalendarView
from engine.evaluation import truthy
from engine.fact_columns import PairRow, fact_columns
from engine.facts import FactMaker
from engine.forecast import Model
from engine.membership import GroupIndex
from engine.metrics import DemandWindow
from engine.rules.compiled import CompiledRuleset, Rule
from engine.rules.jsonlogic_vector import Unsupported, vectorize
from engine.services.engine_cache import Snapshot, load_forecasts, uses_forecasts
from engine.stock import StockEvent, StockLevel
from engine.storage import bulk
from engine.storage.tables import stock_levels

log = logging.getLogger(__name__)


class Makers:
    """The fact makers of one ruleset (maybe an unsaved edit) over a snapshot's master data."""

    def __init__(self, snap: Snapshot, ruleset: CompiledRuleset,
                 forecasts: dict[tuple[str, str], Model]) -> None:
        self.snap, self.ruleset, self.forecasts = snap, ruleset, forecasts
        self.tz: tzinfo = ZoneInfo(ruleset.settings.timezone)
        self.promotion = frozenset(str(d) for d in ruleset.settings.extra.get("promotion_days", []))
        self._makers: dict[tuple[int, tuple[str, ...]], FactMaker] = {}
        self._params: dict[tuple[str, ...], dict[str, Any]] = {}
        self._views: dict[tuple[str, ...], CalendarView | None] = {}

    def __call__(self, sku_id: int, groups: tuple[str, ...]) -> FactMaker:
        key = (sku_id, groups)
        found = self._makers.get(key)
        if found is None:
            if groups not in self._params:
                self._params[groups] = self.ruleset.params_for(groups)
                view = CalendarView(self.ruleset.calendars, groups, self.promotion)
                self._views[groups] = view if view else None
            found = self._makers[key] = FactMaker(
                self.snap.links.get(sku_id, ()), self._params[groups], self.tz, self.promotion,
                self._views[groups], self.forecasts)
        return found

    def many(self, rows: Sequence[PairRow]) -> list[FactMaker]:
        """The maker of each row (``self(row.sku_id, row.groups)``), in one pass."""
        get, made = self._makers.get, self.__call__
        return [get((r.sku_id, r.groups)) or made(r.sku_id, r.groups) for r in rows]


@dataclass
class Answer:
    """Per row: hit, and the error of a row whose condition failed at run time."""

    hits: np.ndarray
    errors: dict[int, str] = field(default_factory=dict)
    vectorised: bool = True
    one_by_one: int = 0  # rows evaluated one by one
    stopped: int | None = None  # the first row not evaluated when the deadline came


LEVEL_COLUMNS = ("sku_id", "warehouse_id", "on_hand", "reserved", "on_order_erp", "on_order_local",
                 "demand_packed")


def read_pairs(conn: Connection) -> list[tuple[Any, ...]]:
    """Every stock level as read, for ``build_rows`` after the transaction ended: a what-if
    never holds the database while it evaluates (issue #13). The demand windows are the packed
    ones (``DemandWindow.to_packed``); a window written without its packed form (by an older
    version, before migration 0022 packed it) is packed here from its JSON."""
    pairs = list(bulk.stream(conn, stock_levels, LEVEL_COLUMNS, raw=("demand_packed",)))
    unpacked = {(s, w): DemandWindow.from_dict(window).to_packed()
                for s, w, window in conn.execute(
                    select(stock_levels.c.sku_id, stock_levels.c.warehouse_id,
                           stock_levels.c.demand_window)
                    .where(stock_levels.c.demand_packed.is_(None),
                           stock_levels.c.demand_window.is_not(None))) if window}
    if unpacked:
        pairs = [(*p[:-1], unpacked.get((p[0], p[1]), p[-1])) for p in pairs]
    return pairs


def load_rows(conn: Connection, snap: Snapshot, ruleset: CompiledRuleset,
              groups: Sequence[str] = ()) -> tuple[list[PairRow], dict[int, float]]:
    return build_rows(read_pairs(conn), snap, ruleset, groups)


def build_rows(pairs: Sequence[tuple[Any, ...]], snap: Snapshot, ruleset: CompiledRuleset,
               groups: Sequence[str] = ()) -> tuple[list[PairRow], dict[int, float]]:
    """Every pair with a stock level (in ``groups`` when given), by SKU then warehouse code,
    and the available stock of each SKU over all warehouses."""
    index = (snap.group_index if snap.ruleset is not None and snap.ruleset.compiled is ruleset
             and snap.group_index else
             GroupIndex(ruleset, snap.sku_facts.values(), snap.warehouse_facts.values()))
    wanted = set(groups)
    rows: list[PairRow] = []
    totals: dict[int, float] = {}
    for sku_id, wh_id, on_hand, reserved, erp, local, window in pairs:
        level = StockLevel(on_hand, reserved, erp, local)
        totals[sku_id] = totals.get(sku_id, 0.0) + level.available
        sku, wh = snap.sku_facts.get(sku_id), snap.warehouse_facts.get(wh_id)
        if sku is None or wh is None:
            continue
        in_groups = index.groups_for(sku["code"], wh["code"])
        if wanted and not wanted.intersection(in_groups):
            continue
        rows.append(PairRow(sku_id, wh_id, level, window, in_groups))
    sku_facts, wh_facts = snap.sku_facts, snap.warehouse_facts
    rows.sort(key=lambda r: (sku_facts[r.sku_id]["code"], wh_facts[r.wh_id]["code"]))
    return rows, totals


def makers_for(conn: Connection, snap: Snapshot, ruleset: CompiledRuleset) -> Makers:
    forecasts = snap.forecasts
    if not forecasts and uses_forecasts(ruleset):
        forecasts = load_forecasts(conn, snap.sku_ids, snap.warehouse_ids)
    return Makers(snap, ruleset, forecasts)


def exact_facts(makers: Makers, row: PairRow, now: datetime, event_type: str,
                totals: dict[int, float] | None) -> dict[str, Any]:
    """The facts of one pair as an event's (a synthetic event of ``event_type`` at ``now``)."""
    snap = makers.snap
    sku, wh = snap.sku_facts[row.sku_id], snap.warehouse_facts[row.wh_id]
    window = row.window
    if isinstance(window, bytes):
        stored = DemandWindow.from_packed(window)
    elif window:
        stored = DemandWindow.from_dict(json.loads(window) if isinstance(window, str) else window)
    else:
        stored = DemandWindow()
    event = StockEvent(id=event_type, type=event_type, sku=sku["code"], warehouse=wh["code"],
                       at=now)
    total = totals.get(row.sku_id, 0.0) if totals is not None else None
    return makers(row.sku_id, row.groups).facts(
        event, sku, wh, row.level, stored, total, now.astimezone(makers.tz).date())


def evaluate_rows(rule: Rule, rows: Sequence[PairRow], makers: Makers, now: datetime,
                  event_type: str = "preview", totals: dict[int, float] | None = None,
                  deadline: float | None = None) -> Answer:
    """Which of ``rows`` the rule's condition holds for now: vectorised, unsure rows and
    conditions that cannot be vectorised one by one (each under the engine's fuel budget; all
    of them stop at ``deadline``, this thread's CPU time, and ``answer.stopped`` says where)."""
    n = len(rows)
    today = now.astimezone(makers.tz).date()
    snap = makers.snap
    try:
        run = vectorize(rule.when)
        cols = fact_columns(rows, today, event_type, makers, snap.sku_facts,
                            snap.warehouse_facts, totals)
        hits, unsure = run(cols)
        hits = np.array(hits, dtype=bool)
        todo = np.flatnonzero(unsure)
        answer = Answer(hits)
    except Unsupported as exc:
        log.debug("rule %s evaluated pair by pair: %s", rule.id, exc)
        answer = Answer(np.zeros(n, dtype=bool), vectorised=False)
        todo = np.arange(n)
    for i in todo.tolist():
        if deadline is not None and time.thread_time() > deadline:
            answer.stopped = int(i)  # rows from here on were not evaluated
            answer.hits[todo[todo >= i]] = False
            break
        facts = exact_facts(makers, rows[i], now, event_type, totals)
        try:
            answer.hits[i] = truthy(rule.condition(facts))
        except Exception as exc:
            answer.hits[i] = False
            answer.errors[int(i)] = f"{type(exc).__name__}: {exc}"
    answer.one_by_one = len(todo)
    return answer


def evaluate_ruleset(pairs: Sequence[tuple[Any, ...]], makers: Makers, snap: Snapshot,
                     ruleset: CompiledRuleset, now: datetime,
                     listed: int = 100) -> dict[str, dict[str, Any]]:
    """Per rule: the pairs in its groups, how many it holds for now (and the first ``listed``
    as SKU@WAREHOUSE), how many failed; what ``POST /ruleset/validate`` reports. ``pairs`` and
    ``makers`` were read before (``read_pairs``, ``makers_for``), in a transaction now ended."""
    rows, totals = build_rows(pairs, snap, ruleset)
    out: dict[str, dict[str, Any]] = {}
    for rule in ruleset.rules:
        wanted = set(rule.groups)
        mine = [r for r in rows if not wanted or wanted.intersection(r.groups)]
        answer = evaluate_rows(rule, mine, makers, now, "preview", totals)
        hits = np.flatnonzero(answer.hits)
        out[rule.id] = {"pairs": len(mine), "hits": len(hits), "failed": len(answer.errors),
                        "hit_pairs": [f"{snap.sku_facts[mine[i].sku_id]['code']}@"
                                      f"{snap.warehouse_facts[mine[i].wh_id]['code']}"
                                      for i in hits[:listed]]}
    return out
