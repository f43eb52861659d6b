"""A ``limits`` storage in our database: fixed-window counters shared by every process.

The embedded default has no Redis, and counters in each process's memory let N processes
allow N times the limit. Each increment is one ``INSERT … ON CONFLICT DO UPDATE … RETURNING``
in a transaction of its own, committed before the caller goes on: concurrent attempts, in
threads or processes, each see the ones before them (SQLite takes its write lock for it,
PostgreSQL its row lock). Times are wall-clock seconds, as ``limits`` and Redis count them.
"""

from __future__ import annotations

import itertools
import time

from limits.storage import Storage
from sqlalchemy import Engine, case, delete, select, text
from sqlalchemy.exc import SQLAlchemyError

from engine.storage.tables import rate_counters
from engine.storage.upsert import insert_for

SWEEP_EVERY = 200  # increments between deletions of the windows that have ended


class DatabaseCounters(Storage):
    """Fixed windows in ``rate_counters``: ``key`` → hits until ``expires_at``."""

    STORAGE_SCHEME = None  # built directly with an engine, never from a URI

    def __init__(self, engine: Engine) -> None:
        super().__init__(wrap_exceptions=True)
        self.engine = engine
        self._calls = itertools.count(1)

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to the window of ``key`` (a new window when the last one ended) and
        return its count, atomically."""
        now = time.time()
        with self.engine.begin() as conn:
            stmt = insert_for(conn, rate_counters).values(
                key=key, hits=amount, expires_at=now + expiry)
            ended = rate_counters.c.expires_at <= now
            stmt = stmt.on_conflict_do_update(
                index_elements=["key"],
                set_={"hits": case((ended, stmt.excluded.hits), else_=rate_counters.c.hits + amount),
                      "expires_at": case((ended, stmt.excluded.expires_at),
                                         else_=rate_counters.c.expires_at)},
            ).returning(rate_counters.c.hits)
            hits = int(conn.execute(stmt).scalar_one())
            if next(self._calls) % SWEEP_EVERY == 0:
                conn.execute(delete(rate_counters).where(rate_counters.c.expires_at < now))
        return hits

    def get(self, key: str) -> int:
        with self.engine.connect() as conn:
            hits = conn.execute(select(rate_counters.c.hits).where(
                rate_counters.c.key == key, rate_counters.c.expires_at > time.time())).scalar()
        return int(hits or 0)

    def get_expiry(self, key: str) -> float:
        with self.engine.connect() as conn:
            at = conn.execute(select(rate_counters.c.expires_at).where(
                rate_counters.c.key == key)).scalar()
        return float(at) if at is not None and at > time.time() else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(delete(rate_counters)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(rate_counters).where(rate_counters.c.key == key))

