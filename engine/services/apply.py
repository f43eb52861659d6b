"""Applying events: load → apply (the pure core) → save, in the caller's transaction; and the
apply job's part of it, partitioned by SKU on PostgreSQL.

Events of one SKU are applied in arrival order by one applier at a time; different SKUs in
parallel. A SKU belongs to partition ``sku_id % partitions``; an applier holds its partition's
advisory lock (``pg_advisory_xact_lock(APPLIER_LOCK, partition)``) for its transaction, so any
number of workers on any number of hosts may run apply jobs: two jobs of one partition take
turns, jobs of different partitions run side by side. The relay deals the partitions with work
into one job per live applier (``route``). Exactly once, whatever the queue does:
each event row is flagged applied in the transaction of its effects, and read back only while
it is not (``FOR UPDATE``). SQLite has one writer at a time: there every job applies every
partition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select, text, update

from engine.pipeline import core
from engine.pipeline.state import Changes
from engine.services import noise_control, rule_failures
from engine.snapshot import Snapshot
from engine.stock import StockEvent
from engine.storage import changes as change_store
from engine.storage import event_log, stock_state
from engine.storage.changes import Saved
from engine.storage.tables import outbox as outbox_table
from engine.storage.tables import stock_events

APPLIER_LOCK = 7_151_001  # first key of pg_advisory_xact_lock(key, partition)
APPLY_CHUNK = 5000
APPLY_LIMIT = 20_000  # events per apply transaction; a longer backlog takes several jobs


def apply_events(conn: Connection, events: Sequence[StockEvent], snap: Snapshot, now: datetime,
                 deliverable: frozenset[str] | None = None, keep_order: bool = False) -> Saved:
    """Apply events: stock, demand, alerts and every action's effect (load → apply → save).

    A batch given at once is applied in time order; recorded events (``keep_order``) in the
    order they arrived, as the embedded default would have applied them.
    """
    keys, requisition_keys = core.touched(events, snap)
    state = stock_state.load(conn, snap, keys, requisition_keys)
    changes = core.apply(state, events, snap, keep_order)
    if changes.new_alerts:  # muted rules (issue #17): read only when an alert would open
        mutes = noise_control.active_mutes(conn, now, {a.pair.sku_id for a in changes.new_alerts})
        if any(mutes.covers(a.rule.id, a.pair.sku_id, a.pair.wh_id, a.at)
               for a in changes.new_alerts):  # apply again, from the stored state, muted
            state = stock_state.load(conn, snap, keys, requisition_keys)
            state.mutes = mutes
            changes = core.apply(state, events, snap, keep_order)
    return save(conn, changes, snap, now, deliverable)


def save(conn: Connection, changes: Changes, snap: Snapshot, now: datetime,
         deliverable: frozenset[str] | None = None) -> Saved:
    """Write what a batch changed, and count the rules it had to skip (admins are told)."""
    saved = change_store.save(conn, changes, snap, now, deliverable)
    if changes.failures.seen and snap.ruleset is not None:
        saved.follow_ups += rule_failures.write(conn, changes.failures, snap.ruleset.version, now,
                                                deliverable)
    return saved


def apply_recorded(conn: Connection, row_ids: list[int], snap: Snapshot, now: datetime,
                   deliverable: frozenset[str] | None = None) -> Saved:
    """Apply those of ``row_ids`` not applied yet, in arrival order, and mark them applied."""
    ids, events = event_log.read_unapplied(conn, row_ids, snap)
    saved = apply_events(conn, events, snap, now, deliverable, keep_order=True)
    event_log.mark_applied(conn, ids)
    return saved


def lock_partitions(conn: Connection, group: Sequence[int] | None, partitions: int) -> list[int]:
    """Take the applier locks of the partitions in ``group`` until the transaction ends; those
    another applier holds now are skipped (never waited for: no job waits behind a slow one
    while holding partitions others could take). ``group`` None: every partition, waiting for
    each in ascending order (two such appliers never deadlock). The partitions locked."""
    if conn.dialect.name != "postgresql":  # the database lock (BEGIN IMMEDIATE) admits one writer
        return sorted(set(group)) if group is not None else list(range(partitions))
    if group is None:
        for partition in range(partitions):
            conn.execute(_LOCK, {"k": APPLIER_LOCK, "p": partition})
        return list(range(partitions))
    return [p for p in sorted(set(group))
            if conn.execute(_TRY_LOCK, {"k": APPLIER_LOCK, "p": p}).scalar_one()]


_LOCK = text("SELECT pg_advisory_xact_lock(:k, :p)")
_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(:k, :p)")


@dataclass
class Applied:
    """What an apply job did: events applied, follow-up outbox rows, partitions it skipped
    (another applier held them) and whether it stopped at its limit."""

    events: int = 0
    follow_ups: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    at_limit: bool = False


def apply_pending(conn: Connection, snap: Snapshot, now: datetime,
                  deliverable: frozenset[str] | None = None, limit: int | None = None,
                  clock: Callable[[], datetime] | None = None, group: Sequence[int] | None = None,
                  partitions: int = 1) -> Applied:
    """The apply job: apply the recorded events not applied yet — of the partitions in
    ``group``, or of all when it is None — in arrival (id) order, under their locks. At most
    ``limit`` events (``APPLY_LIMIT``): a longer backlog is left to the next job."""
    if limit is None:
        limit = APPLY_LIMIT
    locked = lock_partitions(conn, group, partitions)
    done = Applied(skipped=sorted(set(group) - set(locked)) if group is not None else [])
    if not locked:
        return done
    pending = select(stock_events.c.id).where(stock_events.c.applied.is_(False))
    if group is not None and partitions > 1:
        pending = pending.where((stock_events.c.sku_id % partitions).in_(locked))
    while done.events < limit:
        ids = list(conn.execute(pending.order_by(stock_events.c.id).limit(APPLY_CHUNK)).scalars())
        if not ids:
            break
        if clock is not None:  # events keep arriving while we loop: stamp each chunk's time
            now = clock()
        done.follow_ups.extend(apply_recorded(conn, ids, snap, now, deliverable).follow_ups)
        done.events += len(ids)
        if len(ids) < APPLY_CHUNK:
            # That was all there was. Events committed since belong to outbox rows not in this
            # job (every row's events commit with it): their own jobs apply them.
            break
    done.at_limit = done.events >= limit
    return done


def finish_announced(conn: Connection, now: datetime, backlog: bool = False,
                     rows: Sequence[int] | None = None) -> int:
    """Mark done every ``apply_events`` outbox row none of whose events is left unapplied; run
    after an apply job commits, so that of the jobs sharing a row (one per partition of its
    events) the last to commit sees all of them applied. ``backlog``: the job stopped at its
    limit; rows whose events still wait are handed over at the relay's next pass instead of
    when their leases run out (only ``rows``, when given: a job's own rows, some of whose
    partitions it skipped). Rows another finisher holds are its to mark (``SKIP LOCKED``)."""
    unapplied = select(stock_events.c.id).where(stock_events.c.batch_id == outbox_table.c.id,
                                                stock_events.c.applied.is_(False))
    finished = (select(outbox_table.c.id)
                .where(outbox_table.c.kind == "apply_events", outbox_table.c.status != "done",
                       ~unapplied.exists()))
    if conn.dialect.name == "postgresql":
        finished = finished.with_for_update(skip_locked=True)
    ids = list(conn.execute(finished).scalars())
    if ids:
        conn.execute(update(outbox_table).where(outbox_table.c.id.in_(ids))
                     .values(status="done", done_at=now, lease_until=None, last_error=None))
    if backlog:
        waiting = (select(outbox_table.c.id)
                   .where(outbox_table.c.kind == "apply_events", outbox_table.c.status == "dispatched",
                          unapplied.exists()))
        if rows is not None:
            waiting = waiting.where(outbox_table.c.id.in_(list(rows)))
        if conn.dialect.name == "postgresql":
            waiting = waiting.with_for_update(skip_locked=True)
        rows = list(conn.execute(waiting).scalars())
        if rows:
            conn.execute(update(outbox_table).where(outbox_table.c.id.in_(rows)).values(lease_until=now))
    return len(ids)


@dataclass
class Group:
    """The partitions one apply job takes, the outbox rows that asked for them, and how many
    events wait there."""

    partitions: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    events: int = 0


def route(conn: Connection, row_ids: Sequence[int], partitions: int, jobs: int) -> list[Group]:
    """The partitions of the unapplied events of outbox rows ``row_ids``, dealt into at most
    ``jobs`` groups of about as many events each (the biggest partition first, each to the
    lightest group). A row none of whose events waits any more is in no group
    (``finish_announced`` marks it). One job per group: a job per partition would cost each
    relay pass a job's fixed cost (~20 ms of a worker's CPU) per partition with work."""
    p = (stock_events.c.sku_id % partitions).label("p")
    rows = conn.execute(
        select(stock_events.c.batch_id, p, func.count())
        .where(stock_events.c.batch_id.in_(list(row_ids)), stock_events.c.applied.is_(False))
        .group_by(stock_events.c.batch_id, p))
    by_partition: dict[int, tuple[set[int], int]] = {}
    for batch_id, partition, n in rows:
        found = by_partition.setdefault(int(partition), (set(), 0))
        found[0].add(batch_id)
        by_partition[int(partition)] = (found[0], found[1] + n)
    groups = [Group() for _ in range(max(1, min(jobs, len(by_partition))))]
    for partition, (batches, n) in sorted(by_partition.items(), key=lambda kv: (-kv[1][1], kv[0])):
        group = min(groups, key=lambda g: g.events)
        group.partitions.append(partition)
        group.rows = sorted(set(group.rows) | batches)
        group.events += n
    return [g for g in groups if g.partitions]
