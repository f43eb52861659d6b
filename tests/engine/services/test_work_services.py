"""Work use cases on a real database: task and requisition transitions, on-order bookkeeping,
listings and the stock view, with state raised through the public API."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event, select, update

from engine.errors import Conflict, NotFound
from engine.rules.compiled import CompiledRuleset
from engine.services import queries
from engine.services.queries import SEVERITY_RANK
from engine.services.requisitions import (
    get_requisition,
    recompute_on_order_local,
    transition_requisition,
)
from engine.services.stock_view import stock_view
from engine.services.tasks import get_task, transition_task
from engine.storage.tables import alerts, requisitions, stock_levels, tasks
from engine.workflows.errors import FormInvalid, RoleNotAllowed, TransitionNotAllowed

RULESET = (Path(__file__).resolve().parents[2] / "data" / "work-ruleset.yaml").read_text("utf-8")
BUYER = frozenset({"buyer"})
MANAGER = frozenset({"purchasing-manager"})


def seed(client: Any, headers: dict[str, str]) -> None:
    """SKU-1 low in WH-1 and WH-2, SKU-2 out in WH-1: four alerts, tasks and requisitions."""
    sup = [{"supplier": "SUP-1", "preferred": True}]
    bodies = {
        "/api/v1/suppliers": [{"code": "SUP-1", "name": "Supplier 1", "lead_time_days": 5}],
        "/api/v1/warehouses": [{"code": "WH-1", "name": "East"}, {"code": "WH-2", "name": "West"}],
        "/api/v1/skus": [{"code": "SKU-1", "name": "Item 1", "unit_cost": 2, "suppliers": sup},
                         {"code": "SKU-2", "name": "Item 2", "unit_cost": 0.5, "suppliers": sup}],
    }
    for path, body in bodies.items():
        assert client.put(path, json=body, headers=headers).status_code == 200
    assert client.put("/api/v1/ruleset", data=RULESET, content_type="application/yaml",
                      headers=headers).status_code == 200
    rows = [("r1", "receipt", "SKU-1", "WH-1", 20, "01"),
            ("r2", "receipt", "SKU-1", "WH-2", 20, "01"),
            ("r3", "receipt", "SKU-2", "WH-1", 20, "01"),
            ("s1", "sale", "SKU-1", "WH-1", 15, "03"),
            ("s2", "sale", "SKU-1", "WH-2", 12, "05"),
            ("s3", "sale", "SKU-2", "WH-1", 20, "06")]
    events = [{"id": i, "type": t, "sku": s, "warehouse": w, "qty": q,
               "at": f"2026-11-20T{h}:00:00Z"} for i, t, s, w, q, h in rows]
    assert client.post("/api/v1/events", json=events, headers=headers).json["accepted"] == 6


@pytest.fixture
def svc(client: Any, admin_headers: dict[str, str], services: Any) -> Any:
    seed(client, admin_headers)
    return services


@pytest.fixture
def ruleset(svc: Any) -> CompiledRuleset:
    with svc.uow() as uow:
        active = svc.rulesets.active(uow.conn)
    assert active is not None
    return active.compiled  # type: ignore[no-any-return]


def task_id(conn: Connection, sku: str, warehouse: str, rule: str = "low-stock") -> int:
    _, rows = queries.list_tasks(conn, {"sku": sku, "warehouse": warehouse, "rule": rule}, 10)
    assert len(rows) == 1
    return rows[0]["id"]  # type: ignore[no-any-return]


def requisition_id(conn: Connection, sku: str, warehouse: str) -> int:
    _, rows = queries.list_requisitions(conn, {"sku": sku, "warehouse": warehouse}, 10)
    return rows[0]["id"]  # type: ignore[no-any-return]


def on_order_local(conn: Connection, sku_id: int, warehouse_id: int) -> float:
    return conn.execute(select(stock_levels.c.on_order_local).where(
        stock_levels.c.sku_id == sku_id, stock_levels.c.warehouse_id == warehouse_id)).scalar_one()


# -- tasks ----------------------------------------------------------------------------------
def test_a_transition_updates_the_task_and_writes_history(svc, ruleset, clock) -> None:
    with svc.uow() as uow:
        tid = task_id(uow.conn, "SKU-1", "WH-1")
        row = transition_task(uow.conn, ruleset, tid, "resolve",
                              {"outcome": "transferred", "quantity": 3}, "alice", BUYER,
                              clock.now())
        uow.commit()
        assert (row["state"], row["closed"], row["version"]) == ("done", True, 2)
        assert row["data"] == {"outcome": "transferred", "quantity": 3.0}
        detail = get_task(uow.conn, tid, ruleset, BUYER, clock.now())
    last = detail["history"][-1]
    assert (last["actor"], last["from"], last["to"], last["data"]) == (
        "alice", "open", "done", {"outcome": "transferred", "quantity": 3.0})
    assert detail["transitions"] == []  # terminal: nothing more to do


def test_form_errors_name_each_field_and_change_nothing(svc, ruleset, clock) -> None:
    with svc.uow() as uow:
        tid = task_id(uow.conn, "SKU-1", "WH-1")
        with pytest.raises(FormInvalid) as caught:
            transition_task(uow.conn, ruleset, tid, "resolve", {"quantity": -2}, "alice",
                            BUYER, clock.now())
        assert set(caught.value.fields) == {"outcome", "quantity"}
        assert queries.load_task(uow.conn, tid)["version"] == 1


def test_roles_come_from_the_ruleset_not_from_being_admin(svc, ruleset, clock) -> None:
    with svc.uow() as uow:
        tid = task_id(uow.conn, "SKU-1", "WH-1")
        with pytest.raises(RoleNotAllowed):
            transition_task(uow.conn, ruleset, tid, "start", {}, "root", frozenset(),
                            clock.now())
        with pytest.raises(RoleNotAllowed):
            transition_task(uow.conn, ruleset, tid, "cancel", {}, "alice", BUYER, clock.now())
        row = transition_task(uow.conn, ruleset, tid, "cancel", {}, "carol", MANAGER,
                              clock.now())
        assert row["state"] == "cancelled" and row["closed"]


def test_a_workflow_gone_from_the_active_ruleset_refuses_clearly(svc, ruleset, clock) -> None:
    without = replace(ruleset, workflows={})
    with svc.uow() as uow:
        tid = task_id(uow.conn, "SKU-1", "WH-1")
        for rs in (without, None):
            with pytest.raises(TransitionNotAllowed, match="not in the active ruleset"):
                transition_task(uow.conn, rs, tid, "start", {}, "alice", BUYER, clock.now())
        assert get_task(uow.conn, tid, without, BUYER)["transitions"] == []


def test_a_concurrent_change_is_a_conflict(svc, ruleset, clock) -> None:
    with svc.uow() as uow:
        tid = task_id(uow.conn, "SKU-1", "WH-1")
        _someone_else_writes_first(uow.conn, tid)
        with pytest.raises(Conflict, match="changed by someone else"):
            transition_task(uow.conn, ruleset, tid, "start", {}, "alice", BUYER, clock.now())


def _someone_else_writes_first(conn: Connection, tid: int) -> None:
    """Bump the task's version right before our guarded UPDATE runs, as another writer would."""
    done: list[bool] = []

    def before(conn_: Connection, clauseelement: Any, *args: Any) -> None:
        if done or getattr(clauseelement, "table", None) is not tasks:
            return
        done.append(True)
        conn_.execute(update(tasks).where(tasks.c.id == tid).values(version=tasks.c.version + 1))

    event.listen(conn, "before_execute", before)


