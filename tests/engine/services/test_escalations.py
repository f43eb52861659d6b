"""Escalations fire once per level when due, move open tasks to the target role, and never twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.storage.tables import escalations, task_history, tasks
from tests.engine.services.test_replenishment_scenario import history, setup


def test_due_escalation_fires_once_and_moves_the_task(client, admin_headers, services, runner, clock):
    setup(client, admin_headers)
    client.post("/api/v1/events", json=history(), headers=admin_headers)
    # The alert opened on Nov 5 at 10:00 UTC with `escalate: {after: 8h}`; the fixed clock
    # stands at Nov 20, so it is due.
    first = runner.invoke(args=["escalations", "run"]).output
    assert "level 1 → purchasing-manager" in first and "1 escalation(s) fired" in first
    again = runner.invoke(args=["escalations", "run"]).output
    assert "0 escalation(s) fired" in again
    with services.db.connect() as conn:
        assert conn.execute(select(tasks.c.role)).scalar_one() == "purchasing-manager"
        moves = conn.execute(select(task_history.c.data).where(task_history.c.transition == "escalate")).all()
        assert [m.data["from_role"] for m in moves] == ["buyer"]
        assert conn.execute(select(escalations.c.fired_at)).scalar_one() is not None


def test_nothing_fires_before_it_is_due(client, admin_headers, services, runner, clock):
    clock.at = clock.at.replace(year=2026, month=11, day=5, hour=12)  # 2 h after the alert
    setup(client, admin_headers)
    client.post("/api/v1/events", json=history(), headers=admin_headers)
    assert "0 escalation(s) fired" in runner.invoke(args=["escalations", "run"]).output
    clock.advance(timedelta(hours=7))
    assert "1 escalation(s) fired" in runner.invoke(args=["escalations", "run"]).output
