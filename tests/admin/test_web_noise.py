"""Noise control on the pages (issue #17): snooze and unsnooze from the alert and task pages
(a time in the past refused, nothing changed), the inbox's default view without snoozed work,
mutes listed, added and removed, the role editor's rate limit and quiet hours, the rule
editor's daily digest — with CSRF, in Chinese."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.storage.tables import alert_snoozes, rule_mutes
from tests.admin.test_web_rules import document, form_of
from tests.admin.web_seed import csrf_token, login, seed_with_client, task_id

TITLE = "补货 SKU-1 @ WH-1"


@pytest.fixture
def world(client: Any, runner: Any, clock: Any, services: Any) -> dict[str, Any]:
    seed_with_client(client, runner, clock.now())
    tid = task_id(services, TITLE)
    with services.uow() as uow:
        from engine.services import queries
        aid = int(queries.load_task(uow.conn, tid)["alert"])
    return {"task": tid, "alert": aid}


def snoozes(services: Any) -> list[Any]:
    with services.db.connect() as conn:
        return conn.execute(select(alert_snoozes)).all()


def test_the_buyer_snoozes_from_the_task_page_and_the_inbox_leaves_it_out(client, world, services, clock):
    login(client, "alice")
    page = client.get(f"/tasks/{world['task']}")
    html = page.get_data(as_text=True)
    assert 'id="snooze-form"' in html and "暂停提醒" in html
    token = csrf_token(page)
    # local time in the settings' zone (Asia/Shanghai): an hour ago is refused, nothing stored
    local = clock.now().astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    past = (local - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    answer = client.post(f"/alerts/{world['alert']}/snooze", follow_redirects=True,
                         data={"csrf_token": token, "until": past, "reason": "等卡车",
                               "next": f"/tasks/{world['task']}"})
    assert "未暂停：截止时间已过去，请选择更晚的时间。" in answer.get_data(as_text=True)
    assert snoozes(services) == []
    # without the CSRF token: refused
    assert client.post(f"/alerts/{world['alert']}/snooze",
                       data={"until_stock_change": "1", "reason": "x"}).status_code == 400
    assert snoozes(services) == []
    future = (local + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    answer = client.post(f"/alerts/{world['alert']}/snooze", follow_redirects=True,
                         data={"csrf_token": token, "until": future, "reason": "等卡车",
                               "next": f"/tasks/{world['task']}"})
    html = answer.get_data(as_text=True)
    assert f"预警 #{world['alert']} 已暂停。" in html and 'id="task-snoozed"' in html
    assert 'id="unsnooze"' in html and "等卡车" in html
    [row] = snoozes(services)
    assert (row.created_by, row.until.astimezone(local.tzinfo).strftime("%Y-%m-%dT%H:%M")) == (
        "alice", future)
    inbox = client.get("/tasks").get_data(as_text=True)
    assert TITLE not in inbox
    assert TITLE in client.get("/tasks?show=snoozed").get_data(as_text=True)
    listed = client.get("/noise").get_data(as_text=True)
    assert 'id="snooze-list"' in listed and "等卡车" in listed
    assert 'id="mute-form"' not in listed  # muting is for admins
    back = client.post(f"/alerts/{world['alert']}/unsnooze", follow_redirects=True,
                       data={"csrf_token": token})
    assert f"预警 #{world['alert']} 已恢复：暂停已结束。" in back.get_data(as_text=True)
    assert TITLE in client.get("/tasks").get_data(as_text=True)
    assert snoozes(services)[0].end_reason == "unsnoozed"


def test_someone_who_cannot_see_the_task_cannot_snooze_its_alert(client, world, services):
    login(client, "dave")  # sales: not the buyer's task
    token = csrf_token(client.get("/tasks"))
    answer = client.post(f"/alerts/{world['alert']}/snooze",
                         data={"csrf_token": token, "until_stock_change": "1", "reason": "x"})
    assert answer.status_code == 404 and snoozes(services) == []


def test_an_admin_mutes_and_unmutes_a_rule_on_the_page(client, world, services):
    login(client, "root")
    page = client.get("/noise")
    token = csrf_token(page)
    bad = client.post("/admin/mutes", follow_redirects=True,
                      data={"csrf_token": token, "rule": "low-stock", "reason": "清仓"})
    assert "未屏蔽：屏蔽需要指定 SKU、仓库或两者。" in bad.get_data(as_text=True)
    bad = client.post("/admin/mutes", follow_redirects=True, data={
        "csrf_token": token, "rule": "low-stock", "sku": "SKU-404", "reason": "清仓"})
    assert "没有这个 SKU。" in bad.get_data(as_text=True)
    with services.db.connect() as conn:
        assert conn.execute(select(rule_mutes)).all() == []
    done = client.post("/admin/mutes", follow_redirects=True, data={
        "csrf_token": token, "rule": "low-stock", "warehouse": "WH-1", "reason": "盘点周"})
    html = done.get_data(as_text=True)
    assert "规则“low-stock”已屏蔽。" in html and 'id="mute-list"' in html and "盘点周" in html
    with services.db.connect() as conn:
        mute_id = conn.execute(select(rule_mutes.c.id)).scalar_one()
    gone = client.post(f"/admin/mutes/{mute_id}/delete", follow_redirects=True,
                       data={"csrf_token": token})
    assert "已移除屏蔽" in gone.get_data(as_text=True)
    assert "没有被屏蔽的规则。" in gone.get_data(as_text=True)


def test_the_role_editor_sets_rate_limit_and_quiet_hours(client, world, services):
    login(client, "root")
    page = client.get("/admin/roles/buyer/edit")
    assert "免打扰时段" in page.get_data(as_text=True)
    data = {**form_of(page), "name": "采购员", "id": "buyer", "members": ["alice"],
            "channels": ["email"], "rate_limit": "10", "quiet_hours": "22-8"}
    html = client.post("/admin/roles/buyer/edit", data=data).get_data(as_text=True)
    assert 'class="field has-error" data-field="quiet_hours"' in html  # located at its field
    assert "免打扰时段请写成一天中的时间段，如“22:00-08:00”。" in html  # in Chinese, with the format
    assert "quiet_hours" not in document(services)["roles"][0]
    data.update(quiet_hours="22:00-08:00", rate_limit="email=3, wecom=20")
    assert client.post("/admin/roles/buyer/edit", data=data).status_code == 303
    role = document(services)["roles"][0]
    assert (role["rate_limit"], role["quiet_hours"]) == ({"email": 3, "wecom": 20}, "22:00-08:00")
    again = client.get("/admin/roles/buyer/edit").get_data(as_text=True)
    assert 'value="email=3, wecom=20"' in again and 'value="22:00-08:00"' in again


def test_the_cli_warns_of_a_digest_on_a_channel_nobody_configured(runner, tmp_path):
    from tests.engine.rules.test_noise_schema import doc

    path = tmp_path / "digest.yaml"
    path.write_text(doc(), encoding="utf-8")
    result = runner.invoke(args=["ruleset", "validate", str(path)])
    assert result.exit_code == 0, result.output
    assert (f"{path}: warning: rules[0].actions[0].notify.digest: the daily digest goes by "
            "email, wecom, which nobody configured here") in result.output
    path.write_text(doc(digest="digest: hourly"), encoding="utf-8")
    result = runner.invoke(args=["ruleset", "validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:11: rules[0].actions[0].notify.digest: 'digest' must be one of daily" \
        in result.output


def test_the_editor_s_warnings_read_in_chinese(app):
    from admin.web.editor import friendly
    from engine.rules.advice import advice
    from engine.rules.loader import load_ruleset
    from tests.engine.rules.test_noise_schema import doc

    compiled = load_ruleset(doc())
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        [warning] = advice(compiled, frozenset())
        assert friendly(warning) == ("每日摘要通过 email, wecom 发送，但本系统没有配置这些渠道"
                                     "（已配置：无），摘要将永远无法送达。")
        from engine.rules.advice import _service
        [level] = _service(("settings",), {"service_level": 0.995})
        assert friendly(level).startswith("周期服务水平 0.995 是一个补货周期内不缺货的概率")
