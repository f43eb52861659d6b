"""Backtest use cases (issue #16): read the recorded daily demand and master data, simulate one or
two ruleset versions (``engine.backtest``), tune each group's fill-rate target. Reads only;
``tune`` writes a new version when asked to, nothing else is ever written.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, func, select

from engine.backtest import Result, Series, simulate
from engine.errors import InputInvalid
from engine.membership import GroupIndex
from engine.rules import load_ruleset
from engine.rules.compiled import CompiledRuleset
from engine.rules.editing import dump_yaml
from engine.services import rulesets
from engine.services.engine_cache import Snapshot
from engine.storage.tables import demand_days

TUNE_LEVELS = (0.80, 0.85, 0.90, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995)
"""The fill-rate targets ``tune`` tries for each group."""


@dataclass
class Run:
    version: int
    start: date
    end: date
    result: Result


def compiled_version(conn: Connection, number: int) -> CompiledRuleset:
    text, fmt = rulesets.version_text(conn, number)
    return load_ruleset(text, fmt)


def period(conn: Connection, start: date | None, end: date | None) -> tuple[date, date, date]:
    """(first day of history, first and last simulated day): by default the last year of the
    recorded demand, with at least half of what is recorded before it as history (forecasts
    and demand windows need some)."""
    first, last = conn.execute(select(func.min(demand_days.c.day), func.max(demand_days.c.day))).one()
    if first is None:
        raise InputInvalid([{"field": "from", "message": "there is no recorded demand to replay"}])
    end = min(end or last, last)
    if start is None:
        span = (end - first).days
        start = max(first + timedelta(min(365, span // 2)), end - timedelta(364))
    if start > end:
        raise InputInvalid([{"field": "from", "message": f"'from' ({start}) is after 'to' ({end})"}])
    return first, start, end


def load_series(conn: Connection, snap: Snapshot, ruleset: CompiledRuleset, first: date, end: date,
                groups: Sequence[str] = ()) -> list[Series]:
    """The demand of every pair with recorded demand (in ``groups`` when given), ``first`` to
    ``end``, one row per day."""
    index = GroupIndex(ruleset, snap.sku_facts.values(), snap.warehouse_facts.values())
    wanted = set(groups)
    days = (end - first).days + 1
    rows: dict[tuple[int, int], np.ndarray] = {}
    for sku_id, wh_id, day, qty in conn.execute(
            select(demand_days.c.sku_id, demand_days.c.warehouse_id, demand_days.c.day,
                   demand_days.c.qty).where(demand_days.c.day >= first, demand_days.c.day <= end)):
        series = rows.get((sku_id, wh_id))
        if series is None:
            series = rows[(sku_id, wh_id)] = np.zeros(days)
        series[(day - first).days] += qty
    out = []
    for (sku_id, wh_id), demand in sorted(rows.items()):
        sku, wh = snap.sku_facts.get(sku_id), snap.warehouse_facts.get(wh_id)
        if sku is None or wh is None:
            continue
        in_groups = index.groups_for(sku["code"], wh["code"])
        if wanted and not wanted.intersection(in_groups):
            continue
        out.append(Series(sku, wh, in_groups, snap.links.get(sku_id, ()), demand, first))
    return out


def backtest(conn: Connection, snap: Snapshot, version: int, start: date | None = None,
             end: date | None = None, groups: Sequence[str] = (), seed: int = 1) -> Run:
    """Simulate ``version`` over the recorded demand (touching no live data)."""
    ruleset = compiled_version(conn, version)
    first, start, end = period(conn, start, end)
    series = load_series(conn, snap, ruleset, first, end, groups)
    return Run(version, start, end, simulate(ruleset, series, start, end, seed))


def verdict(a: Run, b: Run) -> dict[str, Any]:
    """Which of two runs is better and why, as numbers a sentence can use: the one with the
    higher fill rate unless both reach the same (within half a point), then the leaner one."""
    ta, tb = a.result.total.summary(), b.result.total.summary()
    fa, fb = ta["fill_rate"] or 0.0, tb["fill_rate"] or 0.0
    sa, sb = ta["avg_on_hand"] or 0.0, tb["avg_on_hand"] or 0.0
    if abs(fa - fb) < 0.005:
        better = a if sa <= sb else b
    else:
        better = a if fa > fb else b
    other = b if better is a else a
    (tbest, stock_best), (tother, stock_other) = (((ta, sa), (tb, sb)) if better is a
                                                  else ((tb, sb), (ta, sa)))
    stock_change = (stock_best - stock_other) / stock_other if stock_other else 0.0
    return {"better": better.version, "other": other.version,
            "fill_better": tbest["fill_rate"], "fill_other": tother["fill_rate"],
            "stock_change": stock_change}


def tune(conn: Connection, snap: Snapshot, version: int, wanted: float,
         start: date | None = None, end: date | None = None, groups: Sequence[str] = (),
         seed: int = 1) -> dict[str, Any]:
    """Per group, the fill-rate target that reaches ``wanted`` fill on history with the least
    average stock (among ``TUNE_LEVELS``), and the document with those targets."""
    base = compiled_version(conn, version)
    first, start, end = period(conn, start, end)
    series = load_series(conn, snap, base, first, end, groups)
    in_play = sorted({g for s in series for g in s.groups} & set(base.groups))
    if groups:
        in_play = [g for g in in_play if g in groups]
    tried: dict[float, Result] = {}
    for level in TUNE_LEVELS:
        doc = _with_fill_rate(base.document, in_play, level)
        tried[level] = simulate(load_ruleset(dump_yaml(doc)), series, start, end, seed)
    chosen: dict[str, dict[str, Any]] = {}
    for group in in_play:
        best = None
        for level, result in tried.items():
            tally = result.groups.get(group)
            if tally is None or not tally.demand:
                continue
            s = tally.summary()
            stock = s["avg_on_hand"] or 0.0
            if (s["fill_rate"] or 0) >= wanted and (best is None or stock < best[2]):
                best = (level, s, stock)
        chosen[group] = ({**best[1], "target": best[0]} if best is not None else
                         {"target": None})
    document = copy.deepcopy(dict(base.document))
    for group in document.get("sku_groups") or []:
        target = chosen.get(group.get("id"), {}).get("target")
        if target is not None:
            group["params"] = dict(group.get("params") or {}, fill_rate=target)
    return {"version": version, "wanted": wanted, "start": start, "end": end, "groups": chosen,
            "document": document}


def _with_fill_rate(document: Any, groups: Sequence[str], level: float) -> dict[str, Any]:
    doc = copy.deepcopy(dict(document))
    for group in doc.get("sku_groups") or []:
        if group.get("id") in groups:
            group["params"] = dict(group.get("params") or {}, fill_rate=level)
    return doc


def write_tuned(conn: Connection, tuned: dict[str, Any], author: str, now: datetime) -> int:
    """Save the tuned document as a new active version."""
    comment = f"tuned to {tuned['wanted']:.1%} fill on {tuned['start']}–{tuned['end']}"
    return rulesets.put(conn, dump_yaml(tuned["document"]), "yaml", author, now, comment=comment)
