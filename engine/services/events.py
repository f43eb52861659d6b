"""The one handler of stock events, and the review and replay of the rejected ones.

``POST /api/v1/events``, ``events replay``, the demo, replayed rejected events and the
importers all call ``handle``; the worker's apply job runs the same load → apply → save
(``engine.services.apply``). Whether the events are applied now, in the request's transaction,
or by a worker after it, is a scheduling choice (``Jobs.inline``), not a second path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from engine.errors import InputInvalid, NotFound
from engine.jobs import Jobs
from engine.pipeline.validate import ItemResult, validate_items
from engine.services import outbox
from engine.services.apply import apply_events
from engine.services.engine_cache import EngineCache
from engine.services.supplier_delays import take_delays
from engine.snapshot import Snapshot
from engine.storage import event_log
from engine.storage.tables import rejected_events
from engine.storage.unit_of_work import UnitOfWork


@dataclass
class BatchStats:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    follow_ups: list[tuple[int, str]] = field(default_factory=list)


def handle(uow: UnitOfWork, cache: EngineCache, items: Sequence[Any], now: datetime, *,
           source: str = "api", jobs: Jobs | None = None,
           deliverable: frozenset[str] | None = None, max_items: int | None = None,
           state_key: tuple[int | None, int] | None = None,
           ) -> tuple[list[ItemResult], BatchStats]:
    """Take a batch of stock events (SPEC §4) and answer item by item, in one transaction.

    ``items``: JSON objects as sent (or ``Unparsed`` lines). ``source`` names where they came
    from (``api``, ``file:NAME``, ``import:PLUGIN``…), kept with the rejected ones. ``jobs``
    decides when they are applied: None or inline jobs — now, in this transaction (the
    embedded default); a queue — recorded with an ``apply_events`` outbox row and applied by
    a worker (nothing is lost if the queue is down: the relay hands the row over later).
    ``max_items``: refuse a bigger batch whole (``InputInvalid``). ``state_key``: the snapshot
    key when the caller already read it (``EngineCache.current``). Follow-up jobs (deliveries)
    are handed to ``jobs`` after commit.
    """
    if max_items is not None and len(items) > max_items:
        raise InputInvalid([{"field": "", "message": f"{len(items)} events in one request; "
                                                     f"the limit is {max_items}"}])
    snap = cache.current(uow.conn, state_key)
    queued = jobs is not None and not jobs.inline
    if not (queued and len(items) == 1):
        # A queued single event writes with at most one statement (its row and outbox row, or
        # its rejection): it may run in a unit of work opened with ``statement_commits``.
        uow.transaction()
    results, stats = take(uow.conn, items, snap, now, source, queued, deliverable)
    uow.commit()
    if jobs is not None:
        for row_id, kind in stats.follow_ups:
            jobs.dispatch(row_id, kind)
    return results, stats


def take(conn: Connection, items: Sequence[Any], snap: Snapshot, now: datetime, source: str,
         queued: bool, deliverable: frozenset[str] | None = None, keep_rejected: bool = True,
         ) -> tuple[list[ItemResult], BatchStats]:
    """``handle`` inside the caller's transaction: validate, record, and apply now unless
    ``queued``. ``keep_rejected``: store the rejected items for review."""
    good, results = validate_items(items, snap, now)
    good, refused = take_delays(conn, good, snap, now)  # issue #19: before anything is recorded
    results.extend(refused)
    if not queued:
        new_ids = event_log.insert_events(conn, good, snap, now)
    elif conn.dialect.name == "postgresql":  # the events and their outbox row in one statement
        new_ids = event_log.insert_announced(conn, good, snap, now)
    else:
        row = outbox.add(conn, "apply_events", {}, now)
        new_ids = event_log.insert_events(conn, good, snap, now, applied=False, batch_id=row)
        if not new_ids:
            outbox.delete(conn, row)
    accepted = []
    answered: set[int] = set()
    for index, event in good:
        new = event.id in new_ids
        if new:
            accepted.append(event)
        if index in answered:
            continue  # a whole-order supplier_delay: one answer, however many lines it moved
        answered.add(index)
        if event.type == "supplier_delay":  # applied by take_delays: accepted, under its own id
            results.append(ItemResult(index, items[index]["id"], "accepted"))
        else:
            results.append(ItemResult(index, event.id, "accepted" if new else "duplicate"))
    if keep_rejected:
        event_log.store_rejected(conn, items, results, source, now)
    results.sort(key=lambda r: r.index)
    stats = BatchStats(accepted=len(accepted))
    stats.rejected = sum(1 for r in results if r.status == "rejected")
    stats.duplicates = sum(1 for r in results if r.status == "duplicate")
    if not queued:
        stats.follow_ups = apply_events(conn, accepted, snap, now, deliverable).follow_ups
    return results, stats


def list_rejected(conn: Connection, state: str = "pending", limit: int = 100,
                  offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    where = rejected_events.c.state == state if state != "all" else rejected_events.c.id.is_not(None)
    total = conn.execute(select(func.count()).select_from(rejected_events).where(where)).scalar_one()
    rows = conn.execute(select(rejected_events).where(where).order_by(rejected_events.c.id)
                        .limit(limit).offset(offset))
    return total, [dict(r._mapping) for r in rows]


def replay_rejected(uow: UnitOfWork, cache: EngineCache, now: datetime,
                    ids: Sequence[int] | None = None, jobs: Jobs | None = None,
                    deliverable: frozenset[str] | None = None) -> dict[str, int]:
    """Send pending rejected events through the handler again (after the master data was
    fixed), applied now or by a worker as any other batch.

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
    uow.transaction()
    queued = jobs is not None and not jobs.inline
    results, stats = take(uow.conn, [r.payload for r in rows], snap, now, "replay", queued,
                          deliverable, keep_rejected=False)
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    for row, result in zip(rows, results, strict=True):
        counts[result.status] += 1
        if result.status == "rejected":
            uow.conn.execute(update(rejected_events).where(rejected_events.c.id == row.id)
                             .values(errors=result.errors))
        else:
            uow.conn.execute(update(rejected_events).where(rejected_events.c.id == row.id)
                             .values(state="replayed", replayed_at=now))
    uow.commit()
    if jobs is not None:
        for row_id, kind in stats.follow_ups:
            jobs.dispatch(row_id, kind)
    return counts

