"""The daily run (issue #16): rules ``on: [daily]`` evaluated over every SKU×warehouse, for facts
that change without any event (days since the last sale, calendars, forecasts).

Each daily rule's condition runs over the whole catalogue at once (``what_if``); the pairs it
holds for, and those with an open alert of a daily rule (which may resolve), then go through
the same per-pair step as a stock event (``engine.pipeline.core.evaluate_only`` with a synthetic ``daily``
event at the run's time): one alert per rule and pair, cooldowns, actions, all in one
transaction. Rules of other alerts open on those pairs may auto-resolve too, as on any event.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, select

from engine.pipeline import core
from engine.rules.compiled import DAILY
from engine.services import audit, noise_control, what_if
from engine.services.apply import save
from engine.snapshot import Snapshot
from engine.stock import StockEvent
from engine.storage import stock_state
from engine.storage.tables import OPEN_ALERT_STATES, alerts, audit_log

log = logging.getLogger(__name__)
ACTION = "daily.run"
EVERY = timedelta(days=1)


@dataclass
class DailyReport:
    rules: int = 0
    pairs: int = 0  # pairs evaluated over columns
    candidates: int = 0  # pairs evaluated as an event would be
    opened: int = 0
    resolved: int = 0
    tasks: int = 0
    requisitions: int = 0
    follow_ups: list[tuple[int, str]] = field(default_factory=list)


def due(conn: Connection, now: datetime) -> bool:
    last = conn.execute(select(func.max(audit_log.c.at)).where(audit_log.c.action == ACTION)).scalar()
    return last is None or now - last >= EVERY


def run(conn: Connection, snap: Snapshot, now: datetime,
        deliverable: frozenset[str] | None = None) -> DailyReport:
    """Evaluate the daily rules over every pair and apply what they decide, in ``conn``'s
    transaction."""
    report = DailyReport()
    if snap.ruleset is None:
        return report
    compiled = snap.ruleset.compiled
    rules = [r for r in compiled.rules if r.enabled and DAILY in r.on]
    report.rules = len(rules)
    if not rules:
        return report
    # a group rule (issue #19) is evaluated once per group×warehouse, through one member pair
    group_rules = [r for r in rules if r.per == "group_warehouse"]
    rules = [r for r in rules if r.per != "group_warehouse"]
    rows, totals = what_if.load_rows(conn, snap, compiled)
    report.pairs = len(rows)
    makers = what_if.Makers(snap, compiled, snap.forecasts)
    keys: set[tuple[int, int]] = set()
    for rule in rules:
        mine = rows.in_groups(rule.groups)
        answer = what_if.evaluate_rows(rule, mine, makers, now, DAILY, totals)
        keys.update((mine[i].sku_id, mine[i].wh_id) for i in answer.hits.nonzero()[0])
    for rule in group_rules:
        for group_id in rule.groups:
            keys.update((skus[0], wh_id) for wh_id, skus in snap.group_members(group_id).items()
                        if skus)
    ids = [r.id for r in (*rules, *group_rules)]
    keys.update((s, w) for s, w in conn.execute(select(alerts.c.sku_id, alerts.c.warehouse_id).where(
        alerts.c.rule.in_(ids), alerts.c.state.in_(OPEN_ALERT_STATES))))
    report.candidates = len(keys)
    state = stock_state.load(conn, snap, keys)
    state.mutes = noise_control.active_mutes(conn, now, {s for s, _ in keys})  # issue #17
    today = now.astimezone(makers.tz).date()
    changes = core.evaluate_only(state, snap, [
        (StockEvent(id=f"daily-{today.isoformat()}", type=DAILY, sku=snap.sku_facts[sku_id]["code"],
                    warehouse=snap.warehouse_facts[wh_id]["code"], at=now), sku_id, wh_id, today)
        for sku_id, wh_id in sorted(keys)])
    saved = save(conn, changes, snap, now, deliverable)
    report.opened, report.resolved = saved.alerts_opened, changes.alerts_resolved
    report.tasks, report.requisitions = saved.tasks, saved.requisitions
    report.follow_ups = saved.follow_ups
    audit.record(conn, now, "system", ACTION, today.isoformat(), rules=report.rules,
                 pairs=report.pairs, opened=report.opened, resolved=report.resolved)
    return report
