"""The transfers pages (issue #19): the list and one transfer with its steps, each offered only
to the role that takes it; a forged step is refused and changes nothing; zh and en."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from engine.policy import Identity
from engine.services import transfers as transfer_service
from engine.storage.tables import stock_levels, transfers
from tests.admin.web_seed import login, post_form, seed_with_client


@pytest.fixture
def seeded(client: Any, runner: Any, clock: Any, services: Any) -> int:
    """The page tests' state, plus WH-2 holding 40 of SKU-3, and a transfer of 15 from WH-2 to
    WH-1 requested by hand: shipped by sales (dave), received by the buyer (alice)."""
    seed_with_client(client, runner, clock.now())
    from tests.conftest import _token
    h = {"Authorization": f"Bearer {_token(runner, 'ops', True)}"}
    assert client.put("/api/v1/warehouses", headers=h, json=[
        {"code": "WH-2", "name": "北京仓", "region": "north"}]).status_code == 200
    r = client.post("/api/v1/events", headers=h, json=[
        {"id": "wh2-count", "type": "count", "sku": "SKU-3", "warehouse": "WH-2", "qty": 40,
         "at": clock.now().isoformat()}])
    assert r.json["accepted"] == 1, r.json
    with services.uow() as uow:
        uow.transaction()
        new = transfer_service.request_transfer(uow.conn, {
            "sku": "SKU-3", "from_warehouse": "WH-2", "to_warehouse": "WH-1", "quantity": 15,
            "ship_role": "sales", "receive_role": "buyer"}, Identity("ops", True), clock.now())
        uow.commit()
    return new


def row(client: Any, transfer: int) -> str:
    html = client.get("/transfers").get_data(as_text=True)
    found = re.search(rf'<tr data-transfer="{transfer}">.*?</tr>', html, re.S)
    assert found, f"transfer {transfer} is not listed"
    return found.group(0)


def steps(html: str) -> set[str]:
    return set(re.findall(r"/transitions/(\w+)", html))


def state(services: Any, transfer: int) -> str:
    with services.db.connect() as conn:
        return str(conn.execute(select(transfers.c.state).where(transfers.c.id == transfer))
                   .scalar_one())


def test_each_role_sees_its_own_steps_and_takes_them(client, app, seeded, services) -> None:
    login(client, "dave")
    listed = row(client, seeded)
    assert "SKU-3" in listed and "WH-2" in listed and "WH-1" in listed and ">15<" in listed
    assert "已申请" in listed and steps(listed) == {"ship", "cancel"}
    page = f"/transfers/{seeded}"
    r = post_form(client, page, f"{page}/transitions/ship", {"next": page})
    assert r.status_code == 303 and state(services, seeded) == "shipped"
    with services.db.connect() as conn:
        reserved = conn.execute(select(stock_levels.c.reserved)
                                .where(stock_levels.c.warehouse_id == 2)).scalar_one()
    assert reserved == 15
    client = app.test_client()
    login(client, "alice")
    html = client.get(page).get_data(as_text=True)
    assert steps(html) == {"receive"} and "调拨" in html
    r = post_form(client, page, f"{page}/transitions/receive", {"next": page})
    assert r.status_code == 303 and state(services, seeded) == "received"
    html = client.get(page).get_data(as_text=True)
    assert html.count('<li><strong>') >= 3  # requested, shipped, received


def test_a_forged_step_is_refused_and_changes_nothing(client, seeded, services) -> None:
    login(client, "alice")  # the receiving role may not ship
    page = f"/transfers/{seeded}"
    r = post_form(client, page, f"{page}/transitions/ship", {"next": page})
    assert r.status_code == 403
    assert state(services, seeded) == "requested"


def test_the_pages_speak_english_too(client, seeded) -> None:
    login(client, "dave")
    client.get("/lang/en")
    html = client.get(f"/transfers/{seeded}").get_data(as_text=True)
    assert "Why this transfer" in html and "Requested by hand" in html and "Ship" in html


def test_a_ship_the_source_can_no_longer_cover_is_refused_and_nothing_moves(
        client, runner, seeded, services, clock) -> None:
    from datetime import timedelta

    from tests.conftest import _token
    h = {"Authorization": f"Bearer {_token(runner, 'ops2', True)}"}
    r = client.post("/api/v1/events", headers=h, json=[
        {"id": "wh2-sale", "type": "sale", "sku": "SKU-3", "warehouse": "WH-2", "qty": 30,
         "at": (clock.now() - timedelta(minutes=1)).isoformat()}])
    assert r.json["accepted"] == 1, r.json  # WH-2 has 10 left; the transfer is of 15
    login(client, "dave")
    page = f"/transfers/{seeded}"
    r = post_form(client, page, f"{page}/transitions/ship", {"next": page})
    assert r.status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert "15 of SKU-3 would take WH-2 below zero: it has 10 available" in html
    assert state(services, seeded) == "requested"
    with services.db.connect() as conn:
        reserved = conn.execute(select(stock_levels.c.reserved)
                                .where(stock_levels.c.warehouse_id == 2)).scalar_one()
        history = conn.execute(select(transfers.c.version)
                               .where(transfers.c.id == seeded)).scalar_one()
    assert (reserved, history) == (0, 1)
