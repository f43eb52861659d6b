"""A unit of work with ``statement_commits``: no BEGIN and COMMIT round trips for a request that
writes with one statement, and a real transaction as soon as it asks for one."""

from __future__ import annotations

import os

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import text

from engine.storage.database import make_engine
from engine.storage.unit_of_work import UnitOfWork

PG_URL = os.environ.get("TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")


def _server_status(uow: UnitOfWork) -> TransactionStatus:
    return uow.conn.connection.driver_connection.info.transaction_status  # type: ignore[union-attr]


def test_statements_commit_on_their_own_until_a_transaction_is_asked_for(postgres_migrated) -> None:
    db = make_engine(postgres_migrated)
    try:
        with db.begin() as conn:
            conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS probe (n int)"))
        with UnitOfWork(db, statement_commits=True) as uow:
            uow.conn.execute(text("SELECT 1"))
            assert _server_status(uow) == TransactionStatus.IDLE  # no BEGIN was sent
            uow.transaction()
            uow.conn.execute(text("SELECT 2"))
            assert _server_status(uow) == TransactionStatus.INTRANS
            uow.rollback()
        with UnitOfWork(db) as uow:  # the default: a transaction from the first statement
            uow.conn.execute(text("SELECT 1"))
            assert _server_status(uow) == TransactionStatus.INTRANS
            # back from the pool at the engine's isolation level, not AUTOCOMMIT
            assert uow.conn.get_isolation_level() == uow.conn.default_isolation_level
    finally:
        db.dispose()
