"""``INSERT … ON CONFLICT`` for SQLite and PostgreSQL, the way de-duplication is done here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_for(conn: Connection, table: Table) -> Any:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database dialect {dialect!r}")


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert ``rows``, updating ``update`` columns (default: all but keys) on a key conflict."""
    if not rows:
        return
    stmt = insert_for(conn, table)
    columns = update if update is not None else [c for c in rows[0] if c not in keys]
    if columns:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns}
        )
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    conn.execute(stmt, list(rows))


_IGNORE_CACHE: dict[tuple[str, str, tuple[str, ...], str], Any] = {}


def insert_ignore(
    conn: Connection,
    table: Table,
    values: dict[str, Any],
    keys: Sequence[str],
    where: Any = None,
) -> int | None:
    """Insert one row unless it conflicts on ``keys``; the new primary key, or None on conflict.

    The statement is built once per table and key set and executed with parameters, so
    SQLAlchemy's compiled cache serves every later call.
    """
    cache_key = (conn.dialect.name, table.name, tuple(keys), str(where) if where is not None else "")
    stmt = _IGNORE_CACHE.get(cache_key)
    if stmt is None:
        stmt = insert_for(conn, table).on_conflict_do_nothing(index_elements=list(keys), index_where=where)
        stmt = _IGNORE_CACHE[cache_key] = stmt.returning(table.c.id)
    row = conn.execute(stmt, values).first()
    return None if row is None else row[0]
