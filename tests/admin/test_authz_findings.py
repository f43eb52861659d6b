"""Findings 1 and 2 of issue #13, each as the attack that worked on main, through the REST API
and the pages: requisition steps without role checks (and a race the sales user won), and an
API that was not scoped (tasks of others, private reads, stock set by anyone, no ingest-only
token). Each test here failed on main."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select, update

from engine.storage.tables import api_tokens, requisitions, stock_events
from tests.admin.web_seed import login, post_form, requisition_id, seed_with_client, task_id


@pytest.fixture
def seeded(client: Any, runner: Any, clock: Any) -> Any:
    """alice buys, carol approves above 100, dave sells, root administers; pat has no role.
    SKU-1's requisition (200) waits for carol; SKU-2's (50) needs no approval."""
    seed_with_client(client, runner, clock.now())
    assert runner.invoke(args=["users", "create", "pat", "--password", "pat-password-1"]
                         ).exit_code == 0
    return client


def bearer(runner: Any, name: str, scope: str | None = None) -> dict[str, str]:
    args = ["tokens", "create", name] + (["--scope", scope] if scope else [])
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return {"Authorization": f"Bearer {result.output.strip().splitlines()[-1]}"}


def take(client: Any, req: int, headers: dict[str, str], transition: str,
         **data: str) -> Any:
    return client.post(f"/api/v1/requisitions/{req}/transitions", headers=headers,
                       json={"transition": transition, "data": data})


def state_of(services: Any, req: int) -> str:
    with services.db.connect() as conn:
        return str(conn.execute(select(requisitions.c.state)
                                .where(requisitions.c.id == req)).scalar_one())


# -- finding 1: requisition transitions without role checks -----------------------------------
def test_a_user_without_a_business_role_can_neither_order_nor_receive(
        seeded, runner, services) -> None:
    req = requisition_id(services, "SKU-2")  # approved: no approval needed
    pat, alice = bearer(runner, "pat"), bearer(runner, "alice")
    refused = take(seeded, req, pat, "order", ref="PO-1")
    assert refused.status_code == 403 and "buyer" in refused.json["message"]
    assert state_of(services, req) == "approved"
    assert seeded.get(f"/api/v1/requisitions/{req}", headers=pat).json["transitions"] == []
    assert take(seeded, req, alice, "order", ref="PO-1").status_code == 200
    assert take(seeded, req, pat, "receive").status_code == 403
    assert state_of(services, req) == "ordered"
    assert take(seeded, req, alice, "receive").json["state"] == "received"


def test_a_sales_user_cannot_cancel_what_waits_for_approval_by_api_or_page(
        seeded, runner, services) -> None:
    req = requisition_id(services, "SKU-1")  # pending_approval, for carol
    dave = bearer(runner, "dave")
    refused = take(seeded, req, dave, "cancel", reason="no")
    assert refused.status_code == 403 and "purchasing-manager" in refused.json["message"]
    login(seeded, "dave")
    page = post_form(seeded, "/requisitions", f"/requisitions/{req}/transitions/cancel",
                     {"reason": "no"})
    assert page.status_code == 403
    assert f'data-requisition="{req}"' in seeded.get("/requisitions").get_data(as_text=True)
    assert f"/requisitions/{req}/transitions/" not in seeded.get(
        f"/requisitions/{req}").get_data(as_text=True)
    assert state_of(services, req) == "pending_approval"


def test_the_approver_wins_every_race_against_a_user_without_the_role(
        app, seeded, runner, services) -> None:
    """On main, dave's cancel won three races out of three: it either cancelled the pending
    requisition first, or cancelled it once approved."""
    req = requisition_id(services, "SKU-1")
    dave, carol = bearer(runner, "dave"), bearer(runner, "carol")
    for _ in range(3):
        with services.db.begin() as conn:  # the same pending requisition, each round
            conn.execute(update(requisitions).where(requisitions.c.id == req)
                         .values(state="pending_approval", version=requisitions.c.version + 1))
        start = threading.Barrier(2)
        answers: dict[str, int] = {}

        def act(who: str, headers: dict[str, str], transition: str) -> None:
            client = app.test_client()
            start.wait()
            answers[who] = take(client, req, headers, transition).status_code

        threads = [threading.Thread(target=act, args=("dave", dave, "cancel")),
                   threading.Thread(target=act, args=("carol", carol, "approve"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers == {"dave": 403, "carol": 200}
        assert state_of(services, req) == "approved"


# -- finding 2: an API that was not scoped ----------------------------------------------------
def test_a_task_outside_the_callers_scope_answers_404_as_on_the_page(
        seeded, runner, services) -> None:
    task = task_id(services, "补货 SKU-1 @ WH-1")  # the buyer's
    path = f"/api/v1/tasks/{task}"
    for name in ("dave", "pat"):
        headers = bearer(runner, name)
        assert seeded.get(path, headers=headers).status_code == 404
        assert seeded.get("/api/v1/tasks", headers=headers).json == {"total": 0, "items": []}
        assert seeded.get("/api/v1/tasks?role=buyer", headers=headers).json["total"] == 0
    for name in ("alice", "carol", "root"):  # the buyer, the manager who may cancel, an admin
        headers = bearer(runner, name)
        assert seeded.get(path, headers=headers).status_code == 200
        listed = seeded.get("/api/v1/tasks?limit=100", headers=headers).json["items"]
        assert task in [t["id"] for t in listed]
    login(seeded, "dave")
    assert seeded.get(f"/tasks/{task}").status_code == 404  # the page's answer, the same


@pytest.mark.parametrize("path", ["/api/v1/events/rejected", "/api/v1/notifications",
                                  "/api/v1/suppliers"])
def test_raw_payloads_recipients_and_supplier_contacts_are_for_admins(
        seeded, runner, path) -> None:
    for name in ("alice", "dave", "pat"):
        answer = seeded.get(path, headers=bearer(runner, name))
        assert answer.status_code == 403 and "admin" in answer.json["message"]
    assert seeded.get(path, headers=bearer(runner, "pat", "read")).status_code == 403
    assert seeded.get(path, headers=bearer(runner, "root")).status_code == 200
    assert seeded.get(path, headers=bearer(runner, "root", "read")).status_code == 200


def stock_event(key: str, kind: str, qty: float) -> dict[str, Any]:
    return {"id": key, "type": kind, "sku": "SKU-3", "warehouse": "WH-1", "qty": qty,
            "at": "2026-11-20T07:00:00Z"}


def on_hand(client: Any, headers: dict[str, str]) -> float:
    view = client.get("/api/v1/skus/SKU-3/stock", headers=headers).json
    return float(view["warehouses"][0]["levels"]["on_hand"])


def test_only_admins_and_ingest_tokens_set_stock(seeded, runner, services) -> None:
    root, dave = bearer(runner, "root"), bearer(runner, "dave")
    assert on_hand(seeded, root) == 50
    for batch in ([stock_event("z", "count", 0)], [stock_event("a", "adjustment", -50)],
                  [stock_event("r", "receipt", 1), stock_event("z", "count", 0)]):
        refused = seeded.post("/api/v1/events", json=batch, headers=dave)
        assert refused.status_code == 403, refused.json
        assert "ingest token" in refused.json["message"]
    with services.db.connect() as conn:  # nothing of a refused batch was recorded
        assert not conn.execute(select(stock_events.c.event_id)
                                .where(stock_events.c.event_id.in_(("z", "a", "r")))).first()
    assert on_hand(seeded, root) == 50
    moved = seeded.post("/api/v1/events", json=stock_event("r", "receipt", 1), headers=dave)
    assert moved.json["accepted"] == 1  # movements stay open to every user, as before
    assert runner.invoke(args=["users", "create", "erp", "--no-password"]).exit_code == 0
    erp = bearer(runner, "erp", "ingest")
    counted = seeded.post("/api/v1/events", json=[stock_event("c", "count", 40)], headers=erp)
    assert counted.json["accepted"] == 1
    adjusted = seeded.post("/api/v1/events", json=stock_event("a", "adjustment", 2),
                           headers=root)
    assert adjusted.json["accepted"] == 1
    assert on_hand(seeded, root) == 42


def test_an_ingest_token_only_ingests_and_a_read_token_only_reads(
        seeded, runner, services) -> None:
    assert runner.invoke(args=["users", "create", "erp", "--no-password", "--admin"]
                         ).exit_code == 0
    ingest = bearer(runner, "erp", "ingest")  # even an admin's: ingestion, nothing else
    req = requisition_id(services, "SKU-2")
    for method, path in (("GET", "/api/v1/tasks"), ("GET", "/api/v1/ruleset"),
                         ("GET", "/api/v1/requisitions"), ("PUT", "/api/v1/skus")):
        answer = seeded.open(path, method=method, headers=ingest, json=[])
        assert answer.status_code == 403 and "ingest token" in answer.json["message"]
    assert take(seeded, req, ingest, "cancel").status_code == 403
    assert seeded.post("/api/v1/events", json=stock_event("i", "receipt", 1),
                       headers=ingest).json["accepted"] == 1

    read = bearer(runner, "alice", "read")  # the buyer's reads, none of her acts
    assert seeded.get("/api/v1/requisitions", headers=read).json["total"] == 2
    assert take(seeded, req, read, "cancel").status_code == 403
    assert seeded.post("/api/v1/events", json=[], headers=read).status_code == 403
    assert state_of(services, req) == "approved"


def test_tokens_are_created_with_a_scope_and_the_default_is_full(runner, services) -> None:
    assert runner.invoke(args=["users", "create", "erp", "--no-password"]).exit_code == 0
    for scope in (None, "full", "read", "ingest"):
        bearer(runner, "erp", scope)
    bad = runner.invoke(args=["tokens", "create", "erp", "--scope", "all"])
    assert bad.exit_code == 2 and "'all' is not one of 'full', 'read', 'ingest'" in bad.output
    with services.db.connect() as conn:
        scopes = list(conn.execute(select(api_tokens.c.scope).order_by(api_tokens.c.id))
                      .scalars())
    assert scopes == ["full", "full", "read", "ingest"]


def test_a_token_with_a_scope_this_version_does_not_know_opens_nothing(
        seeded, runner, services) -> None:
    headers = bearer(runner, "root")
    with services.db.begin() as conn:
        conn.execute(update(api_tokens).values(scope="everything"))
    assert seeded.get("/api/v1/ruleset", headers=headers).status_code == 401
