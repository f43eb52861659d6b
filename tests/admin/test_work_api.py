"""REST work endpoints: alerts, the task inbox and its transitions, requisitions, stock view.

The state is built the public way: master data and a ruleset PUT by an admin, then stock events
POSTed, which raise the alerts, tasks and requisitions under test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.storage.tables import stock_levels

RULESET = (Path(__file__).resolve().parents[1] / "data" / "work-ruleset.yaml").read_text("utf-8")
SKUS = [
    {"code": "SKU-1", "name": "Item 1", "unit_cost": 2,
     "suppliers": [{"supplier": "SUP-1", "preferred": True, "price": 2}]},
    {"code": "SKU-2", "name": "Item 2", "unit_cost": 0.5,
     "suppliers": [{"supplier": "SUP-1", "preferred": True, "price": 0.5}]},
    {"code": "SKU-3", "name": "Item 3", "unit_cost": 3},
]
EVENTS = [
    ("r1", "receipt", "SKU-1", "WH-1", 20, "01:00"),
    ("r2", "receipt", "SKU-1", "WH-2", 20, "01:00"),
    ("r3", "receipt", "SKU-2", "WH-1", 20, "01:00"),
    ("r4", "receipt", "SKU-3", "WH-1", 50, "01:00"),
    ("s1", "sale", "SKU-1", "WH-1", 15, "03:00"),  # available 5: low-stock, task due 07:00
    ("s2", "sale", "SKU-1", "WH-2", 12, "05:00"),  # available 8: low-stock, due 09:00
    ("s3", "sale", "SKU-2", "WH-1", 20, "05:30"),  # available 0: low-stock + out-of-stock
]


def seed(client: Any, headers: dict[str, str]) -> None:
    """Master data, the work ruleset and the events that raise four alerts."""
    bodies = {
        "/api/v1/suppliers": [{"code": "SUP-1", "name": "Supplier 1", "lead_time_days": 5}],
        "/api/v1/warehouses": [{"code": "WH-1", "name": "East"}, {"code": "WH-2", "name": "West"}],
        "/api/v1/skus": SKUS,
    }
    for path, body in bodies.items():
        assert client.put(path, json=body, headers=headers).status_code == 200
    answer = client.put("/api/v1/ruleset", data=RULESET, content_type="application/yaml",
                        headers=headers)
    assert answer.status_code == 200, answer.json
    events = [{"id": i, "type": t, "sku": s, "warehouse": w, "qty": q,
               "at": f"2026-11-20T{at}:00Z"} for i, t, s, w, q, at in EVENTS]
    answer = client.post("/api/v1/events", json=events, headers=headers)
    assert answer.json["accepted"] == len(EVENTS), answer.json


def token_headers(runner: Any, name: str) -> dict[str, str]:
    assert runner.invoke(args=["users", "create", name, "--no-password"]).exit_code == 0
    result = runner.invoke(args=["tokens", "create", name])
    assert result.exit_code == 0, result.output
    return {"Authorization": f"Bearer {result.output.strip().splitlines()[-1]}"}


@pytest.fixture
def seeded(client: Any, admin_headers: dict[str, str]) -> dict[str, str]:
    seed(client, admin_headers)
    return admin_headers


def get(client: Any, path: str, headers: dict[str, str], status: int = 200) -> Any:
    answer = client.get(path, headers=headers)
    assert answer.status_code == status, answer.json
    return answer.json


def transition(client: Any, path: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return client.post(f"{path}/transitions", json=body, headers=headers)


def one_task(client: Any, headers: dict[str, str], query: str) -> dict[str, Any]:
    page = get(client, f"/api/v1/tasks?{query}", headers)
    assert page["total"] == 1, page
    return page["items"][0]  # type: ignore[no-any-return]


def on_order_local(client: Any, headers: dict[str, str], sku: str, warehouse: str) -> float:
    view = get(client, f"/api/v1/skus/{sku}/stock", headers)
    level = next(w for w in view["warehouses"] if w["warehouse"] == warehouse)["levels"]
    return level["on_order_local"]  # type: ignore[no-any-return]


# -- alerts ---------------------------------------------------------------------------------
def test_alerts_are_listed_with_filters_and_paging(client, seeded, user_headers) -> None:
    page = get(client, "/api/v1/alerts", user_headers)
    assert page["total"] == 4
    first = page["items"][0]
    assert set(first) >= {"id", "rule", "rule_version", "sku", "warehouse", "severity", "state",
                          "opened_at", "resolved_at", "hits", "facts", "owner"}
    assert first["facts"]["stock"]["available"] <= 0  # newest first: the SKU-2 sale at 05:30
    counts = {"sku=SKU-1": 2, "warehouse=WH-2": 1, "rule=out-of-stock": 1,
              "severity=critical": 1, "role=buyer": 4, "role=sales": 0, "state=open": 4,
              "state=resolved": 0, "sku=SKU-2&rule=low-stock": 1}
    for query, expected in counts.items():
        assert get(client, f"/api/v1/alerts?{query}", user_headers)["total"] == expected, query
    paged = get(client, "/api/v1/alerts?limit=3&offset=2", user_headers)
    assert (paged["total"], len(paged["items"])) == (4, 2)
    assert paged["items"][0]["id"] == page["items"][2]["id"]


def test_listing_arguments_are_checked_field_by_field(client, seeded) -> None:
    answer = client.get("/api/v1/alerts?limit=abc&severity=huge", headers=seeded)
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json["errors"]} == {"limit", "severity"}
    assert get(client, "/api/v1/tasks?limit=100000", seeded)["total"] == 4  # clamped to 500


# -- tasks ----------------------------------------------------------------------------------
def test_tasks_come_most_severe_first_then_soonest_due(client, seeded, user_headers) -> None:
    items = get(client, "/api/v1/tasks", user_headers)["items"]
    assert [t["severity"] for t in items] == ["critical", "high", "high", "high"]
    assert [t["sku"] + "@" + t["warehouse"] for t in items[1:]] == [
        "SKU-1@WH-1", "SKU-1@WH-2", "SKU-2@WH-1"]
    assert items[1]["overdue"] and not items[2]["overdue"]  # due 07:00 and 09:00; now 08:00
    assert items[0]["title"] == "Out of stock SKU-2"


def test_tasks_are_filtered(client, seeded, user_headers) -> None:
    counts = {"overdue=true": 1, "overdue=false": 3, "open=true": 4, "open=false": 0,
              "role=buyer": 4, "role=sales": 0, "rule=low-stock": 3, "sku=SKU-2": 2,
              "warehouse=WH-2": 1, "state=open": 4, "assignee=alice": 0, "mine=true": 4}
    for query, expected in counts.items():
        assert get(client, f"/api/v1/tasks?{query}", user_headers)["total"] == expected, query
    assert get(client, "/api/v1/tasks?mine=true", seeded)["total"] == 0  # admin: no role


def test_a_task_shows_its_history_alert_and_the_callers_transitions(
        client, seeded, user_headers) -> None:
    task = one_task(client, user_headers, "sku=SKU-1&warehouse=WH-2")
    detail = get(client, f"/api/v1/tasks/{task['id']}", user_headers)
    assert detail["history"][0]["transition"] == "create"
    assert detail["alert_summary"]["sku"] == "SKU-1"
    assert detail["alert_summary"]["facts"]["stock"]["available"] == 8
    assert [t["id"] for t in detail["transitions"]] == ["start", "resolve"]
    outcome = detail["transitions"][1]["form"][0]
    assert outcome["name"] == "outcome" and outcome["input"] == "select" and outcome["required"]
    assert [c["value"] for c in outcome["choices"]] == ["replenished", "transferred",
                                                        "false_alarm"]
    admin_view = get(client, f"/api/v1/tasks/{task['id']}", seeded)
    assert admin_view["transitions"] == []  # an admin holds no business role
    get(client, "/api/v1/tasks/999", user_headers, status=404)


def test_alice_moves_her_task_and_the_history_records_it(client, seeded, user_headers) -> None:
    task = one_task(client, user_headers, "sku=SKU-1&warehouse=WH-1")
    path = f"/api/v1/tasks/{task['id']}"
    answer = transition(client, path, user_headers, {"transition": "start"})
    assert answer.status_code == 200, answer.json
    assert answer.json["state"] == "in_progress" and answer.json["assignee"] == "alice"
    last = answer.json["history"][-1]
    assert (last["actor"], last["transition"], last["from"], last["to"]) == (
        "alice", "start", "open", "in_progress")
    alert = get(client, "/api/v1/alerts?sku=SKU-1&warehouse=WH-1", user_headers)["items"][0]
    assert alert["state"] == "acknowledged"  # someone is on it

    answer = transition(client, path, user_headers, {
        "transition": "resolve", "data": {"outcome": "replenished", "quantity": "40"}})
    assert answer.status_code == 200, answer.json
    done = answer.json
    assert (done["state"], done["closed"], done["data"]) == (
        "done", True, {"outcome": "replenished", "quantity": 40.0})
    assert done["transitions"] == []
    assert [h["transition"] for h in done["history"]] == ["create", "start", "resolve"]
    still = get(client, "/api/v1/alerts?state=acknowledged", user_headers)["items"]
    assert [a["id"] for a in still] == [alert["id"]]  # a closed task resolves nothing


def test_a_user_without_the_role_is_refused(client, seeded, runner) -> None:
    task = one_task(client, seeded, "sku=SKU-1&warehouse=WH-1")
    path = f"/api/v1/tasks/{task['id']}"
    dave = token_headers(runner, "dave")
    # sales: the task is not one dave may see, so it answers as if absent (as the page does)
    assert transition(client, path, dave, {"transition": "start"}).status_code == 404
    answer = transition(client, path, seeded, {"transition": "start"})  # the admin: no buyer
    assert answer.status_code == 403, answer.json
    assert "buyer" in answer.json["message"]
    assert get(client, path, seeded)["state"] == "open"


def test_invalid_form_answers_are_refused_field_by_field(client, seeded, user_headers) -> None:
    task = one_task(client, user_headers, "sku=SKU-1&warehouse=WH-1")
    path = f"/api/v1/tasks/{task['id']}"
    answer = transition(client, path, user_headers, {
        "transition": "resolve", "data": {"quantity": -1, "colour": "red"}})
    assert answer.status_code == 422
    errors = {e["field"]: e["message"] for e in answer.json["errors"]}
    assert set(errors) == {"outcome", "quantity", "colour"}
    assert "Outcome" in errors["outcome"] and "at least 0" in errors["quantity"]
    unchanged = get(client, path, user_headers)
    assert (unchanged["state"], unchanged["version"], len(unchanged["history"])) == ("open", 1, 1)


def test_a_transition_not_allowed_from_the_state_is_a_conflict(
        client, seeded, user_headers) -> None:
    task = one_task(client, user_headers, "sku=SKU-1&warehouse=WH-1")
    path = f"/api/v1/tasks/{task['id']}"
    assert transition(client, path, user_headers, {"transition": "start"}).status_code == 200
    again = transition(client, path, user_headers, {"transition": "start"})
    assert again.status_code == 409 and "only be taken from open" in again.json["message"]
    unknown = transition(client, path, user_headers, {"transition": "strat"})
    assert unknown.status_code == 409 and "did you mean 'start'" in unknown.json["message"]
    missing = transition(client, path, user_headers, {"data": {}})
    assert missing.status_code == 422 and missing.json["errors"][0]["field"] == "transition"
    assert transition(client, "/api/v1/tasks/999", user_headers,
                      {"transition": "start"}).status_code == 404


# -- requisitions ---------------------------------------------------------------------------
def test_requisitions_are_listed_with_filters(client, seeded, user_headers) -> None:
    page = get(client, "/api/v1/requisitions", user_headers)
    assert page["total"] == 3
    assert {(r["sku"], r["warehouse"], r["state"], r["amount"]) for r in page["items"]} == {
        ("SKU-1", "WH-1", "pending_approval", 200), ("SKU-1", "WH-2", "pending_approval", 200),
        ("SKU-2", "WH-1", "approved", 50)}
    counts = {"state=pending_approval": 2, "supplier=SUP-1": 3, "supplier=NONE": 0,
              "rule=low-stock": 3, "role=purchasing-manager": 2, "sku=SKU-2": 1,
              "warehouse=WH-2": 1, "open=true": 3, "mine=true": 0, "limit=1&offset=1": 3}
    for query, expected in counts.items():
        assert get(client, f"/api/v1/requisitions?{query}", user_headers)["total"] == expected
    assert len(get(client, "/api/v1/requisitions?limit=1", user_headers)["items"]) == 1


def test_approval_needs_the_approval_role_and_order_needs_the_erp_ref(
        client, seeded, user_headers, runner, services) -> None:
    carol = token_headers(runner, "carol")
    req = get(client, "/api/v1/requisitions?sku=SKU-1&warehouse=WH-1", carol)["items"][0]
    path = f"/api/v1/requisitions/{req['id']}"
    assert get(client, path, carol)["transitions"] == ["approve", "reject", "cancel"]
    assert on_order_local(client, carol, "SKU-1", "WH-1") == 100

    refused = transition(client, path, user_headers, {"transition": "approve"})
    assert refused.status_code == 403 and "purchasing-manager" in refused.json["message"]
    approved = transition(client, path, carol, {"transition": "approve", "data": {"note": "ok"}})
    assert approved.status_code == 200 and approved.json["state"] == "approved"

    no_ref = transition(client, path, carol, {"transition": "order"})
    assert no_ref.status_code == 422 and no_ref.json["errors"][0]["field"] == "ref"
    ordered = transition(client, path, carol, {"transition": "order", "data": {"ref": "PO-1"}})
    assert ordered.status_code == 200, ordered.json
    assert (ordered.json["state"], ordered.json["ref"]) == ("ordered", "PO-1")
    assert ordered.json["ordered_at"] is not None
    assert [h["transition"] for h in ordered.json["history"]] == ["create", "approve", "order"]
    assert on_order_local(client, carol, "SKU-1", "WH-1") == 100  # not yet in the ERP's count

    late = transition(client, path, carol, {"transition": "approve"})
    assert late.status_code == 409
    received = transition(client, path, user_headers, {"transition": "receive"})
    assert received.json["state"] == "received"
    assert on_order_local(client, carol, "SKU-1", "WH-1") == 0
    with services.uow() as uow:
        levels = [r.on_order_local for r in uow.conn.execute(select(stock_levels))]
    assert sorted(levels) == [0, 0, 100, 100]  # SKU-1@WH-2 and SKU-2 untouched; SKU-3 has none


def test_cancelling_a_requisition_takes_it_off_order(client, seeded, user_headers) -> None:
    req = get(client, "/api/v1/requisitions?sku=SKU-2", user_headers)["items"][0]
    assert on_order_local(client, user_headers, "SKU-2", "WH-1") == 100
    answer = transition(client, f"/api/v1/requisitions/{req['id']}", user_headers,
                        {"transition": "cancel", "data": {"reason": "found stock"}})
    assert answer.status_code == 200 and answer.json["state"] == "cancelled"
    assert on_order_local(client, user_headers, "SKU-2", "WH-1") == 0
    view = get(client, "/api/v1/skus/SKU-2/stock", user_headers)["warehouses"][0]["levels"]
    assert (view["on_order"], view["inventory_position"]) == (0, 0)


# -- stock view -----------------------------------------------------------------------------
def test_stock_view_shows_levels_metrics_groups_and_open_alerts(
        client, seeded, user_headers) -> None:
    view = get(client, "/api/v1/skus/SKU-2/stock", user_headers)
    assert (view["sku"], view["total_available"]) == ("SKU-2", 0)
    (wh,) = view["warehouses"]
    assert wh["warehouse"] == "WH-1" and wh["groups"] == ["cheap"]
    assert wh["levels"] == {"on_hand": 0, "reserved": 0, "available": 0, "on_order": 100,
                            "on_order_erp": 0, "on_order_local": 100,
                            "inventory_position": 100, "total_available": 0}
    assert wh["metrics"]["lead_time_days"] == 5 and wh["metrics"]["avg_daily_demand"] > 0
    assert wh["metrics"]["days_of_cover"] == 0
    assert sorted(a["rule"] for a in wh["alerts"]) == ["low-stock", "out-of-stock"]
    assert wh["alerts"][0]["severity"] == "critical"
    one = get(client, "/api/v1/skus/SKU-1/stock", user_headers)
    assert [w["warehouse"] for w in one["warehouses"]] == ["WH-1", "WH-2"]
    assert one["total_available"] == 13
    quiet = get(client, "/api/v1/skus/SKU-3/stock", user_headers)["warehouses"][0]
    assert quiet["alerts"] == [] and quiet["metrics"]["days_of_cover"] is None
    missing = get(client, "/api/v1/skus/NOPE/stock", user_headers, status=404)
    assert "NOPE" in missing["message"]


def test_work_endpoints_need_a_token_and_are_documented(client) -> None:
    for path in ("/api/v1/alerts", "/api/v1/tasks", "/api/v1/requisitions",
                 "/api/v1/skus/SKU-1/stock"):
        assert client.get(path).status_code == 401
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/alerts", "/api/v1/tasks", "/api/v1/tasks/{task_id}",
                 "/api/v1/tasks/{task_id}/transitions", "/api/v1/requisitions",
                 "/api/v1/requisitions/{req_id}", "/api/v1/requisitions/{req_id}/transitions",
                 "/api/v1/skus/{code}/stock"):
        assert path in spec["paths"], path
    params = {p["name"] for p in spec["paths"]["/api/v1/tasks"]["get"]["parameters"]}
    assert params >= {"state", "sku", "warehouse", "rule", "role", "assignee", "open",
                      "overdue", "limit", "offset"}
    responses = spec["paths"]["/api/v1/tasks/{task_id}/transitions"]["post"]["responses"]
    assert {"200", "403", "409", "422"} <= set(responses)
