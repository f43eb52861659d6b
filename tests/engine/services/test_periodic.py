"""Periodic work on the embedded default (#17): a task past its due time moves to its role's
``escalate_to`` once, and the database lease lets one process at a time do the work."""

from __future__ import annotations

import os
from datetime import timedelta

from sqlalchemy import select

from engine.services import leases, periodic
from engine.storage.tables import escalations, notifications, task_history, tasks
from tests.engine.services import test_replenishment_scenario as scenario

# The scenario's ruleset with the buyer escalating to the manager and no rule-level escalate:
# only the task's lateness can move it.
RULESET = (scenario.RULESET
           .replace("members: [alice], channels: [email]}",
                    "members: [alice], channels: [email], escalate_to: purchasing-manager}")
           .replace("      - escalate: {after: 8h, to: purchasing-manager}\n", ""))


def _setup(client, admin_headers, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert "escalate_to" in RULESET and "escalate: {" not in RULESET
    monkeypatch.setattr(scenario, "RULESET", RULESET)
    scenario.setup(client, admin_headers)
    assert client.post("/api/v1/events", json=scenario.history(),
                       headers=admin_headers).json["accepted"] == 14


def test_an_overdue_task_escalates_to_its_roles_escalate_to_once(client, admin_headers, services,
                                                                  clock, monkeypatch):
    _setup(client, admin_headers, monkeypatch)
    with services.db.connect() as conn:
        task = conn.execute(select(tasks)).one()
    assert task.role == "buyer" and task.due_at < clock.now()  # due 4 h after Nov 5; now Nov 20

    assert periodic.run_once(services, "web-1") == {"relayed": 0, "escalated": 1}
    with services.db.connect() as conn:
        assert conn.execute(select(tasks.c.role)).scalar_one() == "purchasing-manager"
        moved = conn.execute(select(task_history.c.data)
                             .where(task_history.c.transition == "escalate")).scalars().all()
        assert moved == [{"from_role": "buyer", "to_role": "purchasing-manager", "level": 0,
                          "reason": "overdue"}]
        told = conn.execute(select(notifications.c.recipients)
                            .where(notifications.c.subject.like("overdue:%"))).scalars().all()
        assert told == [["purchasing-manager"]]
    # a second pass (or a second process) does not move it again
    assert periodic.run_once(services, "web-1") == {"relayed": 0, "escalated": 0}
    with services.db.connect() as conn:
        assert len(conn.execute(select(escalations)).all()) == 1


def test_a_task_not_yet_due_stays(client, admin_headers, services, clock, monkeypatch):
    clock.at = clock.at.replace(month=11, day=5, hour=12)  # the task is due at 14:00
    _setup(client, admin_headers, monkeypatch)
    assert periodic.run_once(services, "web-1") == {"relayed": 0, "escalated": 0}
    clock.advance(timedelta(hours=3))
    assert periodic.run_once(services, "web-1") == {"relayed": 0, "escalated": 1}


def test_the_lease_lets_one_process_work_until_it_stops_renewing(services, clock):
    assert periodic.run_once(services, "web-1") is not None
    assert periodic.run_once(services, "web-2") is None  # web-1 holds it
    clock.advance(periodic.LEASE_TTL - timedelta(seconds=1))
    assert periodic.run_once(services, "web-1") is not None  # renewed
    assert periodic.run_once(services, "web-2") is None
    clock.advance(periodic.LEASE_TTL + timedelta(seconds=1))  # web-1 died: its lease lapsed
    assert periodic.run_once(services, "web-2") is not None
    assert periodic.run_once(services, "web-1") is None
    with services.uow() as uow:
        leases.release(uow.conn, periodic.LEASE, "web-2")
        uow.commit()
    assert periodic.run_once(services, "web-1") is not None


def test_the_loop_starts_with_the_first_request_without_redis(tmp_path, clock):
    """Outside tests the app starts the loop when it serves its first request, not before
    (``flask db upgrade`` and the other commands never sweep)."""
    from admin import create_app
    from engine.config import Settings
    from engine.storage.database import upgrade

    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    earlier = periodic._started.pop(os.getpid(), None)  # another test's app may have one
    if earlier is not None:
        earlier.stopping.set()
        earlier.join(10)
    app = create_app(Settings(database_url=url, instance_path=tmp_path, secret_key="k",
                              secure_cookies=False), clock)
    assert os.getpid() not in periodic._started  # building the app started nothing
    app.test_client().get("/health")
    loop = periodic._started[os.getpid()]
    try:
        assert loop.is_alive()
    finally:
        loop.stopping.set()
        loop.join(10)
        app.extensions["engine"].close()
    assert not loop.is_alive()
