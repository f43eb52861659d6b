"""A session left idle inside a transaction is ended by the server (RELIABILITY: a crashed
worker host sends no end of file; its applier lock must not outlive it for hours)."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import exc, text

from engine.storage.database import make_engine

PG_URL = os.environ.get("TEST_DATABASE_URL")
LOCK = 73_002

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")


def _lock_is_free(engine) -> bool:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK}).scalar():
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK})
            return True
    return False


def test_an_abandoned_transaction_and_its_lock_end_after_the_timeout() -> None:
    quiet = make_engine(PG_URL, idle_in_transaction_timeout=1.0)  # type: ignore[arg-type]
    other = make_engine(PG_URL)  # type: ignore[arg-type]
    try:
        with other.connect() as conn:
            assert conn.execute(text("SHOW idle_in_transaction_session_timeout")).scalar() == "5min"
        conn = quiet.connect()
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK})  # and then silence
        assert not _lock_is_free(other)
        deadline = time.monotonic() + 10
        while not _lock_is_free(other):
            assert time.monotonic() < deadline, "the server kept the idle transaction's lock"
            time.sleep(0.2)
        with pytest.raises(exc.DBAPIError, match="idle-in-transaction"):  # told on its next statement
            conn.execute(text("SELECT 1"))
        conn.close()
        with quiet.connect() as fresh:  # and the pool hands out a working connection again
            assert fresh.execute(text("SELECT 1")).scalar() == 1
    finally:
        quiet.dispose()
        other.dispose()
