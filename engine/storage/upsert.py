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


def insert_ignore(
    conn: Connection,
    table: Table,
    values: dict[str, Any],
    keys: Sequence[str],
    where: Any = None,
) -> int | None:
    """Insert one row unless it conflicts on ``keys``; the new primary key, or None on conflict."""
    stmt = insert_for(conn, table).values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=list(keys), index_where=where)
    result = conn.execute(stmt.returning(table.c.id))
    row = result.first()
    return None if row is None else row[0]
