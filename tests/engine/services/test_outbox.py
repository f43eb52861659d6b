"""The outbox claim: one statement hands each due row to exactly one relay, leased."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine.services import outbox as outbox_service
from engine.storage.database import make_engine
from engine.storage.tables import outbox

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def db(db_url):  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def add_rows(db, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        ids = [outbox_service.add(conn, "apply_events", {}, NOW) for _ in range(n)]
        conn.commit()
    return ids


def test_a_claimed_row_is_leased_and_not_claimed_again_until_the_lease_runs_out(db):
    ids = add_rows(db, 5)
    with db.connect() as conn:
        first = outbox_service.claim(conn, NOW, limit=3)
        second = outbox_service.claim(conn, NOW, limit=10)
        conn.commit()
    assert first == [(i, "apply_events") for i in ids[:3]]
    assert second == [(i, "apply_events") for i in ids[3:]]
    with db.connect() as conn:
        assert outbox_service.claim(conn, NOW + outbox_service.LEASE / 2) == []
        again = outbox_service.claim(conn, NOW + outbox_service.LEASE * 2)
        conn.commit()
        rows = {r.id: (r.status, r.attempts) for r in conn.execute(select(outbox))}
    assert again == [(i, "apply_events") for i in ids]
    assert rows == dict.fromkeys(ids, ("dispatched", 2))


def test_a_row_not_yet_available_or_done_is_not_claimed(db):
    ids = add_rows(db, 3)
    with db.connect() as conn:
        outbox_service.mark_done(conn, [ids[0]], NOW)
        outbox_service.release(conn, [ids[1]], NOW, outbox_service.LEASE)  # not dispatched: no-op
        claimed = outbox_service.claim(conn, NOW)
        conn.commit()
    assert claimed == [(ids[1], "apply_events"), (ids[2], "apply_events")]


def test_two_relays_at_once_take_disjoint_rows(db, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: a second relay waits instead (BEGIN IMMEDIATE)")
    ids = add_rows(db, 6)
    with db.connect() as one, db.connect() as two:
        a = outbox_service.claim(one, NOW, limit=4)  # its transaction stays open: rows locked
        b = outbox_service.claim(two, NOW, limit=4)
        two.commit()
        one.commit()
    assert a == [(i, "apply_events") for i in ids[:4]]
    assert b == [(i, "apply_events") for i in ids[4:]]
