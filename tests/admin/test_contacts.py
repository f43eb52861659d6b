"""Contacts (issue #18): each user sets their own, an admin anyone's, on the pages and through
the API; notifications to a role's members then reach them."""

from __future__ import annotations

from typing import Any

import pytest

from engine.services import contacts
from engine.services.deliveries import resolve_recipients
from tests.admin.web_seed import login, post_form, seed_with_client


@pytest.fixture
def seeded(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    return client


def token_of(runner: Any, name: str) -> dict[str, str]:
    token = runner.invoke(args=["tokens", "create", name]).output.strip().splitlines()[-1]
    return {"Authorization": f"Bearer {token}"}


def test_a_user_sets_their_own_contacts_and_bad_ones_are_named(seeded, services) -> None:
    login(seeded, "alice")
    bad = post_form(seeded, "/account", "/account", {"email": "alice-at-example",
                                                     "phone": "call me", "wecom_id": "ZhangSan"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "请输入电子邮件地址" in html and "请输入电话号码" in html
    with services.uow() as uow:
        assert contacts.get_contacts(uow.conn, "alice")["wecom_id"] is None  # nothing half-saved
    good = post_form(seeded, "/account", "/account", {
        "email": "alice@example.com", "phone": "+86 138 0000 0001", "wecom_id": "ZhangSan",
        "dingtalk_id": "", "feishu_id": "ou_123"})
    assert good.status_code == 303
    with services.uow() as uow:
        found = contacts.get_contacts(uow.conn, "alice")
        # a notification to the buyers (alice) now reaches her by e-mail, phone and WeCom id
        assert resolve_recipients(uow.conn, "email", ["alice"]) == (["alice@example.com"], [])
        assert resolve_recipients(uow.conn, "phone", ["alice"]) == (["+86 138 0000 0001"], [])
        assert resolve_recipients(uow.conn, "wecom_id", ["alice", "carol"]) == (["ZhangSan"],
                                                                                ["carol"])
    assert (found["feishu_id"], found["dingtalk_id"]) == ("ou_123", None)
    assert seeded.get("/admin/users").status_code == 403  # only admins see everyone's


def test_an_admin_sets_anyones_contacts_on_the_page_and_through_the_api(
        seeded, runner, services) -> None:
    login(seeded, "root")
    page = seeded.get("/admin/users").get_data(as_text=True)
    assert "alice" in page and "carol" in page
    post_form(seeded, "/admin/users/carol", "/admin/users/carol", {"email": "carol@example.com"})
    admin, alice = token_of(runner, "root"), token_of(runner, "alice")
    assert seeded.get("/api/v1/users/carol/contacts", headers=admin).json["email"] == \
        "carol@example.com"
    answer = seeded.put("/api/v1/users/carol/contacts", headers=admin,
                        json={"phone": "13900000000", "fax": "1"})
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json["errors"]} == {"fax"}
    assert seeded.put("/api/v1/users/carol/contacts", headers=alice,
                      json={"phone": "1"}).status_code == 403
    mine = seeded.put("/api/v1/users/me/contacts", headers=alice,
                      json={"dingtalk_id": "alice01"})
    assert mine.status_code == 200 and mine.json["dingtalk_id"] == "alice01"
    assert seeded.get("/api/v1/users/me/contacts", headers=alice).json["username"] == "alice"