def test_leaving_the_initial_state_acknowledges_only_an_open_alert(svc, ruleset, clock) -> None:
    with svc.uow() as uow:
        first = task_id(uow.conn, "SKU-1", "WH-1")
        second = task_id(uow.conn, "SKU-1", "WH-2")
        wh2_alert = queries.load_task(uow.conn, second)["alert"]
        uow.conn.execute(update(alerts).where(alerts.c.id == wh2_alert).values(state="resolved"))
        for tid in (first, second):
            transition_task(uow.conn, ruleset, tid, "start", {}, "alice", BUYER, clock.now())
        states = dict(uow.conn.execute(select(alerts.c.id, alerts.c.state)).all())
    assert states[wh2_alert] == "resolved"
    assert sorted(states.values()) == ["acknowledged", "open", "open", "resolved"]


def test_listing_overdue_tasks_needs_the_time(svc, clock) -> None:
    with svc.uow() as uow:
        with pytest.raises(ValueError):
            queries.list_tasks(uow.conn, {"overdue": True}, 10)
        total, rows = queries.list_tasks(uow.conn, {"overdue": True}, 10, now=clock.now())
        assert total == 1 and rows[0]["overdue"] and rows[0]["sku"] == "SKU-1"
        assert queries.list_tasks(uow.conn, {"roles": []}, 10)[0] == 0
        assert queries.list_tasks(uow.conn, {"roles": ["buyer", "sales"]}, 10)[0] == 4
        with pytest.raises(NotFound):
            get_task(uow.conn, 999)


def test_open_tasks_are_listed_before_closed_ones_then_by_severity(svc) -> None:
    with svc.uow() as uow:
        _, before = queries.list_tasks(uow.conn, {}, 10)
        most_severe = before[0]["id"]
        uow.conn.execute(update(tasks).where(tasks.c.id == most_severe).values(state="done", closed=True))
        _, after = queries.list_tasks(uow.conn, {}, 10)
    assert [t["id"] for t in after] == [t["id"] for t in before[1:]] + [most_severe]
    ranks = [SEVERITY_RANK[t["severity"]] for t in after[:-1]]
    assert ranks == sorted(ranks)


