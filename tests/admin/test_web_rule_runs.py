"""Rules act at once, seen on the pages (#17): a rule saved in the editor raises its alerts over
the current stock, the rule list shows the run and the run's page lists the alerts; a deleted
rule's alerts are resolved with that reason on the alert page (both languages); an activation
from a page loaded before another admin's save is refused with 409 and loses nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from engine.storage.tables import alerts, tasks
from tests.admin.test_web_rules import form_of, rule_form, versions
from tests.admin.web_seed import RULESET, login, seed_with_client


@pytest.fixture
def admin(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    login(client, "root")
    return client


UNDER_60 = {"<": [{"var": "stock.available"}, 60]}


def _new_rule(admin: Any) -> Any:
    page = admin.get("/admin/rules/new")
    return admin.post("/admin/rules/new", data=rule_form(
        page, name="六十以下", id="under-60", when=json.dumps(UNDER_60), **{
            "a-0-title": "检查 {{ sku.code }}", "a-5-kind": ""}))


def test_a_rule_saved_in_the_editor_raises_its_alerts_at_once(admin, services) -> None:
    answer = _new_rule(admin)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    with services.uow() as uow:
        raised = uow.conn.execute(select(alerts.c.id, alerts.c.sku_id).where(
            alerts.c.rule == "under-60", alerts.c.state == "open")).all()
        titles = set(uow.conn.execute(select(tasks.c.title).where(
            tasks.c.alert_id.in_([a.id for a in raised]))).scalars())
    assert len(raised) == 3  # SKU-1 (13), SKU-2 (0), SKU-3 (50): no stock event needed
    assert titles == {"检查 SKU-1", "检查 SKU-2", "检查 SKU-3"}
    listing = admin.get("/admin").get_data(as_text=True)
    panel = listing[listing.index('id="rule-run"'):]
    assert 'data-state="done"' in listing and "3 条预警已产生" in panel, panel[:1500]
    run_url = re.search(r'href="(/admin/rule-runs/\d+)" id="rule-run-link"', panel).group(1)
    page = admin.get(run_url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for alert in raised:
        assert f'href="/alerts/{alert.id}"' in html
    assert "SKU-3" in html and "六十以下" in html  # the rule by its name
    # the progress fragment the page polls while a run is under way
    assert admin.get(f"{run_url}/progress").status_code == 200
    # the version's page says what its activation raised too
    version = max(v["number"] for v in versions(services))
    shown = admin.get(f"/admin/versions/{version}").get_data(as_text=True)
    assert 'id="rule-run"' in shown and "3 条预警已产生" in shown


def test_a_deleted_rule_resolves_its_alerts_with_that_reason(admin, services) -> None:
    assert _new_rule(admin).status_code == 303
    with services.uow() as uow:
        first = uow.conn.execute(select(alerts.c.id).where(alerts.c.rule == "under-60")
                                 .order_by(alerts.c.id)).scalars().first()
    page = admin.get("/admin")
    answer = admin.post("/admin/rules/under-60/delete", data=form_of(page))
    assert answer.status_code == 303
    with services.uow() as uow:
        states = set(uow.conn.execute(select(alerts.c.state, alerts.c.resolution)
                                      .where(alerts.c.rule == "under-60")))
    assert states == {("resolved", "rule_removed")}
    html = admin.get(f"/alerts/{first}").get_data(as_text=True)
    assert 'data-resolution="rule_removed"' in html and "规则已不在当前生效的版本中" in html
    admin.get("/lang/en")
    html = admin.get(f"/alerts/{first}").get_data(as_text=True)
    assert "its rule is no longer in the active version" in html


def test_a_tighter_condition_resolves_what_no_longer_holds(admin, services) -> None:
    assert _new_rule(admin).status_code == 303
    page = admin.get("/admin/rules/under-60/edit")
    answer = admin.post("/admin/rules/under-60/edit", data=rule_form(
        page, name="六十以下", id="under-60", when=json.dumps({"<": [{"var": "stock.available"}, 20]}),
        **{"a-0-title": "检查 {{ sku.code }}", "a-5-kind": ""}))
    assert answer.status_code == 303
    with services.uow() as uow:
        rows = dict(uow.conn.execute(select(alerts.c.sku_id, alerts.c.resolution)
                                     .where(alerts.c.rule == "under-60")).all())
    assert rows == {1: None, 2: None, 3: "rule_changed"}  # SKU-3 has 50: no longer under 20


def test_activating_from_a_page_loaded_before_another_save_is_a_409(admin, client, services,
                                                                     runner) -> None:
    token = runner.invoke(args=["tokens", "create", "root"]).output.strip().splitlines()[-1]
    admin_headers = {"Authorization": f"Bearer {token}"}
    assert client.put("/api/v1/ruleset", data=RULESET.replace("20]", "30]"),
                      content_type="application/yaml", headers=admin_headers).status_code == 200
    page = admin.get("/admin/versions")  # version 2 active; version 1 may be activated
    assert page.status_code == 200
    form = form_of(page)
    # another admin saves a new version meanwhile (through the API here)
    answer = client.put("/api/v1/ruleset", data=RULESET.replace("20]", "25]"),
                        content_type="application/yaml", headers=admin_headers)
    assert answer.status_code == 200
    theirs = answer.json["version"]
    refused = admin.post("/admin/versions/1/activate", data=form)
    assert refused.status_code == 409
    assert 'id="activate-conflict"' in refused.get_data(as_text=True)
    active = [v["number"] for v in versions(services) if v["active"]]
    assert active == [theirs]  # their save is what runs; nothing lost, nothing half-done
    # with a fresh page it goes through
    assert admin.post("/admin/versions/1/activate", data=form_of(admin.get("/admin/versions"))
                      ).status_code == 303
    assert [v["number"] for v in versions(services) if v["active"]] == [1]


def test_a_save_from_the_editor_loaded_before_an_activation_is_a_409(admin, services) -> None:
    page = admin.get("/admin/rules/new")
    # another admin activates version 1 again meanwhile: a new revision
    answer = admin.post("/admin/versions/1/activate", data=form_of(admin.get("/admin/versions")))
    assert answer.status_code == 303
    before = versions(services)
    answer = admin.post("/admin/rules/new", data=rule_form(
        page, name="六十以下", id="under-60", when=json.dumps(UNDER_60)))
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert "六十以下" in html  # the form comes back with what was typed: nothing lost
    assert versions(services) == before


def test_a_group_names_an_owner_role_in_its_form_and_its_rules_show_it(admin, services) -> None:
    from tests.admin.test_web_rules import document, field_block

    page = admin.get("/admin/groups/new")
    html = page.get_data(as_text=True)
    assert 'id="owner"' in html and '<option value="sales">销售</option>' in html
    data = {**form_of(page), "name": "销售品", "id": "", "mode": "form", "owner": "sales"}
    assert admin.post("/admin/groups/new", data=data).status_code == 303
    assert document(services)["sku_groups"][-1]["owner"] == "sales"
    assert "负责角色: 销售" in admin.get("/admin/groups").get_data(as_text=True)
    edit = admin.get("/admin/groups/xiao-shou-pin/edit").get_data(as_text=True)
    assert '<option value="sales" selected>' in edit
    # a role that does not exist (a hand-made post) is refused next to the field
    bad = {**form_of(admin.get("/admin/groups/xiao-shou-pin/edit")), "name": "销售品",
           "id": "xiao-shou-pin", "mode": "form", "owner": "saless"}
    refused = admin.post("/admin/groups/xiao-shou-pin/edit", data=bad)
    assert refused.status_code == 200
    assert "sales" in field_block(refused.get_data(as_text=True), "owner")
    # a rule of the group with no owner of its own shows the group's
    page = admin.get("/admin/rules/new")
    answer = admin.post("/admin/rules/new", data=rule_form(
        page, name="销售品缺货", id="sold-out", when=json.dumps(UNDER_60), owner="",
        group_mode="pick", groups="xiao-shou-pin", **{"a-5-kind": ""}))
    assert answer.status_code == 303, answer.get_data(as_text=True)[:3000]
    listing = admin.get("/admin").get_data(as_text=True)
    row = listing[listing.index('data-rule="sold-out"'):]
    assert "销售 <span" in row[:row.index("</tr>")] and "（来自分组）" in row[:row.index("</tr>")]
