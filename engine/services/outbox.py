"""The transactional outbox: add rows with their cause, relay them to the jobs port, run them.

A row is claimed for dispatch with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and by a guarded
``UPDATE`` (a lease) on SQLite, so several relays never hand the same row over twice at once;
a row still ``dispatched`` when its lease runs out is handed over again — that is how work a
lost Redis dropped comes back. The job itself locks its row and marks it ``done`` in the
transaction of its effects: the database, not the queue, decides whether it already ran.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from engine.storage.bulk import in_ids
from engine.storage.tables import outbox

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 8

Handler = Callable[[Connection, dict[str, Any], datetime], list[tuple[int, str]]]


_ADD = insert(outbox).returning(outbox.c.id)  # built once: every ingest request runs it


def add(conn: Connection, kind: str, payload: dict[str, Any], now: datetime) -> int:
    return conn.execute(_ADD, {"kind": kind, "payload": payload, "status": "pending",
                               "available_at": now, "created_at": now}).scalar_one()


def delete(conn: Connection, outbox_id: int) -> None:
    conn.execute(outbox.delete().where(outbox.c.id == outbox_id))


def lease_now(conn: Connection, outbox_id: int, now: datetime, lease: timedelta = LEASE) -> None:
    """Mark a row as handed over by its writer (which dispatches it right after commit)."""
    conn.execute(update(outbox).where(outbox.c.id == outbox_id)
                 .values(status="dispatched", lease_until=now + lease, attempts=1))


def claim(conn: Connection, now: datetime, limit: int = 200, lease: timedelta = LEASE) -> list[tuple[int, str]]:
    """Take up to ``limit`` rows that are due for dispatch; they are leased until ``now + lease``."""
    due = and_(outbox.c.available_at <= now, or_(
        outbox.c.status == "pending",
        and_(outbox.c.status == "dispatched", outbox.c.lease_until < now)))
    pick = select(outbox.c.id).where(due).order_by(outbox.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # One statement, not a SELECT and an UPDATE per row: the relay runs it several times a second.
    # MATERIALIZED: the pick runs once; as a plain IN (subquery) PostgreSQL may rescan it, and
    # each rescan skips the rows this UPDATE already took and adds more, past the limit.
    picked = pick.cte("pick").prefix_with("MATERIALIZED")
    rows = conn.execute(update(outbox).where(outbox.c.id.in_(select(picked.c.id)), due)
                        .values(status="dispatched", lease_until=now + lease,
                                attempts=outbox.c.attempts + 1)
                        .returning(outbox.c.id, outbox.c.kind))
    return sorted((r.id, r.kind) for r in rows)


def release(conn: Connection, ids: list[int], now: datetime, delay: timedelta) -> None:
    """Put rows back to pending (the queue was unreachable), to be tried after ``delay``."""
    if ids:
        conn.execute(update(outbox).where(outbox.c.id.in_(ids), outbox.c.status == "dispatched")
                     .values(status="pending", available_at=now + delay, lease_until=None))


def run(conn: Connection, outbox_id: int, handlers: dict[str, Handler], now: datetime) -> tuple[str, list[tuple[int, str]]]:
    """Run one row's work inside the caller's transaction; ``("done", follow-up rows)``.

    The row is locked first; a row already done answers ``("already done", [])`` and changes
    nothing, which makes every job idempotent whatever the queue does.
    """
    query = select(outbox).where(outbox.c.id == outbox_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        return "missing", []
    if row.status == "done":
        return "already done", []
    follow_ups = handlers[row.kind](conn, dict(row.payload), now)
    conn.execute(update(outbox).where(outbox.c.id == outbox_id)
                 .values(status="done", done_at=now, lease_until=None, last_error=None))
    return "done", follow_ups


def lock_pending(conn: Connection, ids: list[int]) -> list[int]:
    """Lock those of ``ids`` that are not done yet; on PostgreSQL skip rows another transaction
    holds (that worker is running them)."""
    query = (select(outbox.c.id)
             .where(in_ids(conn, outbox.c.id, ids), outbox.c.status != "done").order_by(outbox.c.id))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(conn.execute(query).scalars())


def mark_done(conn: Connection, ids: list[int], now: datetime) -> None:
    conn.execute(update(outbox).where(outbox.c.id.in_(ids))
                 .values(status="done", done_at=now, lease_until=None, last_error=None))


def record_failure(conn: Connection, outbox_id: int, error: str, now: datetime) -> None:
    """Note why a run failed; after MAX_ATTEMPTS the row is ``failed``, visible, and retried only
    by an admin."""
    conn.execute(update(outbox).where(outbox.c.id == outbox_id, outbox.c.status != "done")
                 .values(last_error=error[:2000]))
    conn.execute(update(outbox).where(outbox.c.id == outbox_id, outbox.c.attempts >= MAX_ATTEMPTS,
                                      outbox.c.status != "done").values(status="failed"))


def retry_failed(conn: Connection, now: datetime, ids: list[int] | None = None) -> int:
    query = update(outbox).where(outbox.c.status == "failed")
    if ids:
        query = query.where(outbox.c.id.in_(ids))
    return conn.execute(query.values(status="pending", attempts=0, available_at=now)).rowcount


def stats(conn: Connection, now: datetime) -> dict[str, Any]:
    counts = {s: n for s, n in conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))}
    oldest = conn.execute(select(func.min(outbox.c.created_at))
                          .where(outbox.c.status.in_(("pending", "dispatched")))).scalar()
    return {"counts": counts,
            "oldest_pending_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0}


def select_payload(outbox_id: int) -> Any:
    return select(outbox.c.payload).where(outbox.c.id == outbox_id)
