"""The audit trail page (/admin/audit, #17): who changed what and when, for admins only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.web_seed import login, seed_with_client


@pytest.fixture
def seeded(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    return client


def test_admins_read_who_changed_what_newest_first_and_filter_it(seeded) -> None:
    login(seeded, "root")
    html = seeded.get("/admin/audit").get_data(as_text=True)
    rows = html[html.index('<table class="list" id="audit">'):]
    assert 'data-action="ruleset.put"' in rows and 'data-action="skus.put"' in rows
    assert "保存了规则集版本" in rows and "root" in rows
    assert rows.index('data-action="ruleset.put"') < rows.index('data-action="skus.put"')
    only_rules = seeded.get("/admin/audit?area=ruleset").get_data(as_text=True)
    assert 'data-action="ruleset.put"' in only_rules and 'data-action="skus.put"' not in only_rules
    nobody = seeded.get("/admin/audit?actor=nobody").get_data(as_text=True)
    assert "还没有任何记录" in nobody


def test_others_may_not_read_it(seeded) -> None:
    login(seeded, "alice")
    assert seeded.get("/admin/audit").status_code == 403


def _trail(client: Any, **query: str) -> str:
    html = client.get("/admin/audit", query_string=query).get_data(as_text=True)
    return html[html.index('id="audit-filters"'):]


def test_users_and_tokens_changes_are_in_the_trail_with_who_and_when(seeded, runner) -> None:
    for args in (["users", "create", "erin", "--password", "erin-password-1"],
                 ["users", "password", "erin", "--password", "erin-password-2"],
                 ["users", "admin", "erin"], ["users", "admin", "erin", "--revoke"],
                 ["users", "disable", "erin"], ["users", "enable", "erin"]):
        assert runner.invoke(args=args).exit_code == 0, args
    made = runner.invoke(args=["tokens", "create", "erin", "--label", "erp"])
    token = made.output.strip().splitlines()[-1]
    assert runner.invoke(args=["tokens", "revoke", token[:10]]).exit_code == 0
    login(seeded, "root")
    users = _trail(seeded, area="user")
    for action in ("user.create", "user.password", "user.admin", "user.disable", "user.enable"):
        assert f'data-action="{action}"' in users, action
    assert "token.create" not in users and "erin-password" not in users
    assert "设置了新密码" in users and "停用了用户" in users and ">cli<" in users
    tokens = _trail(seeded, area="token")
    assert 'data-action="token.create"' in tokens and 'data-action="token.revoke"' in tokens
    assert f"{token[:10]}… (erin)" in tokens and token not in tokens  # the prefix, never the token
    assert 'data-action="user.create"' not in tokens
    # the seeded users were created on the command line too; the areas are offered as filters
    assert '<option value="source"' in users and '<option value="token"' in users


def test_business_role_changes_are_a_users_role_change(seeded, client, runner) -> None:
    from tests.admin.web_seed import RULESET

    token = runner.invoke(args=["tokens", "create", "root"]).output.strip().splitlines()[-1]
    admin_headers = {"Authorization": f"Bearer {token}"}
    changed = RULESET.replace("members: [carol]", "members: [carol, dave]")
    answer = client.put("/api/v1/ruleset", data=changed, content_type="application/yaml",
                        headers=admin_headers)
    assert answer.status_code == 200
    login(seeded, "root")
    users = _trail(seeded, area="user")
    row = users[users.index('data-action="user.roles"'):]
    row = row[:row.index("</tr>")]
    assert "dave" in row and "purchasing-manager" in row and "root" in row


def test_import_source_changes_never_record_the_secret(seeded, services) -> None:
    imports = services.imports
    config = {"url": "http://127.0.0.1:9", "db": "prod", "login": "bot", "api_key": "s3cret-one"}
    imports.add_source("odoo-main", "odoo", config, actor="root")
    imports.add_source("odoo-main", "odoo", {**config, "db": "prod2"}, replace=True, actor="root")
    imports.add_source("odoo-main", "odoo", {**config, "db": "prod2", "api_key": "s3cret-two"},
                       replace=True, actor="carol")
    from engine.imports import source_config

    source_config.delete(imports, "odoo-main", actor="root")
    login(seeded, "root")
    sources = _trail(seeded, area="source")
    for action in ("source.create", "source.change", "source.secret", "source.delete"):
        assert f'data-action="{action}"' in sources, action
    assert "s3cret" not in sources and "fernet:" not in sources  # neither plain nor sealed
    secret_row = sources[sources.index('data-action="source.secret"'):]
    secret_row = secret_row[:secret_row.index("</tr>")]
    assert "carol" in secret_row and "api_key" in secret_row
    change_row = sources[sources.index('data-action="source.change"'):]
    assert "db" in change_row[:change_row.index("</tr>")]
    assert "carol" in _trail(seeded, area="source", actor="carol")
    assert 'data-action="source.create"' not in _trail(seeded, area="source", actor="carol")


def test_snoozes_and_mutes_are_in_the_trail_and_every_target_reads_in_chinese(
        seeded, services, clock) -> None:
    from datetime import timedelta

    from engine.services import queries
    from tests.admin.web_seed import csrf_token, task_id
    tid = task_id(services, "补货 SKU-1 @ WH-1")
    with services.uow() as uow:
        aid = int(queries.load_task(uow.conn, tid)["alert"])
    login(seeded, "alice")
    token = csrf_token(seeded.get(f"/tasks/{tid}"))
    local = clock.now().astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    until = (local + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    seeded.post(f"/alerts/{aid}/snooze", data={"csrf_token": token, "until": until,
                                               "reason": "等卡车", "next": f"/tasks/{tid}"})
    seeded.post(f"/alerts/{aid}/unsnooze", data={"csrf_token": token})
    seeded.post("/logout", data={"csrf_token": token})
    login(seeded, "root")
    token = csrf_token(seeded.get("/noise"))
    seeded.post("/admin/mutes", data={"csrf_token": token, "rule": "low-stock",
                                      "warehouse": "WH-1", "reason": "盘点周"})
    rows = _trail(seeded, area="noise")
    assert 'data-action="noise.snooze"' in rows and 'data-action="noise.unsnooze"' in rows
    assert 'data-action="noise.mute"' in rows and "屏蔽了规则" in rows and "盘点周" in rows
    assert f"暂停了预警</td><td>预警 #{aid}</td>" in rows and "原因: 等卡车" in rows
    assert "仓库: WH-1" in rows
    everything = _trail(seeded)
    assert "第 1 版" in everything and " rows<" not in everything and "version " not in everything
