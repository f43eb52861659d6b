"""Rules act at once (#17): an activation evaluates the rules it changed over the current stock.

Saving or activating a version records a run (``rulesets.request_run``, in the activation's
transaction);
after the commit the jobs port starts it (RQ in production, a thread of the web process on the
embedded default; the periodic sweep restarts a run nobody took). The run:

1. resolves every open alert whose rule is gone from the active version (or disabled), with
   resolution ``rule_removed``;
2. finds the candidate pairs of each changed rule: its condition over every SKU×warehouse in
   its groups at once (``what_if``, vectorised), plus the pairs where it has an open alert;
3. evaluates those pairs as an event would (``core.evaluate_only`` with only the changed rules,
   a synthetic ``rule_change`` event at the run's time), a few hundred per transaction: alerts
   open with their tasks, requisitions, notifications and escalations exactly as on an event,
   and an open alert whose condition no longer holds resolves with ``rule_changed``.

Progress (rules checked, then pairs applied) is written as it goes, for the pages to show.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, or_, select, update

from engine.errors import NotFound
from engine.pipeline import core
from engine.rules.compiled import CompiledRuleset, Rule
from engine.rules.impact import changed_rules, live_rules
from engine.services import audit, noise_control, what_if
from engine.services.apply import save
from engine.stock import StockEvent
from engine.storage import stock_state
from engine.storage.tables import (
    OPEN_ALERT_STATES,
    alerts,
    escalations,
    rule_runs,
    skus,
    warehouses,
)
from engine.storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from engine.services.engine_cache import EngineCache
    from engine.services.rulesets import RulesetCache

log = logging.getLogger(__name__)

EVENT_TYPE = "rule_change"  # the synthetic event's type, seen in the alert's facts
RULE_CHANGED, RULE_REMOVED = "rule_changed", "rule_removed"  # alerts.resolution
CHUNK = 500  # pairs per transaction
SHOWN = 200  # alert ids kept on the run for its page
ACTIVE = ("queued", "running")
WAITING_AFTER = timedelta(minutes=1)  # a queued run nobody took is started by the sweep
STALLED_AFTER = timedelta(minutes=10)  # a running run without progress this long is restarted


class Services(Protocol):
    clock: Any
    jobs: Any
    cache: EngineCache
    rulesets: RulesetCache

    def uow(self, statement_commits: bool = False) -> UnitOfWork: ...
    def deliverable_channels(self) -> frozenset[str]: ...


def start_for(svc: Services, version: int) -> int | None:
    """Start the queued run of ``version``'s activation just committed; its id (None: none)."""
    with svc.uow() as uow:
        run_id = queued_of(uow.conn, version)
    start(svc, run_id)
    return run_id


def queued_of(conn: Connection, version: int) -> int | None:
    """The newest run of ``version`` nobody has started."""
    return conn.execute(select(rule_runs.c.id).where(
        rule_runs.c.version == version, rule_runs.c.state == "queued")
        .order_by(rule_runs.c.id.desc()).limit(1)).scalar()


def start(svc: Services, run_id: int | None) -> bool:
    """Hand a recorded run to the jobs port (after the commit); False when nothing took it (the
    sweep will)."""
    if run_id is None:
        return False
    try:
        return bool(svc.jobs.run_rules(run_id))
    except Exception:  # the activation is committed; the sweep starts the run
        log.warning("could not start rule run %s; the periodic work will", run_id, exc_info=True)
        return False


def get(conn: Connection, run_id: int) -> dict[str, Any]:
    row = conn.execute(select(rule_runs).where(rule_runs.c.id == run_id)).first()
    if row is None:
        raise NotFound("rule run", run_id)
    return dict(row._mapping)


def latest(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(rule_runs).order_by(rule_runs.c.id.desc()).limit(1)).first()
    return dict(row._mapping) if row is not None else None


def of_version(conn: Connection, version: int) -> list[dict[str, Any]]:
    """The runs of a version's activations, newest first."""
    return [dict(r._mapping) for r in conn.execute(
        select(rule_runs).where(rule_runs.c.version == version).order_by(rule_runs.c.id.desc()))]


