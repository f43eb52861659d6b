"""ON CONFLICT on the partial 'one open alert' index keeps working as a prepared statement."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, text

from engine.storage.database import make_engine
from engine.storage.tables import OPEN_ALERT_PREDICATE, alerts, skus, warehouses
from engine.storage.upsert import insert_ignore


def test_insert_ignore_on_the_partial_index_survives_many_executions(db_url):
    # psycopg prepares a statement after 5 executions; the 6th and later must still infer the
    # partial unique index (a parameterised predicate would fail there).
    engine = make_engine(db_url)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(warehouses), {"code": "W", "name": "w", "updated_at": now})
        conn.execute(insert(skus), [{"code": f"S{i}", "name": "s", "tags": [], "attributes": {},
                                     "updated_at": now} for i in range(12)])
        results = [insert_ignore(conn, alerts, {
            "rule": "r", "rule_version": 1, "sku_id": 1 + i % 6, "warehouse_id": 1, "severity": "low",
            "state": "open", "opened_at": now, "last_hit_at": now, "hits": 1, "facts": {}},
            ["rule", "sku_id", "warehouse_id"], where=text(OPEN_ALERT_PREDICATE)) for i in range(12)]
    engine.dispose()
    assert [r is not None for r in results] == [True] * 6 + [False] * 6
