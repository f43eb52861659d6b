"""Leases in the database: at most one holder of a named piece of work at a time.

The embedded default has no RQ scheduler, and several web processes may share one SQLite
file (or, without Redis, one PostgreSQL): each process runs a periodic loop, and the one that
holds the lease does the work. A holder that dies stops renewing; its lease expires and another
process takes over. One statement decides, so two processes can never both win.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, delete

from engine.storage.tables import leases
from engine.storage.upsert import insert_for


def acquire(conn: Connection, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``; True when held.

    Taken when nobody holds it, when it is ours already, or when the last holder's expired.
    """
    stmt = insert_for(conn, leases).values(name=name, holder=holder, expires_at=now + ttl)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": holder, "expires_at": now + ttl},
        where=(leases.c.holder == holder) | (leases.c.expires_at < now),
    )
    # RETURNING, not rowcount: the driver may not report a row count for an upsert (psycopg -1)
    return conn.execute(stmt.returning(leases.c.name)).first() is not None


def release(conn: Connection, name: str, holder: str) -> None:
    conn.execute(delete(leases).where(leases.c.name == name, leases.c.holder == holder))
