"""Ingesting stock events in batches, and reviewing and replaying the rejected ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select, update

from engine.errors import InputInvalid, NotFound
from engine.jobs import Jobs
from engine.services import outbox
from engine.services.engine_cache import EngineCache
from engine.services.ingest import BatchStats, ItemResult, ingest, record
from engine.storage.tables import rejected_events
from engine.storage.unit_of_work import UnitOfWork


def ingest_batch(uow: UnitOfWork, cache: EngineCache, items: Sequence[Any], now: Any,
                 max_items: int, source: str = "api", jobs: Jobs | None = None,
                 deliverable: frozenset[str] | None = None,
                 state_key: tuple[int | None, int] | None = None,
                 ) -> tuple[list[ItemResult], BatchStats]:
    """Take a batch and answer item by item.

    Inline (embedded default): record and apply in one transaction. With a queue: record the
    events and an ``apply_events`` outbox row in one transaction, answer, and let a worker
    apply them; if the queue is down the relay hands the row over later (nothing is lost).
    ``state_key``: the snapshot key when the caller already read it (``EngineCache.current``).
    """
    if len(items) > max_items:
        raise InputInvalid([{"field": "", "message": f"{len(items)} events in one request; "
                                                     f"the limit is {max_items}"}])
    snap = cache.current(uow.conn, state_key)
    queued = jobs is not None and not jobs.inline
    if not (queued and len(items) == 1):
        # A queued single event writes with at most one statement (its row and outbox row, or
        # its rejection): it may run in a unit of work opened with ``statement_commits``.
        uow.transaction()
    if not queued:
        results, stats = ingest(uow.conn, items, snap, now, source, deliverable)
        uow.commit()
        follow_ups = stats.follow_ups
    else:
        # Each event names the outbox row that announces it; the relay in the workers hands
        # that row over within a tick, grouped with others into one job.
        if uow.conn.dialect.name == "postgresql":  # both in one statement
            results, accepted, row_ids = record(uow.conn, items, snap, now, source,
                                                applied=False, announce=True)
        else:
            row = outbox.add(uow.conn, "apply_events", {}, now)
            results, accepted, row_ids = record(uow.conn, items, snap, now, source,
                                                applied=False, batch_id=row)
            if not row_ids:
                outbox.delete(uow.conn, row)
        stats = BatchStats(accepted=len(accepted))
        stats.rejected = sum(1 for r in results if r.status == "rejected")
        stats.duplicates = sum(1 for r in results if r.status == "duplicate")
        follow_ups = []
        uow.commit()
    if jobs is not None:
        for row_id, kind in follow_ups:
            jobs.dispatch(row_id, kind)
    return results, stats


def list_rejected(conn: Connection, state: str = "pending", limit: int = 100,
                  offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    where = rejected_events.c.state == state if state != "all" else rejected_events.c.id.is_not(None)
    total = conn.execute(select(func.count()).select_from(rejected_events).where(where)).scalar_one()
    rows = conn.execute(select(rejected_events).where(where).order_by(rejected_events.c.id)
                        .limit(limit).offset(offset))
    return total, [dict(r._mapping) for r in rows]


def replay_rejected(uow: UnitOfWork, cache: EngineCache, now: Any,
                    ids: Sequence[int] | None = None, jobs: Jobs | None = None,
                    deliverable: frozenset[str] | None = None) -> dict[str, int]:
    """Send pending rejected events through ingest again (after the master data was fixed).

    Each one that is now accepted (or found to be a duplicate) is marked replayed; one that is
    still invalid stays pending with its new errors, and no new rejected row is added for it.
    """
    query = select(rejected_events).where(rejected_events.c.state == "pending")
    if ids:
        query = query.where(rejected_events.c.id.in_(list(ids)))
    # Only objects can become events: a line that was not JSON, or an item that was no object,
    # stays pending with the reason it was refused for (its payload is JSON null, which is not
    # SQL NULL: read in Python, the same on every database).
    rows = [r for r in uow.conn.execute(query.order_by(rejected_events.c.id))
            if isinstance(r.payload, dict)]
    if ids and not rows:
        raise NotFound("rejected event", ",".join(map(str, ids)))
    snap = cache.current(uow.conn)
    results, stats = ingest(uow.conn, [r.payload for r in rows], snap, now, "replay-check", deliverable)
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    for row, result in zip(rows, results, strict=True):
        counts[result.status] += 1
        if result.status == "rejected":
            uow.conn.execute(update(rejected_events).where(rejected_events.c.id == row.id)
                             .values(errors=result.errors))
        else:
            uow.conn.execute(update(rejected_events).where(rejected_events.c.id == row.id)
                             .values(state="replayed", replayed_at=now))
    # ingest stored the still-rejected ones again under source "replay-check": drop those copies
    uow.conn.execute(rejected_events.delete().where(rejected_events.c.source == "replay-check"))
    uow.commit()
    if jobs is not None:
        for row_id, kind in stats.follow_ups:
            jobs.dispatch(row_id, kind)
    return counts
