"""Rules act at once (#17): an activation evaluates the rules it changed over the current stock;
alerts of removed rules and of conditions that no longer hold are resolved with that reason.
Set up through the REST API, as an integration would; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.services import rule_runs
from engine.storage.tables import alerts, escalations, notifications, tasks
from engine.storage.tables import rule_runs as runs_table

HEAD = """\
ruleset: act-now
roles:
  - {id: buyer, name: 采购员, members: [alice], escalate_to: manager}
  - {id: manager, name: 经理, members: [carol]}
workflows:
  - {id: review, name: 复核, states: [open, done],
     transitions: [{id: close, from: [open], to: done, roles: [buyer]}]}
rules:
  - id: low
    name: 低库存
    when: {"<": [{"var": "stock.available"}, LOW]}
    owner: buyer
    actions:
      - create_task: {title: "低库存 {{ sku.code }}", workflow: review}
"""
VERY_LOW = """\
  - id: very-low
    name: 极低库存
    on: [receipt]
    when: {"<": [{"var": "stock.available"}, 4]}
    owner: buyer
    severity: high
    actions:
      - create_task: {title: "极低 {{ sku.code }}", workflow: review}
      - notify: {to: owner, channels: [email]}
      - escalate: {after: 8h, to: manager}
"""


def _put(client: Any, headers: dict[str, str], text: str) -> int:
    answer = client.put("/api/v1/ruleset", data=text, content_type="application/yaml",
                        headers=headers)
    assert answer.status_code == 200, answer.json
    return int(answer.json["version"])


def _setup(client: Any, headers: dict[str, str], clock: Any) -> None:
    for path, body in (("/api/v1/warehouses", [{"code": "WH", "name": "上海仓"}]),
                       ("/api/v1/skus", [{"code": c, "name": c} for c in ("A", "B", "C")])):
        assert client.put(path, json=body, headers=headers).status_code == 200
    _put(client, headers, HEAD.replace("LOW", "10"))
    at = clock.now().isoformat()
    events = [{"id": f"c-{c}", "type": "count", "sku": c, "warehouse": "WH", "qty": q, "at": at}
              for c, q in (("A", 5), ("B", 50), ("C", 3))]
    answer = client.post("/api/v1/events", json=events, headers=headers)
    assert answer.json["accepted"] == 3, answer.json


def _open(services: Any) -> set[tuple[str, str]]:
    with services.uow() as uow:
        rows = uow.conn.execute(select(alerts.c.rule, alerts.c.sku_id)
                                .where(alerts.c.state == "open")).all()
    names = {1: "A", 2: "B", 3: "C"}
    return {(r.rule, names[r.sku_id]) for r in rows}


def _resolutions(services: Any) -> dict[tuple[str, int], str]:
    with services.uow() as uow:
        return {(r.rule, r.sku_id): r.resolution for r in uow.conn.execute(
            select(alerts.c.rule, alerts.c.sku_id, alerts.c.resolution)
            .where(alerts.c.state == "resolved"))}


def test_a_new_rule_raises_its_alerts_at_once_with_their_tasks(client, admin_headers, clock,
                                                                services) -> None:
    _setup(client, admin_headers, clock)
    assert _open(services) == {("low", "A"), ("low", "C")}  # the events raised these
    with services.uow() as uow:
        hits_before = dict(uow.conn.execute(select(alerts.c.id, alerts.c.hits)).all())
    # a rule on receipts only, saved while no receipt comes: it acts on the stock now
    version = _put(client, admin_headers, HEAD.replace("LOW", "10") + VERY_LOW)
    assert _open(services) == {("low", "A"), ("low", "C"), ("very-low", "C")}
    with services.uow() as uow:
        run = rule_runs.of_version(uow.conn, version)[0]
        assert run["state"] == "done" and run["rules"] == ["very-low"]
        assert run["counts"]["opened"] == 1 and run["counts"]["tasks"] == 1
        assert run["progress_done"] == run["progress_total"] == 1  # one candidate pair: C
        [alert] = uow.conn.execute(select(alerts).where(alerts.c.rule == "very-low")).all()
        assert run["counts"]["alerts"] == [alert.id]
        assert alert.facts["event"]["type"] == "rule_change" and alert.severity == "high"
        [task] = uow.conn.execute(select(tasks).where(tasks.c.alert_id == alert.id)).all()
        assert task.title == "极低 C" and task.role == "buyer"
        # the notice and the escalation, as an event's alert would have them
        assert uow.conn.execute(select(notifications.c.id)
                                .where(notifications.c.alert_id == alert.id)).all()
        assert uow.conn.execute(select(escalations.c.to_role).where(
            escalations.c.alert_id == alert.id)).scalars().all() == ["manager"]
        # the unchanged rule was not evaluated again: its alerts did not count a hit
        assert {i: h for i, h in uow.conn.execute(select(alerts.c.id, alerts.c.hits))
                if i in hits_before} == hits_before


def test_a_changed_condition_resolves_what_no_longer_holds_and_a_removed_rule_its_alerts(
        client, admin_headers, clock, services) -> None:
    _setup(client, admin_headers, clock)
    _put(client, admin_headers, HEAD.replace("LOW", "10") + VERY_LOW)
    # low now means below 4: A (5) no longer; C (3) still
    _put(client, admin_headers, HEAD.replace("LOW", "4") + VERY_LOW)
    assert _open(services) == {("low", "C"), ("very-low", "C")}
    assert _resolutions(services) == {("low", 1): "rule_changed"}
    # very-low is gone from the version: its alert resolves as such, its escalation is cancelled
    _put(client, admin_headers, HEAD.replace("LOW", "4"))
    assert _open(services) == {("low", "C")}
    assert _resolutions(services)[("very-low", 3)] == "rule_removed"
    with services.uow() as uow:
        [pending] = uow.conn.execute(select(escalations)).all()
        assert pending.cancelled_at is not None and pending.fired_at is None


def test_activating_an_earlier_version_evaluates_what_differs(client, admin_headers, clock,
                                                             services) -> None:
    _setup(client, admin_headers, clock)
    first = 1
    _put(client, admin_headers, HEAD.replace("LOW", "4"))  # A's low alert resolves
    assert _open(services) == {("low", "C")}
    answer = client.post(f"/api/v1/ruleset/versions/{first}/activate", headers=admin_headers)
    assert answer.status_code == 200, answer.json
    assert _open(services) == {("low", "A"), ("low", "C")}  # A alerts again under version 1
    with services.uow() as uow:
        runs = uow.conn.execute(select(runs_table.c.version, runs_table.c.state)
                                .order_by(runs_table.c.id)).all()
    assert [tuple(r) for r in runs] == [(1, "done"), (2, "done"), (1, "done")]


def test_a_run_nobody_took_is_started_by_the_periodic_sweep(client, admin_headers, clock,
                                                           services) -> None:
    from datetime import timedelta

    from engine.services.runner import sweep_once

    _setup(client, admin_headers, clock)
    taken = services.jobs.rules_runner
    services.jobs.rules_runner = None  # as if Redis were down when the version was saved
    try:
        version = _put(client, admin_headers, HEAD.replace("LOW", "10") + VERY_LOW)
    finally:
        services.jobs.rules_runner = taken
    with services.uow() as uow:
        assert rule_runs.of_version(uow.conn, version)[0]["state"] == "queued"
    assert ("very-low", "C") not in _open(services)
    clock.advance(timedelta(minutes=1))
    sweep_once(services)
    assert ("very-low", "C") in _open(services)
    with services.uow() as uow:
        assert rule_runs.of_version(uow.conn, version)[0]["state"] == "done"



GROUP_OWNED = """\
ruleset: group-owned
roles:
  - {id: buyer, name: 采购员, members: [alice], escalate_to: manager}
  - {id: manager, name: 经理, members: [carol]}
