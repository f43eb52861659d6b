"""The event log: accepted events recorded with their unique id, rejected ones kept for review,
and recorded events read back for the apply job.

Idempotency is the database's job: each event is inserted with ``ON CONFLICT (event_id) DO
NOTHING RETURNING`` and only the rows that came back are new, so a repeated id is never
applied twice, even by two processes at once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from engine.pipeline.validate import ItemResult, Unparsed
from engine.snapshot import Snapshot
from engine.stock import StockEvent, recorded_event
from engine.storage import bulk
from engine.storage.tables import outbox as outbox_table
from engine.storage.tables import rejected_events, stock_events

log = logging.getLogger(__name__)
EVENT_COLUMNS = ("event_id", "type", "sku_id", "warehouse_id", "qty", "at", "ref", "payload",
                 "received_at", "applied", "batch_id")
ANNOUNCED_COLUMNS = EVENT_COLUMNS[:-2]  # all but applied (false) and batch_id (the new row)


def insert_events(conn: Connection, events: list[tuple[int, StockEvent]], snap: Snapshot,
                  now: datetime, applied: bool = True, batch_id: int | None = None) -> dict[str, int]:
    """Insert the events; the new ones by id → row id (the others were there: duplicates)."""
    if not events:
        return {}
    sku_ids, wh_ids = snap.sku_ids, snap.warehouse_ids
    rows = [(e.id, e.type, sku_ids[e.sku], wh_ids[e.warehouse], e.qty, e.at, e.ref,
             e.raw if type(e.raw) is dict else dict(e.raw), now, applied, batch_id)
            for _, e in events]
    # ON CONFLICT … RETURNING: only the rows inserted now come back, atomically (no check first)
    returned = bulk.insert_returning(conn, stock_events, EVENT_COLUMNS, rows, ("id", "event_id"),
                                     "ON CONFLICT (event_id) DO NOTHING")
    return {event_id: row_id for row_id, event_id in returned}


def insert_announced(conn: Connection, events: list[tuple[int, StockEvent]], snap: Snapshot,
                     now: datetime) -> dict[str, int]:
    """PostgreSQL: insert the events, not applied yet, and the ``apply_events`` outbox row that
    announces them, in one statement (one round trip fewer per ingest request than
    ``outbox.add`` then ``insert_events``). The outbox row is written only when some event is
    new, so an all-duplicate request leaves none behind to delete. New ids → row ids."""
    if not events:
        return {}
    sku_ids, wh_ids = snap.sku_ids, snap.warehouse_ids
    rows = bulk.bind_rows(conn, stock_events, ANNOUNCED_COLUMNS, [
        (e.id, e.type, sku_ids[e.sku], wh_ids[e.warehouse], e.qty, e.at, e.ref,
         e.raw if type(e.raw) is dict else dict(e.raw), now) for _, e in events])
    stamp = bulk.bind_rows(conn, outbox_table, ("available_at",), [(now,)])[0][0]
    out: dict[str, int] = {}
    size = bulk.MAX_ROWS
    for start in range(0, len(rows), size):
        chunk = rows[start:start + size]
        sql = _announced_sql(conn, len(chunk))
        params = (*(v for row in chunk for v in row), stamp, stamp)
        out.update((event_id, row_id) for row_id, event_id in conn.exec_driver_sql(sql, params))
    return out


def _announced_sql(conn: Connection, n: int) -> str:
    cache = bulk.statement_cache(conn)
    key = ("announced", n)
    sql = cache.get(key)
    if sql is None:
        dialect = conn.dialect
        one = "(" + ", ".join(f"CAST(%s AS {stock_events.c[c].type.compile(dialect)})"
                              for c in ANNOUNCED_COLUMNS) + ")"
        cols = ", ".join(ANNOUNCED_COLUMNS)
        sql = cache[key] = (
            # nextval first: each event names the outbox row, written after them by the same
            # statement (there is no foreign key to order them).
            "WITH b AS (SELECT nextval(pg_get_serial_sequence('outbox', 'id')) AS id), "
            f"ev AS (INSERT INTO stock_events ({cols}, applied, batch_id) "
            f"SELECT v.*, false, b.id FROM b, (VALUES {', '.join([one] * n)}) AS v ({cols}) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id, batch_id), "
            "o AS (INSERT INTO outbox (id, kind, payload, status, available_at, created_at) "
            f"SELECT DISTINCT batch_id, 'apply_events', CAST('{{}}' AS {outbox_table.c.payload.type.compile(dialect)}), 'pending', "
            "CAST(%s AS TIMESTAMP WITH TIME ZONE), CAST(%s AS TIMESTAMP WITH TIME ZONE) FROM ev) "
            "SELECT id, event_id FROM ev")
    return sql  # type: ignore[no-any-return]


def store_rejected(conn: Connection, items: Sequence[Any], results: list[ItemResult], source: str,
                   now: datetime) -> None:
    """Keep the rejected items of a batch, with their reasons, for review and replay."""
    rows = [
        {"event_id": r.id, "payload": items[r.index] if isinstance(items[r.index], dict) else None,
         "raw": None if isinstance(items[r.index], dict) else _raw_text(items[r.index]),
         "errors": r.errors, "source": source, "received_at": now, "state": "pending"}
        for r in results if r.status == "rejected"]
    if rows:
        conn.execute(insert(rejected_events), rows)


def _raw_text(item: Any) -> str:
    """What was sent, as it was sent: the line that was not JSON, or the item's JSON text."""
    if isinstance(item, Unparsed):
        return item.text[:10_000]
    return json.dumps(item, ensure_ascii=False, default=repr)[:10_000]


def read_unapplied(conn: Connection, row_ids: list[int], snap: Snapshot,
                   ) -> tuple[list[int], list[StockEvent]]:
    """Those of ``row_ids`` not applied yet, locked (PostgreSQL), batch by batch as they arrived
    and each batch in time order (as the embedded default applies them): their row ids, and
    their events that can still be applied (a SKU or warehouse gone since is logged)."""
    query = (select(stock_events.c.id, stock_events.c.payload)
             .where(bulk.in_ids(conn, stock_events.c.id, row_ids), stock_events.c.applied.is_(False))
             .order_by(stock_events.c.batch_id, stock_events.c.at, stock_events.c.id))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    rows = list(conn.execute(query))
    events = []
    sku_ids, wh_ids = snap.sku_ids, snap.warehouse_ids
    for row in rows:
        event = recorded_event(row.payload)
        if (event.sku in sku_ids and event.warehouse in wh_ids
                and (event.to_warehouse is None or event.to_warehouse in wh_ids)):
            events.append(event)
        else:
            log.error("recorded event %s can no longer be applied: its SKU or warehouse is gone",
                      row.id)
    return [r.id for r in rows], events


def mark_applied(conn: Connection, row_ids: list[int]) -> None:
    if row_ids:
        conn.execute(update(stock_events).where(bulk.in_ids(conn, stock_events.c.id, row_ids))
                     .values(applied=True))