def alerts_of(conn: Connection, ids: list[int]) -> list[dict[str, Any]]:
    """Alerts by id with their SKU and warehouse (a run's page lists those it opened)."""
    if not ids:
        return []
    rows = conn.execute(
        select(alerts.c.id, alerts.c.rule, alerts.c.severity, alerts.c.state,
               alerts.c.opened_at, skus.c.code.label("sku"), skus.c.name.label("sku_name"),
               warehouses.c.code.label("warehouse"))
        .join(skus, skus.c.id == alerts.c.sku_id)
        .join(warehouses, warehouses.c.id == alerts.c.warehouse_id)
        .where(alerts.c.id.in_(ids)).order_by(alerts.c.id))
    return [dict(r._mapping) for r in rows]


def restart_waiting(svc: Services) -> list[int]:
    """Start the runs nobody took (a queued one after ``WAITING_AFTER``, a running one without
    progress for ``STALLED_AFTER``: its process died). The periodic sweep's part."""
    now = svc.clock.now()
    with svc.uow() as uow:
        ids = list(uow.conn.execute(select(rule_runs.c.id).where(or_(
            (rule_runs.c.state == "queued") & (rule_runs.c.updated_at <= now - WAITING_AFTER),
            (rule_runs.c.state == "running") & (rule_runs.c.updated_at <= now - STALLED_AFTER),
        )).order_by(rule_runs.c.id)).scalars())
        if ids:  # handed over once a minute at most, whatever the queue does with it
            uow.conn.execute(update(rule_runs).where(rule_runs.c.id.in_(ids),
                                                     rule_runs.c.state == "queued")
                             .values(updated_at=now))
            uow.commit()
    return [i for i in ids if start(svc, i)]


def _claim(conn: Connection, run_id: int, now: datetime) -> bool:
    """Take the run: queued, or running without a sign of life (its process died)."""
    done = conn.execute(update(rule_runs).where(
        rule_runs.c.id == run_id,
        or_(rule_runs.c.state == "queued",
            (rule_runs.c.state == "running") & (rule_runs.c.updated_at <= now - STALLED_AFTER)),
    ).values(state="running", started_at=now, updated_at=now, message=None))
    return done.rowcount == 1


def _set(svc: Services, run_id: int, **values: Any) -> None:
    with svc.uow() as uow:
        uow.conn.execute(update(rule_runs).where(rule_runs.c.id == run_id)
                         .values(updated_at=svc.clock.now(), **values))
        uow.commit()