workflows:
  - {id: review, name: 复核, states: [open, done],
     transitions: [{id: close, from: [open], to: done, roles: [buyer]}]}
sku_groups:
  - {id: everything, name: 全部, owner: buyer}
rules:
  - id: low
    group: everything
    when: {"<": [{"var": "stock.available"}, 10]}
    actions:
      - create_task: {title: "低库存 {{ sku.code }}", workflow: review, due: 1h}
"""


def test_a_group_owner_gets_the_task_and_an_overdue_task_escalates_to_its_escalate_to(
        client, admin_headers, clock, services) -> None:
    from datetime import timedelta

    from engine.services import periodic

    for path, body in (("/api/v1/warehouses", [{"code": "WH", "name": "上海仓"}]),
                       ("/api/v1/skus", [{"code": "A", "name": "A"}])):
        assert client.put(path, json=body, headers=admin_headers).status_code == 200
    _put(client, admin_headers, GROUP_OWNED)
    answer = client.post("/api/v1/events", json=[{"id": "c-A", "type": "count", "sku": "A",
                                                  "warehouse": "WH", "qty": 5,
                                                  "at": clock.now().isoformat()}],
                         headers=admin_headers)
    assert answer.json["accepted"] == 1
    with services.uow() as uow:
        [task] = uow.conn.execute(select(tasks)).all()
        [alert] = uow.conn.execute(select(alerts)).all()
    assert task.role == "buyer" and alert.owner == "buyer"  # the group's owner, inherited
    clock.advance(timedelta(hours=2))
    assert periodic.run_once(services, "web-1")["escalated"] == 1
    with services.uow() as uow:
        assert uow.conn.execute(select(tasks.c.role)).scalar_one() == "manager"
        told = uow.conn.execute(select(notifications.c.recipients).where(
            notifications.c.alert_id == alert.id, notifications.c.subject.like("overdue:%"))
        ).scalars().all()
    assert told == [["manager"]]  # the new role is told


def test_an_activation_while_another_admin_saves_is_refused_and_loses_nothing(
        client, admin_headers, clock, services) -> None:
    """Two transactions at once: the save holds the ruleset's revision row; the activation,
    read at the same revision, waits for it, then finds the revision moved: Conflict (409)."""
    import threading

    import pytest

    from engine.errors import Conflict
    from engine.services import rulesets

    _setup(client, admin_headers, clock)  # version 1
    _put(client, admin_headers, HEAD.replace("LOW", "4"))  # version 2, revision 2
    with services.uow() as uow:
        revision = services.rulesets.active(uow.conn).revision
    outcome: list[BaseException | None] = []

    def activate_one() -> None:
        try:
            with services.uow() as uow:
                rulesets.activate(uow.conn, 1, "bob", clock.now(), expected_revision=revision)
                uow.commit()
            outcome.append(None)
        except BaseException as exc:  # looked at below
            outcome.append(exc)

    with services.uow() as saving:
        number = rulesets.put(saving.conn, HEAD.replace("LOW", "6") + VERY_LOW, "yaml", "alice",
                              clock.now(), expected_revision=revision)
        other = threading.Thread(target=activate_one)
        other.start()  # waits for the save's lock (SQLite's database, PostgreSQL's row)
        saving.commit()
    other.join()
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict)
    with services.uow() as uow:
        assert services.rulesets.active(uow.conn).version == number == 3  # the save stands
        assert rule_runs.of_version(uow.conn, 1)[0]["previous"] is None  # no second run of v1
    # and the same stale revision is refused afterwards too
    with pytest.raises(Conflict), services.uow() as uow:
        rulesets.activate(uow.conn, 1, "bob", clock.now(), expected_revision=revision)
