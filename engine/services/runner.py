"""Running outbox rows: the handler per kind, the transaction around it, and the relay loop.

The same code runs a job inline (embedded default) and in an RQ worker (production).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection

from engine.clock import Clock
from engine.config import Settings
from engine.jobs import Jobs
from engine.services import abc, digests, escalations, noise_control, outbox, rule_runs
from engine.services.apply import Applied, Group, apply_pending, finish_announced, route
from engine.services.engine_cache import EngineCache
from engine.services.rulesets import RulesetCache
from engine.storage import supply_store
from engine.storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


class Services(Protocol):
    """What running jobs needs of the composition root (``engine.bootstrap.Services``)."""

    settings: Settings
    clock: Clock
    cache: EngineCache
    rulesets: RulesetCache
    jobs: Jobs

    def uow(self, statement_commits: bool = False) -> UnitOfWork: ...
    def channels(self) -> dict[str, Any]: ...
    def channel_config(self) -> dict[str, Any]: ...
    def deliverable_channels(self) -> frozenset[str]: ...
    @property
    def imports(self) -> Any: ...  # engine.imports.service.ImportService


def _partitions(svc: Services, conn: Connection) -> int:
    """Apply partitions: the configured number on PostgreSQL; one on SQLite (one writer)."""
    return svc.settings.apply_partitions if conn.dialect.name == "postgresql" else 1


def _handlers(svc: Services) -> dict[str, outbox.Handler]:
    def apply(conn: Connection, payload: dict[str, Any], now: datetime) -> list[tuple[int, str]]:
        done = apply_pending(conn, svc.cache.current(conn), now, svc.deliverable_channels(),
                             clock=svc.clock.now, partitions=_partitions(svc, conn))
        finish_announced(conn, now)  # the other rows whose events this applied (it holds every partition)
        return done.follow_ups

    def deliver(conn: Connection, payload: dict[str, Any], now: datetime) -> list[tuple[int, str]]:
        from engine.services import deliveries
        from engine.services.digests import Policy

        active = svc.rulesets.active(conn)
        return deliveries.deliver(conn, int(payload["notification"]), svc.channels(),
                                  svc.channel_config(), now,
                                  Policy.of(active.compiled if active else None)) or []

    return {"apply_events": apply, "deliver": deliver}


def run_outbox(svc: Services, outbox_id: int) -> str:
    """Run one outbox row in its own transaction; failures are recorded, then re-raised so the
    queue retries with backoff."""
    try:
        with svc.uow() as uow:
            status, follow_ups = outbox.run(uow.conn, outbox_id, _handlers(svc), svc.clock.now())
            uow.commit()
    except Exception as exc:
        _record_failure(svc, [outbox_id], exc)
        raise
    for row_id, kind in follow_ups:
        svc.jobs.dispatch(row_id, kind)
    return status


def run_outbox_batch(svc: Services, outbox_ids: list[int]) -> str:
    """Apply everything recorded and not yet applied, in arrival order, in one transaction (a
    group commit for all the rows that woke it); a row already done is just acknowledged."""
    try:
        with svc.uow() as uow:
            now = svc.clock.now()
            if not outbox.lock_pending(uow.conn, outbox_ids):
                return "nothing to do"
            done = apply_pending(uow.conn, svc.cache.current(uow.conn), now,
                                 svc.deliverable_channels(), clock=svc.clock.now,
                                 partitions=_partitions(svc, uow.conn))
            uow.commit()
    except Exception as exc:
        _record_failure(svc, outbox_ids, exc)
        raise
    _finish(svc, done, outbox_ids)
    return f"applied {done.events} event(s)"


def run_partitions(svc: Services, group: list[int], outbox_ids: list[int]) -> str:
    """Apply the waiting events of a group of SKU partitions (PostgreSQL), in arrival order, one
    transaction per partition under its lock (a busy partition is skipped: its rows go out
    again at the relay's next pass); then mark done the rows whose events are all applied.
    A partition per transaction: one slow SKU holds up its partition, not the group's.
    ``outbox_ids``: the rows that asked for it (their failures are noted there)."""
    done = Applied()
    try:
        for partition in group:
            with svc.uow() as uow:
                one = apply_pending(
                    uow.conn, svc.cache.current(uow.conn), svc.clock.now(),
                    svc.deliverable_channels(), clock=svc.clock.now, group=[partition],
                    partitions=_partitions(svc, uow.conn))
                uow.commit()
            done.events += one.events
            done.follow_ups += one.follow_ups
            done.skipped += one.skipped
            done.at_limit = done.at_limit or one.at_limit
    except Exception as exc:
        _record_failure(svc, outbox_ids, exc)
        raise
    _finish(svc, done, outbox_ids)
    skipped = f", skipped {done.skipped} (busy)" if done.skipped else ""
    return f"applied {done.events} event(s) of partitions {group}{skipped}"


def _finish(svc: Services, done: Applied, outbox_ids: list[int]) -> None:
    """After an apply job's commit: mark its finished rows done (``finish_announced``); rows
    still waiting are handed over at the relay's next pass when the job stopped at its limit
    (all of them) or skipped a busy partition (its own); then its follow-ups go out."""
    with svc.uow() as uow:
        finish_announced(uow.conn, svc.clock.now(), backlog=done.at_limit or bool(done.skipped),
                         rows=None if done.at_limit else outbox_ids)
        uow.commit()
    for row_id, kind in done.follow_ups:
        svc.jobs.dispatch(row_id, kind)


def _record_failure(svc: Services, outbox_ids: list[int], exc: Exception) -> None:
    """Note the failure on every row of the job in one transaction (a batch job may carry
    500); a failed delivery also marks its notification."""
    try:
        with svc.uow() as uow:
            now = svc.clock.now()
            for row_id in outbox_ids:
                outbox.record_failure(uow.conn, row_id, f"{type(exc).__name__}: {exc}", now)
                if type(exc).__name__ == "DeliveryFailed":
                    from engine.services import deliveries

                    row = uow.conn.execute(outbox.select_payload(row_id)).first()
                    if row is not None and "notification" in row.payload:
                        deliveries.mark_failed(uow.conn, int(row.payload["notification"]),
                                               str(exc), getattr(exc, "retryable", True), now)
            uow.commit()
    except Exception:  # never hide the original failure behind a bookkeeping one
        log.exception("could not record the failure of outbox rows %s…", outbox_ids[:1])


def relay_once(svc: Services, limit: int = 500, lease: timedelta = outbox.LEASE) -> int:
    """Hand due outbox rows to the queue; rows it cannot hand over go back to pending.

    On PostgreSQL with a queue, ``apply_events`` rows go out as jobs for the SKU partitions
    their events are in, one per live applier (``route``): workers apply them side by side."""
    now = svc.clock.now()
    routes: list[Group] | None = None
    with svc.uow() as uow:
        claimed = outbox.claim(uow.conn, now, limit, lease)
        total = len(claimed)
        applies = [r for r, kind in claimed if kind == "apply_events"]
        if applies and not svc.jobs.inline and _partitions(svc, uow.conn) > 1:
            routes = route(uow.conn, applies, _partitions(svc, uow.conn), svc.jobs.appliers())
            claimed = [(r, kind) for r, kind in claimed if kind != "apply_events"]
        uow.commit()
    if routes is not None and set(applies) - {r for g in routes for r in g.rows}:
        with svc.uow() as uow:  # rows whose events others applied meanwhile
            finish_announced(uow.conn, now)
            uow.commit()
    failed = svc.jobs.dispatch_many(claimed)
    if routes:
        failed += svc.jobs.dispatch_partitions([(g.partitions, g.rows) for g in routes])
    if failed:
        with svc.uow() as uow:
            outbox.release(uow.conn, failed, now, timedelta(seconds=2))
            uow.commit()
    return total - len(set(failed))


def sweep_once(svc: Services) -> int:
    """End snoozes whose time is up, fire due escalations (a database sweep: a lost scheduler
    never loses one), send the day's digests (issue #17) and move tasks
    past their due time to their role's ``escalate_to``; once a day, recompute ABC classes from
    revenue share, then the demand forecasts, then run the daily rules (issue #16)."""
    now = svc.clock.now()
    with svc.uow() as uow:  # snoozes whose time is up end first: their escalations fire now
        follow = noise_control.end_expired(uow.conn, now)
        uow.commit()
    with svc.uow() as uow:
        active = svc.rulesets.active(uow.conn)
        fired = escalations.fire_all(uow.conn, now, active.compiled if active else None)
        uow.commit()
    with svc.uow() as uow:  # today's digests, once per role and channel (issue #17)
        follow += digests.run(uow.conn, active.compiled if active else None, now,
                              svc.deliverable_channels())
        uow.commit()
    for row_id, kind in follow:
        svc.jobs.dispatch(row_id, kind)
    with svc.uow() as uow:  # receipts observed since the last pass: learned lead times (#19)
        if supply_store.publish_learning(uow.conn):
            uow.commit()
    with svc.uow() as uow:
        if abc.due(uow.conn, now):
            abc.recompute(uow.conn, now.date(), now=now)
            uow.commit()
    run_daily_jobs(svc, now)
    svc.imports.start_due()  # import sources configured to sync every N minutes
    rule_runs.restart_waiting(svc)  # an activation whose evaluation nobody took (#17)
    return len(fired)


def run_daily_jobs(svc: Services, now: datetime, force: bool = False) -> dict[str, Any]:
    """The forecasts (when a day old) and then the daily rules (when a day old), each in its
    own transaction; ``force`` runs both now. Returns what each did."""
    from engine.services import daily, forecasts

    out: dict[str, Any] = {}
    with svc.uow() as uow:
        if force or forecasts.due(uow.conn, now):
            snap = svc.cache.current(uow.conn)
            if snap.ruleset is not None:
                tz = snap.tz
                out["forecasts"] = forecasts.recompute(uow.conn, snap, now.astimezone(tz).date(), now)
                uow.commit()
    with svc.uow() as uow:
        if force or daily.due(uow.conn, now):
            report = daily.run(uow.conn, svc.cache.current(uow.conn), now,
                               svc.deliverable_channels())
            uow.commit()
            out["daily"] = report
            for row_id, kind in report.follow_ups:
                svc.jobs.dispatch(row_id, kind)
    return out


# Seconds a relay pauses after a pass that was not full. Each pass that finds work costs one
# RQ job (~20 ms CPU of fixed cost: the enqueue, RQ's own Redis bookkeeping, the apply
# transaction's statements), so at 0.2 s two workers spent ~0.2 s CPU a second on job
# overhead alone under a steady trickle of single-event requests; at 0.5 s, 0.08 s. Events
# wait at most about this long for their job (the latency target is p99 <= 2 s).
RELAY_INTERVAL = 0.5


class Relay(threading.Thread):
    """Background loop in every worker: relay the outbox, sweep escalations."""

    def __init__(self, svc: Services, interval: float = RELAY_INTERVAL, sweep_every: float = 30.0,
                 lease: timedelta = outbox.LEASE, limit: int = 500) -> None:
        super().__init__(name="outbox-relay", daemon=True)
        self.svc, self.interval, self.sweep_every, self.lease = svc, interval, sweep_every, lease
        self.limit = limit
        self.stopping = threading.Event()

    def run(self) -> None:
        last_sweep = 0.0
        import time

        while not self.stopping.is_set():
            try:
                moved = relay_once(self.svc, limit=self.limit, lease=self.lease)
                if time.monotonic() - last_sweep >= self.sweep_every:
                    sweep_once(self.svc)
                    last_sweep = time.monotonic()
            except Exception:
                log.exception("relay pass failed; retrying")
                moved = 0
            # Pause after a pass that moved rows too, unless it was full: the rows of the next
            # interval then go out as one job (one apply transaction) instead of one job for
            # every request that arrived while the previous pass ran.
            if moved < self.limit:
                self.stopping.wait(self.interval)