def run(svc: Services, run_id: int) -> dict[str, Any]:
    """The job: evaluate the run's changed rules over the current stock. Returns the run."""
    now = svc.clock.now()
    with svc.uow() as uow:
        if not _claim(uow.conn, run_id, now):
            return get(uow.conn, run_id)  # done, failed, or taken by another process
        uow.commit()
    try:
        counts = _evaluate(svc, run_id, now)
    except Exception as exc:
        log.exception("rule run %s failed", run_id)
        _set(svc, run_id, state="failed", finished_at=svc.clock.now(),
             message=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    with svc.uow() as uow:
        uow.conn.execute(update(rule_runs).where(rule_runs.c.id == run_id).values(
            state="done", finished_at=svc.clock.now(), updated_at=svc.clock.now(), counts=counts))
        row = get(uow.conn, run_id)
        audit.record(uow.conn, svc.clock.now(), "system", "ruleset.evaluate",
                     f"version {row['version']}", run=run_id, rules=row["rules"],
                     **{k: v for k, v in counts.items() if k != "alerts"})
        uow.commit()
        return get(uow.conn, run_id)


def _evaluate(svc: Services, run_id: int, now: datetime) -> dict[str, Any]:
    counts: dict[str, Any] = {"pairs": 0, "candidates": 0, "opened": 0, "resolved": 0,
                              "removed": 0, "tasks": 0, "requisitions": 0, "alerts": []}
    with svc.uow() as uow:
        conn = uow.conn
        row = get(conn, run_id)
        snap = svc.cache.current(conn)
        if snap.ruleset is None:
            return counts
        compiled = snap.ruleset.compiled
        old = _compiled(svc, conn, row["previous"])
        new = _compiled(svc, conn, row["version"]) or compiled
        ids = [i for i in changed_rules(old, new) if i in live_rules(compiled)]
        counts["removed"] = _resolve_removed(conn, compiled, now)
        conn.execute(update(rule_runs).where(rule_runs.c.id == run_id).values(
            rules=ids, phase="checking", progress_total=len(ids), updated_at=now))
        uow.commit()
        rules = [r for r in compiled.rules if r.id in set(ids)]
        if not rules:
            return counts
        pairs = what_if.read_pairs(conn)
        makers = what_if.makers_for(conn, snap, compiled)
        keys: set[tuple[int, int]] = {(s, w) for s, w in conn.execute(
            select(alerts.c.sku_id, alerts.c.warehouse_id).where(
                alerts.c.rule.in_(ids), alerts.c.state.in_(OPEN_ALERT_STATES)))}
    # the conditions over every pair at once, outside any transaction
    rows, totals = what_if.build_rows(pairs, snap, compiled)
    counts["pairs"] = len(rows)
    for done, rule in enumerate(rules, 1):
        wanted = set(rule.groups)
        mine = [r for r in rows if not wanted or wanted.intersection(r.groups)]
        answer = what_if.evaluate_rows(rule, mine, makers, now, EVENT_TYPE, totals)
        keys.update((mine[i].sku_id, mine[i].wh_id) for i in answer.hits.nonzero()[0])
        _set(svc, run_id, progress_done=done)
    candidates = sorted(keys)
    counts["candidates"] = len(candidates)
    _set(svc, run_id, phase="applying", progress_done=0, progress_total=len(candidates))
    for start_at in range(0, len(candidates), CHUNK):
        _apply_chunk(svc, run_id, candidates[start_at:start_at + CHUNK], set(ids), now, counts)
    return counts


def _compiled(svc: Services, conn: Connection, number: int | None) -> CompiledRuleset | None:
    if number is None:
        return None
    try:
        return svc.rulesets.get(conn, number)
    except NotFound:
        return None


def _resolve_removed(conn: Connection, compiled: CompiledRuleset, now: datetime) -> int:
    """Resolve the open alerts of rules no longer in ``compiled`` (or disabled there)."""
    live = live_rules(compiled)
    found = [i for i, rule in conn.execute(select(alerts.c.id, alerts.c.rule).where(
        alerts.c.state.in_(OPEN_ALERT_STATES))) if rule not in live]
    for start_at in range(0, len(found), CHUNK):
        chunk = found[start_at:start_at + CHUNK]
        conn.execute(update(alerts).where(alerts.c.id.in_(chunk),
                                          alerts.c.state.in_(OPEN_ALERT_STATES))
                     .values(state="resolved", resolved_at=now, resolution=RULE_REMOVED))
        conn.execute(update(escalations).where(
            escalations.c.alert_id.in_(chunk), escalations.c.fired_at.is_(None),
            escalations.c.cancelled_at.is_(None)).values(cancelled_at=now))
    return len(found)


def _apply_chunk(svc: Services, run_id: int, keys: list[tuple[int, int]], ids: set[str],
                 now: datetime, counts: dict[str, Any]) -> None:
    """One transaction: these pairs as an event would see them, the changed rules only."""
    follow_ups: list[tuple[int, str]] = []
    with svc.uow() as uow:
        conn = uow.conn
        snap = svc.cache.current(conn)  # the active version now: a later save may have come
        if snap.ruleset is None:
            return
        rules: list[Rule] = [r for r in snap.ruleset.compiled.rules if r.enabled and r.id in ids]
        keys = [k for k in keys if k[0] in snap.sku_facts and k[1] in snap.warehouse_facts]
        state = stock_state.load(conn, snap, keys)
        state.mutes = noise_control.active_mutes(conn, now, {s for s, _ in keys})  # issue #17
        tz = snap.tz
        day = now.astimezone(tz).date() if tz is not None else now.date()
        changes = core.evaluate_only(state, snap, [
            (StockEvent(id=f"{EVENT_TYPE}-{run_id}", type=EVENT_TYPE,
                        sku=snap.sku_facts[s]["code"], warehouse=snap.warehouse_facts[w]["code"],
                        at=now), s, w, day)
            for s, w in keys], only=rules, reason=RULE_CHANGED)
        saved = save(conn, changes, snap, now, svc.deliverable_channels())
        counts["opened"] += saved.alerts_opened
        counts["resolved"] += changes.alerts_resolved
        counts["tasks"] += saved.tasks
        counts["requisitions"] += saved.requisitions
        room = SHOWN - len(counts["alerts"])
        if room > 0:
            counts["alerts"] += [a.id for a in changes.new_alerts if a.id is not None][:room]
        conn.execute(update(rule_runs).where(rule_runs.c.id == run_id).values(
            progress_done=rule_runs.c.progress_done + len(keys), updated_at=svc.clock.now(),
            counts=dict(counts)))
        uow.commit()
        follow_ups = saved.follow_ups
    for row_id, kind in follow_ups:
        svc.jobs.dispatch(row_id, kind)
