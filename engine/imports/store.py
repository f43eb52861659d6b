"""Reading and writing import sources, runs, cursors and bad rows (the import tables)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from engine.errors import Conflict, NotFound
from engine.imports.records import BadRow
from engine.storage.tables import (
    import_bad_rows,
    import_cursors,
    import_runs,
    import_seen,
    import_sources,
)
from engine.storage.upsert import upsert

COUNT_KEYS = ("rows", "bad", "created", "updated", "unchanged", "accepted", "duplicate",
              "rejected", "reconciled", "cancelled")
ACTIVE = ("queued", "running")
MAX_BAD_ROWS = 10_000  # kept per run; the count says how many there were in all


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(COUNT_KEYS, 0)


# -- sources ---------------------------------------------------------------------------------
def add_source(conn: Connection, name: str, plugin: str, config: Mapping[str, Any],
               every_minutes: int | None, now: datetime) -> int:
    if conn.execute(select(import_sources.c.id).where(import_sources.c.name == name)).first():
        raise Conflict(f"an import source named '{name}' exists already")
    return conn.execute(insert(import_sources).returning(import_sources.c.id), {
        "name": name, "plugin": plugin, "config": dict(config), "every_minutes": every_minutes,
        "created_at": now, "updated_at": now}).scalar_one()


def update_source(conn: Connection, name: str, config: Mapping[str, Any],
                  every_minutes: int | None, now: datetime) -> None:
    done = conn.execute(update(import_sources).where(import_sources.c.name == name).values(
        config=dict(config), every_minutes=every_minutes, updated_at=now)).rowcount
    if not done:
        raise NotFound("import source", name)


def get_source(conn: Connection, name: str) -> dict[str, Any]:
    row = conn.execute(select(import_sources).where(import_sources.c.name == name)).first()
    if row is None:
        raise NotFound("import source", name)
    return dict(row._mapping)


def source_by_id(conn: Connection, source_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(import_sources).where(import_sources.c.id == source_id)).first()
    return dict(row._mapping) if row else None


def list_sources(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(select(import_sources)
                                                   .order_by(import_sources.c.name))]


def delete_source(conn: Connection, name: str) -> None:
    if not conn.execute(delete(import_sources).where(import_sources.c.name == name)).rowcount:
        raise NotFound("import source", name)


def get_cursor(conn: Connection, source_id: int, kind: str | None) -> dict[str, Any] | None:
    found = conn.execute(select(import_cursors.c.cursor).where(
        import_cursors.c.source_id == source_id, import_cursors.c.kind == (kind or ""))).scalar()
    return dict(found) if found else None


def put_cursor(conn: Connection, source_id: int, kind: str | None, cursor: Mapping[str, Any],
               now: datetime) -> None:
    upsert(conn, import_cursors, [{"source_id": source_id, "kind": kind or "",
                                   "cursor": dict(cursor), "updated_at": now}],
           ["source_id", "kind"])


# -- runs ------------------------------------------------------------------------------------
def add_run(conn: Connection, *, plugin: str, kind: str | None, mode: str, actor: str,
            now: datetime, source_id: int | None = None, file: str | None = None,
            file_name: str | None = None, options: Mapping[str, Any] | None = None) -> int:
    return conn.execute(insert(import_runs).returning(import_runs.c.id), {
        "source_id": source_id, "plugin": plugin, "kind": kind, "mode": mode, "state": "queued",
        "file": file, "file_name": file_name, "options": dict(options or {}), "actor": actor,
        "counts": empty_counts(), "errors": [], "created_at": now, "updated_at": now,
    }).scalar_one()


def get_run(conn: Connection, run_id: int) -> dict[str, Any]:
    row = conn.execute(select(import_runs).where(import_runs.c.id == run_id)).first()
    if row is None:
        raise NotFound("import run", run_id)
    return dict(row._mapping)


def list_runs(conn: Connection, limit: int = 50, offset: int = 0,
              source_id: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    where = [] if source_id is None else [import_runs.c.source_id == source_id]
    total = conn.execute(select(func.count()).select_from(import_runs).where(*where)).scalar_one()
    rows = conn.execute(select(import_runs).where(*where).order_by(import_runs.c.id.desc())
                        .limit(limit).offset(offset))
    return total, [dict(r._mapping) for r in rows]


def set_run(conn: Connection, run_id: int, now: datetime, **values: Any) -> None:
    conn.execute(update(import_runs).where(import_runs.c.id == run_id)
                 .values(updated_at=now, **values))


def active_run_of(conn: Connection, source_id: int) -> int | None:
    return conn.execute(select(import_runs.c.id).where(
        import_runs.c.source_id == source_id, import_runs.c.state.in_(ACTIVE))
        .order_by(import_runs.c.id.desc()).limit(1)).scalar()


# -- bad rows --------------------------------------------------------------------------------
def add_bad_rows(conn: Connection, run_id: int, bad: Iterable[BadRow], already: int) -> None:
    """Keep a run's bad rows for review, up to ``MAX_BAD_ROWS`` (``already`` kept before)."""
    rows = [{"run_id": run_id, "where": b.where[:128], "row": b.row,
             "column": b.column[:256] if b.column else None, "reason": b.reason, "raw": b.raw}
            for b in bad][:max(0, MAX_BAD_ROWS - already)]
    if rows:
        conn.execute(insert(import_bad_rows), rows)


def bad_rows(conn: Connection, run_id: int, limit: int = 100,
             offset: int = 0) -> list[dict[str, Any]]:
    rows = conn.execute(select(import_bad_rows).where(import_bad_rows.c.run_id == run_id)
                        .order_by(import_bad_rows.c.id).limit(limit).offset(offset))
    return [{k: v for k, v in r._mapping.items() if k != "run_id"} for r in rows]


def clear_bad_rows(conn: Connection, run_id: int) -> None:
    conn.execute(delete(import_bad_rows).where(import_bad_rows.c.run_id == run_id))


def clear_seen(conn: Connection, run_id: int) -> None:
    """Forget the pairs a finished run saw (kept while it may still be resumed)."""
    conn.execute(delete(import_seen).where(import_seen.c.run_id == run_id))


def due_sources(conn: Connection, now: datetime) -> list[str]:
    """Names of the scheduled sources whose last run began ``every_minutes`` ago or more."""
    last = (select(import_runs.c.source_id, func.max(import_runs.c.created_at).label("at"))
            .group_by(import_runs.c.source_id).subquery())
    rows = conn.execute(select(import_sources.c.name, import_sources.c.every_minutes, last.c.at)
                        .outerjoin(last, last.c.source_id == import_sources.c.id)
                        .where(import_sources.c.every_minutes.is_not(None))
                        .order_by(import_sources.c.name))
    return [name for name, every, at in rows
            if at is None or (now - at).total_seconds() >= every * 60]
