"""Alerts opened and resolved within one batch: each gets the id of its own row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import insert, select

from engine.storage.changes import ALERT_COLUMNS, _write_closed_alerts
from engine.storage.tables import alerts

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _row(n: int, rule: str = "r", sku: int = 1, opened: int = 0, hits: int = 1) -> tuple[Any, ...]:
    at = NOW + timedelta(minutes=opened)
    return (rule, 1, sku, 1, "low", None, "resolved", at, at, at + timedelta(minutes=1), "auto",
            hits, {"n": n})


@pytest.mark.parametrize("rows", [
    [_row(0), _row(1, rule="q"), _row(2, sku=2), _row(3, opened=5), _row(4, hits=2)],
    [_row(0), _row(1), _row(2, rule="q")],  # two alike: one statement each
])
def test_each_closed_alert_gets_its_own_row(engine, rows):
    closed = [(SimpleNamespace(id=None), row) for row in rows]
    with engine.begin() as conn:
        conn.execute(insert(alerts), dict(zip(ALERT_COLUMNS, _row(-1), strict=True)))  # ids differ
        _write_closed_alerts(conn, closed)
        facts = dict(conn.execute(select(alerts.c.id, alerts.c.facts)).all())
    ids = [a.id for a, _ in closed]
    assert [facts[i]["n"] for i in ids] == list(range(len(rows)))
    assert ids == sorted(ids)  # in batch order, as one statement per alert numbered them