# -- requisitions ---------------------------------------------------------------------------
def test_the_requisition_lifecycle_keeps_on_order_local_exact(svc, clock) -> None:
    now = clock.now()
    with svc.uow() as uow:
        conn = uow.conn
        rid = requisition_id(conn, "SKU-1", "WH-1")
        row = conn.execute(select(requisitions).where(requisitions.c.id == rid)).one()
        assert on_order_local(conn, row.sku_id, row.warehouse_id) == 100
        with pytest.raises(RoleNotAllowed):
            transition_requisition(conn, rid, "approve", {}, "alice", BUYER, now)
        transition_requisition(conn, rid, "approve", {}, "carol", MANAGER, now)
        with pytest.raises(FormInvalid) as caught:
            transition_requisition(conn, rid, "order", {}, "carol", MANAGER, now)
        assert set(caught.value.fields) == {"ref"}
        ordered = transition_requisition(conn, rid, "order", {"ref": "PO-7"}, "carol", MANAGER,
                                         now)
        assert (ordered["state"], ordered["ref"], ordered["ordered_at"]) == ("ordered", "PO-7", now)
        assert on_order_local(conn, row.sku_id, row.warehouse_id) == 100
        detail = get_requisition(conn, rid, MANAGER)
        assert detail["transitions"] == ["receive"]
        assert [h["to"] for h in detail["history"]] == ["pending_approval", "approved", "ordered"]
        with pytest.raises(RoleNotAllowed):  # no buying role (issue #13)
            transition_requisition(conn, rid, "receive", {}, "bob", frozenset(), now)
        transition_requisition(conn, rid, "receive", {}, "alice", BUYER, now)
        assert on_order_local(conn, row.sku_id, row.warehouse_id) == 0


def test_recompute_counts_only_local_open_requisitions_and_creates_the_row(svc) -> None:
    with svc.uow() as uow:
        conn = uow.conn
        rid = requisition_id(conn, "SKU-1", "WH-2")
        row = conn.execute(select(requisitions).where(requisitions.c.id == rid)).one()
        key = (stock_levels.c.sku_id == row.sku_id, stock_levels.c.warehouse_id == row.warehouse_id)
        conn.execute(stock_levels.delete().where(*key))
        assert recompute_on_order_local(conn, row.sku_id, row.warehouse_id) == 100
        assert on_order_local(conn, row.sku_id, row.warehouse_id) == 100
        conn.execute(update(requisitions).where(requisitions.c.id == rid)
                     .values(state="ordered", counted_by_erp=True))
        assert recompute_on_order_local(conn, row.sku_id, row.warehouse_id) == 0
        for state, counted in (("ordered", 100), ("received", 0), ("rejected", 0), ("draft", 100)):
            conn.execute(update(requisitions).where(requisitions.c.id == rid)
                         .values(state=state, counted_by_erp=False))
            assert recompute_on_order_local(conn, row.sku_id, row.warehouse_id) == counted, state


def test_a_stale_requisition_version_is_a_conflict(svc, clock) -> None:
    with svc.uow() as uow:
        rid = requisition_id(uow.conn, "SKU-2", "WH-1")
        done: list[bool] = []

        def before(conn_: Connection, clauseelement: Any, *args: Any) -> None:
            if not done and getattr(clauseelement, "table", None) is requisitions:
                done.append(True)
                conn_.execute(update(requisitions).where(requisitions.c.id == rid)
                              .values(version=requisitions.c.version + 1))

        event.listen(uow.conn, "before_execute", before)
        with pytest.raises(Conflict):
            transition_requisition(uow.conn, rid, "cancel", {}, "alice", BUYER, clock.now())


# -- stock view -----------------------------------------------------------------------------
def test_the_stock_view_shows_the_metrics_a_rule_saw(svc, clock) -> None:
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
        view = stock_view(uow.conn, snap, "SKU-1", clock.now())
        _, found = queries.list_alerts(uow.conn, {"sku": "SKU-1", "warehouse": "WH-1"}, 1)
        with pytest.raises(NotFound):
            stock_view(uow.conn, snap, "NOPE", clock.now())
    wh1 = view["warehouses"][0]
    seen = found[0]["facts"]["metrics"]
    assert wh1["metrics"]["reorder_point"] == pytest.approx(seen["reorder_point"])
    assert wh1["metrics"]["avg_daily_demand"] == pytest.approx(seen["avg_daily_demand"])
    assert wh1["levels"]["available"] == 5 and wh1["levels"]["total_available"] == 13
    assert [a["id"] for a in wh1["alerts"]] == [found[0]["id"]]


def test_the_stock_view_works_before_any_ruleset(client, admin_headers, services, clock) -> None:
    for path, body in (("/api/v1/warehouses", [{"code": "WH-1", "name": "East"}]),
                       ("/api/v1/skus", [{"code": "SKU-9", "name": "Item 9"}])):
        assert client.put(path, json=body, headers=admin_headers).status_code == 200
    event_ = {"id": "r9", "type": "receipt", "sku": "SKU-9", "warehouse": "WH-1", "qty": 4,
              "at": "2026-11-20T01:00:00Z"}
    assert client.post("/api/v1/events", json=event_, headers=admin_headers).status_code == 200
    with services.uow() as uow:
        view = stock_view(uow.conn, services.cache.current(uow.conn), "SKU-9", clock.now())
    (wh,) = view["warehouses"]
    assert (wh["levels"]["available"], wh["groups"], wh["alerts"]) == (4, [], [])
    assert wh["metrics"]["lead_time_days"] == 7  # the default lead time, no supplier
