"""A pooled connection the server closed is replaced on checkout, without a ping per checkout.

This is what ``pool_pre_ping`` protected against (a restarted PostgreSQL): the check now looks
at the idle socket instead of asking the server, so the next request still gets a live
connection.
"""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import text

from engine.storage.database import make_engine

PG_URL = os.environ.get("TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")


def _terminate(pids: list[int]) -> None:
    """End those backends, as a server restart does, and wait until they are gone."""
    killer = make_engine(PG_URL, pool_pre_ping=True)  # type: ignore[arg-type]
    try:
        with killer.connect() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(100):
                alive = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:p)"),
                                     {"p": pids}).scalar_one()
                if not alive:
                    return
                time.sleep(0.05)
    finally:
        killer.dispose()


def test_connections_the_server_closed_are_replaced_before_use() -> None:
    engine = make_engine(PG_URL)  # type: ignore[arg-type]
    try:
        first, second = engine.connect(), engine.connect()
        old = [c.execute(text("SELECT pg_backend_pid()")).scalar_one() for c in (first, second)]
        first.close(), second.close()
        _terminate(old)  # what a server restart does to every pooled connection
        for _ in range(2):
            with engine.connect() as conn:  # no error: both dead ones are replaced
                pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            assert pid not in old
    finally:
        engine.dispose()


def test_a_live_idle_connection_is_reused_and_pinged_after_a_long_idle() -> None:
    engine = make_engine(PG_URL, ping_idle_after=0.0)  # type: ignore[arg-type]
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        for _ in range(3):  # pinged every time (idle > 0 s), and still the same connection
            with engine.connect() as conn:
                assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == pid
                # ... still transactional after the ping (which runs in autocommit)
                conn.execute(text("CREATE TEMP TABLE pinged (x int)"))
                conn.rollback()
                assert conn.execute(text("SELECT to_regclass('pg_temp.pinged')")).scalar() is None
    finally:
        engine.dispose()
