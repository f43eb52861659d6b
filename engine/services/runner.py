"""Running outbox rows: the handler per kind, the transaction around it, and the relay loop.

The same code runs a job inline (embedded default) and in an RQ worker (production).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from engine.services import abc, escalations, outbox
from engine.services.ingest import apply_pending

if TYPE_CHECKING:
    from engine.bootstrap import Services

log = logging.getLogger(__name__)


def _handlers(svc: Services) -> dict[str, outbox.Handler]:
    def apply(conn: Connection, payload: dict[str, Any], now: datetime) -> list[tuple[int, str]]:
        _, follow_ups = apply_pending(conn, svc.cache.current(conn), now, svc.deliverable_channels(),
                                      clock=svc.clock.now)
        return follow_ups

    def deliver(conn: Connection, payload: dict[str, Any], now: datetime) -> list[tuple[int, str]]:
        from engine.services import deliveries

        return deliveries.deliver(conn, int(payload["notification"]), svc.channels(),
                                  svc.channel_config(), now) or []

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
            applied, follow_ups = apply_pending(uow.conn, svc.cache.current(uow.conn), now,
                                                svc.deliverable_channels(), clock=svc.clock.now)
            uow.commit()
    except Exception as exc:
        _record_failure(svc, outbox_ids, exc)
        raise
    for row_id, kind in follow_ups:
        svc.jobs.dispatch(row_id, kind)
    return f"applied {applied} event(s)"


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
    """Hand due outbox rows to the queue; rows it cannot hand over go back to pending."""
    now = svc.clock.now()
    with svc.uow() as uow:
        claimed = outbox.claim(uow.conn, now, limit, lease)
        uow.commit()
    failed = svc.jobs.dispatch_many(claimed)
    if failed:
        with svc.uow() as uow:
            outbox.release(uow.conn, failed, now, timedelta(seconds=2))
            uow.commit()
    return len(claimed) - len(failed)


def sweep_once(svc: Services) -> int:
    """Fire due escalations (a database sweep: a lost scheduler never loses one) and move tasks
    past their due time to their role's ``escalate_to``; once a day, recompute ABC classes from
    revenue share, then the demand forecasts, then run the daily rules (issue #16)."""
    now = svc.clock.now()
    with svc.uow() as uow:
        active = svc.rulesets.active(uow.conn)
        fired = escalations.fire_all(uow.conn, now, active.compiled if active else None)
        uow.commit()
    with svc.uow() as uow:
        if abc.due(uow.conn, now):
            abc.recompute(uow.conn, now.date(), now=now)
            uow.commit()
    run_daily_jobs(svc, now)
    svc.imports.start_due()  # import sources configured to sync every N minutes
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
