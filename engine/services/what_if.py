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
from itertools import repeat
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Connection, select

from engine.calendars import CalendarView
from engine.evaluation import truthy
from engine.fact_columns import fact_columns
from engine.facts import FactMaker
from engine.forecast import Model
from engine.membership import GroupIndex
from engine.metrics import DemandWindow
from engine.pair_rows import PairRow, PairRows
from engine.rules.compiled import CompiledRuleset, Rule
from engine.rules.jsonlogic_vector import Unsupported, vectorize
from engine.services.engine_cache import Snapshot, load_forecasts, uses_forecasts
from engine.stock import StockEvent
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
        self._shared: dict[tuple[Any, tuple[str, ...]], FactMaker] = {}
        self._params: dict[tuple[str, ...], dict[str, Any]] = {}
        self._views: dict[tuple[str, ...], CalendarView | None] = {}

    def __call__(self, sku_id: int, groups: tuple[str, ...]) -> FactMaker:
        key = (sku_id, groups)
        found = self._makers.get(key)
        if found is None:
            # one maker per supplier links (equal values, as SupplierLink compares) and groups:
            # SKUs alike share it
            found = self._makers[key] = self._shared_maker(self.snap.links.get(sku_id, ()),
                                                           groups)
        return found

    def many(self, sku_ids: Sequence[int], groups: tuple[str, ...]) -> list[FactMaker]:
        """``self(s, groups)`` for each of ``sku_ids``, asked once per distinct supplier links
        (SKUs without any share one) rather than per SKU."""
        links = list(map(self.snap.links.get, sku_ids, repeat(())))  # in C, no Python loop
        by_id: dict[int, FactMaker] = {}
        for each in links:
            if id(each) not in by_id:
                by_id[id(each)] = self._shared_maker(each, groups)
        return list(map(by_id.__getitem__, map(id, links)))

    def _shared_maker(self, links: Any, groups: tuple[str, ...]) -> FactMaker:
        shared = (links, groups)
        found = self._shared.get(shared)
        if found is None:
            if groups not in self._params:
                self._params[groups] = self.ruleset.params_for(groups)
                view = CalendarView(self.ruleset.calendars, groups, self.promotion)
                self._views[groups] = view if view else None
            found = self._shared[shared] = FactMaker(
                links, self._params[groups], self.tz, self.promotion, self._views[groups],
                self.forecasts)
        return found


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
              groups: Sequence[str] = ()) -> tuple[PairRows, dict[int, float]]:
    return build_rows(read_pairs(conn), snap, ruleset, groups)


def build_rows(pairs: Sequence[tuple[Any, ...]], snap: Snapshot, ruleset: CompiledRuleset,
               groups: Sequence[str] = ()) -> tuple[PairRows, dict[int, float]]:
    """Every pair with a stock level (in ``groups`` when given), by SKU then warehouse code,
    and the available stock of each SKU over all warehouses. Columns: no object per pair."""
    index = (snap.group_index if snap.ruleset is not None and snap.ruleset.compiled is ruleset
             and snap.group_index else
             GroupIndex(ruleset, snap.sku_facts.values(), snap.warehouse_facts.values()))
    n = len(pairs)
    if n:
        sku_col, wh_col, on_hand_col, reserved_col, erp_col, local_col = list(zip(*pairs))[:6]
    else:
        sku_col = wh_col = on_hand_col = reserved_col = erp_col = local_col = ()
    sku_id = np.array(sku_col, dtype=np.int64)
    wh_id = np.array(wh_col, dtype=np.int64)
    on_hand = np.array(on_hand_col, dtype=np.float64)
    reserved = np.array(reserved_col, dtype=np.float64)
    on_order = np.array(erp_col, dtype=np.float64) + np.array(local_col, dtype=np.float64)
    skus, sku_of = np.unique(sku_id, return_inverse=True)
    whs, wh_of = np.unique(wh_id, return_inverse=True)
    # each SKU's total in the order of the pairs, as adding them one by one (bincount does)
    sums = np.bincount(sku_of, weights=on_hand - reserved, minlength=len(skus))
    totals = dict(zip(skus.tolist(), sums.tolist(), strict=True))
    sku_facts, wh_facts = snap.sku_facts, snap.warehouse_facts
    sku_codes = [(sku_facts.get(s) or {}).get("code") for s in skus.tolist()]
    wh_codes = [(wh_facts.get(w) or {}).get("code") for w in whs.tolist()]
    known = (np.array([s in sku_facts for s in skus.tolist()], dtype=bool)[sku_of]
             & np.array([w in wh_facts for w in whs.tolist()], dtype=bool)[wh_of])
    # groups per SKU profile × warehouse (GroupIndex.profile_of), asked once per distinct one
    profile = [index.profile_of(c) if c is not None else None for c in sku_codes]
    kinds: dict[Any, int] = {}  # a profile, or a SKU without one, numbered
    kind = np.array([kinds.setdefault(p if p is not None else ("sku", k), len(kinds))
                     for k, p in enumerate(profile)], dtype=np.int64)
    keep = np.flatnonzero(known)
    cells, cell_of = np.unique(kind[sku_of[keep]] * max(len(whs), 1) + wh_of[keep],
                               return_inverse=True)
    first = np.zeros(len(cells), dtype=np.int64)
    first[cell_of[::-1]] = keep[::-1]  # a pair of each cell (its first)
    numbers: dict[tuple[str, ...], int] = {}
    cell_groups = np.array([numbers.setdefault(index.groups_for(sku_codes[sku_of[i]],
                                                                wh_codes[wh_of[i]]), len(numbers))
                            for i in first.tolist()], dtype=np.int64)
    group_of = np.zeros(n, dtype=np.int64)
    group_of[keep] = cell_groups[cell_of.reshape(-1)] if len(keep) else 0
    groupings = list(numbers)
    if groups:
        wanted = set(groups)
        ok = np.array([bool(wanted.intersection(g)) for g in groupings], dtype=bool)
        if len(ok):
            keep = keep[ok[group_of[keep]]]
        else:
            keep = keep[:0]
    # by SKU code, then warehouse code
    sku_rank = np.zeros(len(skus), dtype=np.int64)
    ranked = sorted((c, k) for k, c in enumerate(sku_codes) if c is not None)
    sku_rank[[k for _, k in ranked]] = np.arange(len(ranked))
    wh_rank = np.zeros(len(whs), dtype=np.int64)
    ranked_wh = sorted((c, k) for k, c in enumerate(wh_codes) if c is not None)
    wh_rank[[k for _, k in ranked_wh]] = np.arange(len(ranked_wh))
    keep = keep[np.lexsort((wh_rank[wh_of[keep]], sku_rank[sku_of[keep]]))]
    rows = PairRows(pairs, keep, sku_id[keep], wh_id[keep], on_hand[keep], reserved[keep],
                    on_order[keep], group_of[keep], groupings)
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
        facts = exact_facts(makers, rows[int(i)], now, event_type, totals)
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
        mine = rows.in_groups(rule.groups)
        answer = evaluate_rows(rule, mine, makers, now, "preview", totals)
        hits = np.flatnonzero(answer.hits)
        out[rule.id] = {"pairs": len(mine), "hits": len(hits), "failed": len(answer.errors),
                        "hit_pairs": [f"{snap.sku_facts[mine[i].sku_id]['code']}@"
                                      f"{snap.warehouse_facts[mine[i].wh_id]['code']}"
                                      for i in hits[:listed]]}
    return out
