"""The rule editor's pages (/admin) through the Flask test client, as a signed-in admin: the
list with fired counts, the rule form (create, problems next to their fields, conflicts),
preview, live count, groups, roles, workflows and the Advanced YAML page."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.admin.web_seed import RULESET, csrf_token, login, seed_with_client

LOW_STOCK_WHEN = {"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]}


@pytest.fixture
def admin(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    login(client, "root")
    return client


def versions(services: Any) -> list[dict[str, Any]]:
    from engine.services import rulesets

    with services.uow() as uow:
        return rulesets.versions(uow.conn)


def document(services: Any) -> dict[str, Any]:
    with services.uow() as uow:
        return dict(services.rulesets.active(uow.conn).compiled.document)


def form_of(page: Any) -> dict[str, str]:
    html = page.get_data(as_text=True)
    revision = re.search(r'name="revision" value="(\d*)"', html)
    return {"csrf_token": csrf_token(page), "revision": revision.group(1) if revision else ""}


def rule_form(page: Any, **changes: str) -> dict[str, str]:
    data = {
        **form_of(page), "name": "可用低于再订货点", "id": "", "enabled": "on",
        "group_mode": "all", "when": json.dumps(LOW_STOCK_WHEN), "severity": "high",
        "owner": "buyer", "cooldown_n": "24", "cooldown_u": "h", "auto_resolve": "on",
        "on_mode": "all",
        "a-0-kind": "create_task", "a-0-title": "补货 {{ sku.code }}",
        "a-0-workflow": "replenishment", "a-0-due_n": "4", "a-0-due_u": "h",
        "a-5-kind": "create_requisition", "a-5-qty": "order_up_to", "a-5-supplier": "code",
        "a-5-supplier_code": "SUP-1", "a-5-appr-2-above": "1000",
        "a-5-appr-2-role": "purchasing-manager",
    }
    data.update(changes)
    return data


def field_block(html: str, key: str) -> str:
    """The HTML of the element marked data-field=KEY (up to the next field)."""
    start = html.index(f'data-field="{key}"')
    following = html.find('data-field="', start + 12)
    return html[start:following if following > 0 else len(html)]


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_each_rule_with_group_severity_owner_and_fired_counts(admin) -> None:
    html = admin.get("/admin").get_data(as_text=True)
    low = html[html.index('data-rule="low-stock"'):html.index('data-rule="out-of-stock"')]
    assert "库存偏低" in low and "可用库存 &lt; 20" in low and "采购员" in low
    assert re.search(r'class="num fired"[^>]*>\s*<strong>2</strong>', low)  # SKU-1 and SKU-2
    assert "2 个未关闭" in low
    out = html[html.index('data-rule="out-of-stock"'):]
    assert re.search(r'class="num fired"[^>]*>\s*<strong>1</strong>', out)
    assert "紧急" in out and "全部 SKU" in out


def test_the_editor_is_for_admins_only(client, runner, clock, services) -> None:
    seed_with_client(client, runner, clock.now())
    login(client, "alice")
    token = csrf_token(client.get("/tasks"))
    for path in ("/admin", "/admin/rules/new", "/admin/rules/low-stock/edit", "/admin/groups",
                 "/admin/roles/buyer/edit", "/admin/workflows", "/admin/advanced",
                 "/admin/groups/count"):
        assert client.get(path).status_code == 403, path
    before = len(versions(services))
    for path in ("/admin/rules/new", "/admin/rules/low-stock/delete", "/admin/rules/preview",
                 "/admin/advanced", "/admin/roles/new"):
        assert client.post(path, data={"csrf_token": token, "name": "x"}).status_code == 403
    assert len(versions(services)) == before
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/admin").status_code == 302  # anonymous: to the login page


# --- the rule form -------------------------------------------------------------------------------


def test_a_rule_built_in_the_form_becomes_a_new_version(admin, services) -> None:
    before = len(versions(services))
    page = admin.get("/admin/rules/new")
    answer = admin.post("/admin/rules/new", data=rule_form(page))
    assert (answer.status_code, answer.headers["Location"]) == (303, "/admin")
    assert len(versions(services)) == before + 1
    rule = document(services)["rules"][-1]
    assert rule == {
        "id": "ke-yong-di-yu-zai-ding-huo-dian", "name": "可用低于再订货点", "when": LOW_STOCK_WHEN, "severity": "high",
        "owner": "buyer", "cooldown": "24h",
        "actions": [
            {"create_task": {"title": "补货 {{ sku.code }}", "workflow": "replenishment",
                             "due": "4h"}},
            {"create_requisition": {"quantity": "order_up_to", "supplier": "SUP-1",
                                    "approval": [{"above": 1000,
                                                  "role": "purchasing-manager"}]}},
        ],
    }
    listing = admin.get("/admin").get_data(as_text=True)
    assert "规则“可用低于再订货点”已保存" in listing and "可用库存 &lt; 再订货点" in listing
    edit = admin.get("/admin/rules/ke-yong-di-yu-zai-ding-huo-dian/edit").get_data(as_text=True)
    cooldown = field_block(edit, "cooldown")
    assert 'value="1"' in cooldown and '<option value="d" selected>' in cooldown  # 24h = 1 day
    assert '<option value="SUP-1" selected>' in edit
    assert "可用库存 &lt; 再订货点" in edit  # the sentence, also before the builder draws


def test_editing_keeps_the_rules_place_and_a_new_group_is_defined_inline(admin,
                                                                          services) -> None:
    page = admin.get("/admin/rules/low-stock/edit")
    data = rule_form(page, name="库存偏低", id="low-stock", group_mode="new", ng_name="两款",
                     g_skus="SKU-1\nSKU-2")
    answer = admin.post("/admin/rules/low-stock/edit", data=data)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    doc = document(services)
    assert [r["id"] for r in doc["rules"]] == ["low-stock", "out-of-stock"]
    assert doc["rules"][0]["group"] == "liang-kuan"
    assert doc["sku_groups"][-1] == {"id": "liang-kuan", "name": "两款",
                                     "where": {"in": [{"var": "sku.code"}, ["SKU-1", "SKU-2"]]}}


def test_a_form_save_changes_only_the_edited_lines_and_keeps_the_comments(admin,
                                                                         services) -> None:
    """Before: the first save from the forms rewrote the whole YAML (332 changed lines)."""
    from engine.services import rulesets

    page = admin.get("/admin/rules/low-stock/edit")
    answer = admin.post("/admin/rules/low-stock/edit", data=rule_form(
        page, name="库存偏低", id="low-stock", severity="critical"))
    assert answer.status_code == 303, answer.get_data(as_text=True)
    with services.uow() as uow:
        numbers = [v["number"] for v in rulesets.versions(uow.conn)]
        before, _ = rulesets.version_text(uow.conn, min(numbers))
        after, _ = rulesets.version_text(uow.conn, max(numbers))
    assert after.startswith("# The page tests' rule document")
    kept = [ln for ln in before.splitlines() if ln.strip().startswith("#")]
    assert kept and all(ln in after.splitlines() for ln in kept)
    low_stock = after[after.index("  - id: low-stock"):after.index("  - id: out-of-stock")]
    untouched = before.replace(before[before.index("  - id: low-stock"):
                                      before.index("  - id: out-of-stock")], "")
    assert untouched == after.replace(low_stock, "")
    assert "severity: critical" in low_stock


def test_a_misspelt_fact_keeps_the_suggestion_in_chinese_and_english(admin) -> None:
    page = admin.get("/admin/rules/new")
    data = rule_form(page, when=json.dumps({"<": [{"var": "stock.avalable"}, 5]}))
    html = admin.post("/admin/rules/new", data=data).get_data(as_text=True)
    assert "“stock.avalable”不是已知的指标。 是不是“可用库存（stock.available）”？" in html
    admin.set_cookie("lang", "en")
    html = admin.post("/admin/rules/new", data=rule_form(admin.get("/admin/rules/new"), when=json.dumps(
        {"<": [{"var": "stock.avalable"}, 5]}))).get_data(as_text=True)
    assert "Did you mean “available (stock.available)”?" in html


def test_a_bad_cooldown_is_shown_next_to_the_cooldown_field_and_nothing_changes(
        admin, services) -> None:
    before = len(versions(services))
    page = admin.get("/admin/rules/new")
    answer = admin.post("/admin/rules/new", data=rule_form(page, cooldown_n="400",
                                                           cooldown_u="d"))
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    block = field_block(html, "cooldown")
    assert "has-error" in html[html.rindex("<div", 0, html.index('data-field="cooldown"')):]
    assert '<p class="field-error" id="error-cooldown"' in block and "最长 365 天。" in block
    assert 'value="400"' in block  # the input keeps what was typed
    assert "未保存。请修正标出的字段。" in html
    assert len(versions(services)) == before


@pytest.mark.parametrize(("changes", "key", "message"), [
    ({"a-0-due_n": "0"}, "actions.0.due", "必须大于零。"),
    ({"a-0-workflow": ""}, "actions.0", "请选择任务使用的流程。"),
    ({"a-0-title": ""}, "actions.0.title", "此项为必填项。"),
    ({"a-5-appr-2-above": "-5"}, "actions.1.approval", "请输入不小于 0 的数字。"),
    ({"a-5-appr-2-role": "boss"}, "actions.1.approval", "没有角色“boss”。"),
    ({"name": ""}, "name", "请填写规则名称。"),
    ({"id": "Bad Id"}, "id", "只能使用小写字母"),
    ({"id": "out-of-stock"}, "id", "“out-of-stock”已被使用，请换一个。"),
    ({"when": ""}, "when", "请至少添加一个条件。"),
    ({"when": json.dumps({"<": [{"var": "metrics.days_of_cover"}, 3]})}, "when",
     "“可售天数”可能没有值"),
    ({"owner": "", "a-0-role": ""}, "actions.0", "谁来处理这个任务？"),
    ({"group_mode": "pick"}, "group", "请至少选择一个分组"),
    ({"on_mode": "some"}, "on", "请至少选择或填写 1 项。"),
])
def test_each_problem_is_shown_next_to_its_field(admin, services, changes, key,
                                                 message) -> None:
    before = len(versions(services))
    page = admin.get("/admin/rules/new")
    answer = admin.post("/admin/rules/new", data=rule_form(page, **changes))
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert message in field_block(html, key), field_block(html, key)
    assert len(versions(services)) == before


def test_the_rule_form_keeps_what_was_typed_when_refused(admin) -> None:
    page = admin.get("/admin/rules/new")
    answer = admin.post("/admin/rules/new", data=rule_form(
        page, name="", description="说明文字", severity="critical", group_mode="new",
        ng_name="新组", g_skus="SKU-3"))
    html = answer.get_data(as_text=True)
    assert 'value="说明文字"' in html and '<option value="critical" selected>' in html
    assert 'value="new" checked' in html and ">SKU-3</textarea>" in html
    assert 'id="action-0"' in html and 'id="action-1"' in html and 'id="action-2"' not in html
    assert 'name="a-1-appr-0-above" value="1000"' in html  # renumbered, kept


def test_a_stale_revision_is_a_conflict_and_overwrites_nothing(admin, services,
                                                              runner) -> None:
    page = admin.get("/admin/rules/low-stock/edit")
    token = runner.invoke(args=["tokens", "create", "root"]).output.strip().splitlines()[-1]
    admin_headers = {"Authorization": f"Bearer {token}"}
    # Someone else saves meanwhile (through the API).
    changed = RULESET.replace("severity: critical", "severity: high")
    assert admin.put("/api/v1/ruleset", data=changed, content_type="application/yaml",
                     headers=admin_headers).status_code == 200
    before = len(versions(services))
    answer = admin.post("/admin/rules/low-stock/edit",
                        data=rule_form(page, name="库存偏低", id="low-stock", severity="low"))
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert "有其他人修改了规则，因此没有保存" in html and 'value="low"' in html
    assert len(versions(services)) == before
    assert document(services)["rules"][0]["severity"] == "high"


def test_deleting_a_rule(admin, services) -> None:
    page = admin.get("/admin")
    answer = admin.post("/admin/rules/out-of-stock/delete", data=form_of(page))
    assert answer.status_code == 303
    assert [r["id"] for r in document(services)["rules"]] == ["low-stock"]
    assert "规则“缺货”已删除" in admin.get("/admin").get_data(as_text=True)
    assert admin.post("/admin/rules/out-of-stock/delete",
                      data=form_of(admin.get("/admin"))).status_code == 404
    assert admin.post("/admin/rules/low-stock/delete").status_code == 400  # no CSRF token


def test_an_unknown_rule_is_404(admin) -> None:
    assert admin.get("/admin/rules/nope/edit").status_code == 404


# --- preview and live count ----------------------------------------------------------------------


def test_the_preview_lists_what_would_alert_now_with_the_numbers(admin, services) -> None:
    before = len(versions(services))
    page = admin.get("/admin/rules/new")
    answer = admin.post("/admin/rules/preview", data=rule_form(page, name=""))
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert '<tr data-pair="SKU-1@WH-1" class="row-hit">' in html
    assert '<tr data-pair="SKU-2@WH-1" class="row-hit">' in html
    assert "SKU-3@WH-1" not in html.split('id="preview-hits"')[1]
    assert "<th class=\"num\">可用库存</th><th class=\"num\">再订货点</th>" in html
    assert re.search(r'data-pair="SKU-1@WH-1".*?<td class="num">13</td>', html, re.S)
    assert "2 个 SKU×仓库现在会报警" in html
    assert len(versions(services)) == before  # nothing saved


def test_a_preview_of_an_invalid_rule_says_why(admin) -> None:
    page = admin.get("/admin/rules/new")
    html = admin.post("/admin/rules/preview", data=rule_form(page, when="")).get_data(
        as_text=True)
    assert 'id="preview-problems"' in html and "请至少添加一个条件。" in html


def test_the_live_count_of_a_group_being_defined(admin) -> None:
    assert admin.get("/admin/groups/count").json == {
        "count": 3, "total": 3, "sample": ["SKU-1", "SKU-2", "SKU-3"], "text": "全部 SKU：3 个。"}
    answer = admin.get("/admin/groups/count?g_skus=SKU-1,SKU-3,NOPE").json
    assert (answer["count"], answer["sample"]) == (2, ["SKU-1", "SKU-3"])
    assert answer["text"] == "3 个 SKU 中有 2 个符合。"
    assert admin.get("/admin/groups/count?g_region=east").json["count"] == 3
    assert admin.get("/admin/groups/count?g_region=west").json["count"] == 0


# --- groups, roles, workflows ---------------------------------------------------------------------


def test_a_group_is_created_with_ticks_and_its_settings(admin, services) -> None:
    page = admin.get("/admin/groups/new")
    assert 'name="g_warehouse" value="WH-1"' in page.get_data(as_text=True)
    data = {**form_of(page), "name": "上海仓商品", "id": "", "mode": "form",
            "g_warehouse": "WH-1", "p_service_level": "0.98"}
    assert admin.post("/admin/groups/new", data=data).status_code == 303
    group = document(services)["sku_groups"][-1]
    assert group == {"id": "shang-hai-cang-shang-pin", "name": "上海仓商品",
                     "where": {"==": [{"var": "warehouse.code"}, "WH-1"]},
                     "params": {"service_level": 0.98}}
    html = admin.get("/admin/groups").get_data(as_text=True)
    assert "仓库编码 = “WH-1”" in html


def test_editing_a_group_opens_with_its_name_and_code_and_keeps_them(admin, services) -> None:
    """Before: the form opened with both blank, and saving it as it was renamed the group."""
    page = admin.get("/admin/groups/new")
    data = {**form_of(page), "name": "饮料", "id": "", "mode": "form", "g_warehouse": "WH-1"}
    assert admin.post("/admin/groups/new", data=data).status_code == 303
    assert document(services)["sku_groups"][-1]["id"] == "yin-liao"  # pinyin, not "group-2"
    html = admin.get("/admin/groups/yin-liao/edit").get_data(as_text=True)
    assert re.search(r'name="id"[^>]*value="yin-liao"', html), html
    assert re.search(r'name="name"[^>]*value="饮料"', html)
    fields = dict(re.findall(r'<input[^>]*name="(id|name)"[^>]*value="([^"]*)"', html))
    data = {**form_of(admin.get("/admin/groups/yin-liao/edit")), **fields, "mode": "form",
            "g_warehouse": "WH-1"}
    assert admin.post("/admin/groups/yin-liao/edit", data=data).status_code == 303
    assert [g["id"] for g in document(services)["sku_groups"]] == ["cheap", "yin-liao"]
    again = {**form_of(admin.get("/admin/groups/new")), "name": "饮料", "id": "", "mode": "form",
             "g_warehouse": "WH-1"}
    assert admin.post("/admin/groups/new", data=again).status_code == 303
    assert document(services)["sku_groups"][-1]["id"] == "yin-liao-2"  # unique


def test_a_hand_written_group_filter_is_shown_as_a_sentence_and_kept(admin, services) -> None:
    html = admin.get("/admin/groups/cheap/edit").get_data(as_text=True)
    assert "单位成本（无值时按 0） &lt; 1" in html and 'value="keep" checked' in html
    data = {**form_of(admin.get("/admin/groups/cheap/edit")), "name": "很便宜", "id": "cheap",
            "mode": "keep", "p_service_level": "2"}
    refused = admin.post("/admin/groups/cheap/edit", data=data)
    assert "请输入 0.5 到 0.9999 之间的数字。" in field_block(refused.get_data(as_text=True),
                                                          "params.service_level")
    data["p_service_level"] = ""
    assert admin.post("/admin/groups/cheap/edit", data=data).status_code == 303
    group = document(services)["sku_groups"][0]
    assert group == {"id": "cheap", "name": "很便宜",
                     "where": {"<": [{"var": ["sku.unit_cost", 0]}, 1]}}


def test_a_group_in_use_cannot_be_deleted(admin, services) -> None:
    page = admin.get("/admin/rules/low-stock/edit")
    admin.post("/admin/rules/low-stock/edit", data=rule_form(
        page, name="库存偏低", id="low-stock", group_mode="pick", groups="cheap"))
    answer = admin.post("/admin/groups/cheap/delete", data=form_of(admin.get("/admin/groups")))
    assert answer.status_code == 303
    assert "正被以下规则使用" in admin.get("/admin/groups").get_data(as_text=True)
    assert document(services)["sku_groups"][0]["id"] == "cheap"


def test_a_delete_from_a_stale_page_is_refused_then_done_from_a_fresh_one(admin, services,
                                                                           runner) -> None:
    stale = form_of(admin.get("/admin/groups"))
    token = runner.invoke(args=["tokens", "create", "root"]).output.strip().splitlines()[-1]
    changed = RULESET.replace("severity: critical", "severity: high")  # someone else's save
    assert admin.put("/api/v1/ruleset", data=changed, content_type="application/yaml",
                     headers={"Authorization": f"Bearer {token}"}).status_code == 200
    before = len(versions(services))
    assert admin.post("/admin/groups/cheap/delete", data=stale).status_code == 303
    assert "有其他人修改了规则，因此没有保存" in admin.get("/admin/groups").get_data(as_text=True)
    assert len(versions(services)) == before
    assert [g["id"] for g in document(services)["sku_groups"]] == ["cheap"]
    fresh = form_of(admin.get("/admin/groups"))
    assert admin.post("/admin/groups/cheap/delete", data=fresh).status_code == 303
    html = admin.get("/admin/groups").get_data(as_text=True)
    assert f"SKU 分组“便宜货”已删除：第 {before + 1} 版已启用。" in html
    assert not document(services).get("sku_groups")


def test_roles_are_edited_with_members_channels_and_escalation(admin, services) -> None:
    page = admin.get("/admin/roles/buyer/edit")
    html = page.get_data(as_text=True)
    assert 'name="members" value="alice" checked' in html
    data = {**form_of(page), "name": "采购", "id": "purchaser", "members": ["alice", "dave"],
            "channels": ["email", "wecom"], "escalate_to": "purchasing-manager"}
    assert admin.post("/admin/roles/buyer/edit", data=data).status_code == 303
    doc = document(services)
    assert doc["roles"][0] == {"id": "purchaser", "name": "采购", "members": ["alice", "dave"],
                               "channels": ["email", "wecom"],
                               "escalate_to": "purchasing-manager"}
    assert {r["owner"] for r in doc["rules"]} == {"purchaser"}  # the rename followed
    cycle = {**form_of(admin.get("/admin/roles/purchasing-manager/edit")), "name": "经理",
             "id": "purchasing-manager", "members": ["carol"], "escalate_to": "purchaser"}
    html = admin.post("/admin/roles/purchasing-manager/edit", data=cycle).get_data(as_text=True)
    assert "升级关系形成了循环" in html


def test_a_workflow_gets_a_transition_with_a_form(admin, services) -> None:
    page = admin.get("/admin/workflows/replenishment/edit")
    html = page.get_data(as_text=True)
    assert 'name="t-1-f-0-name" value="outcome"' in html
    data = {**form_of(page), "name": "补货", "id": "replenishment",
            "states": "open, in_progress, done, cancelled", "initial": "open",
            "t-0-id": "start", "t-0-label": "开始", "t-0-from": "open", "t-0-to": "in_progress",
            "t-0-roles": "buyer",
            "t-1-id": "resolve", "t-1-label": "完成", "t-1-from": ["open", "in_progress"],
            "t-1-to": "done", "t-1-roles": "buyer",
            "t-1-f-0-name": "outcome", "t-1-f-0-label": "处理结果", "t-1-f-0-type": "select",
            "t-1-f-0-required": "on", "t-1-f-0-options": "补货, 调拨，误报",
            "t-1-f-3-name": "qty", "t-1-f-3-label": "数量", "t-1-f-3-type": "integer",
            "t-1-f-3-min": "0", "t-1-f-3-max": "500", "t-1-f-3-options": "ignored",
            "t-7-id": "cancel", "t-7-from": ["open", "in_progress"], "t-7-to": "cancelled",
            "t-7-roles": "purchasing-manager"}
    answer = admin.post("/admin/workflows/replenishment/edit", data=data)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    workflow = document(services)["workflows"][0]
    assert workflow["transitions"][1] == {
        "id": "resolve", "label": "完成", "from": ["open", "in_progress"], "to": "done",
        "roles": ["buyer"], "form": [
            {"name": "outcome", "label": "处理结果", "type": "select", "required": True,
             "options": ["补货", "调拨", "误报"]},
            {"name": "qty", "label": "数量", "type": "integer", "min": 0, "max": 500}]}
    assert [t["id"] for t in workflow["transitions"]] == ["start", "resolve", "cancel"]


def test_workflow_problems_are_shown_at_their_step_and_field(admin, services) -> None:
    page = admin.get("/admin/workflows/new")
    data = {**form_of(page), "name": "复核", "states": "open, closed", "initial": "open",
            "t-0-id": "close", "t-0-from": "open", "t-0-to": "shut",
            "t-0-f-0-name": "n", "t-0-f-0-type": "number", "t-0-f-0-min": "5",
            "t-0-f-0-max": "1"}
    html = admin.post("/admin/workflows/new", data=data).get_data(as_text=True)
    assert "这个流程中没有状态“shut”。" in html
    row_errors = html[html.index('class="row-errors"'):]
    assert "最大值小于最小值。" in row_errors[:400]
    data.update({"t-0-to": "closed", "t-0-f-0-type": "select", "t-0-f-0-options": ""})
    html = admin.post("/admin/workflows/new", data=data).get_data(as_text=True)
    assert "下拉选择需要填写选项" in html


# --- Advanced -----------------------------------------------------------------------------------


def test_advanced_shows_the_yaml_and_its_errors_at_their_lines(admin, services) -> None:
    page = admin.get("/admin/advanced")
    html = page.get_data(as_text=True)
    assert "ruleset: web-test" in html and "# The page tests&#39; rule document" in html
    before = len(versions(services))
    bad = RULESET.replace("severity: critical", "severity: urgent")
    line = bad.splitlines().index("    severity: urgent") + 1
    answer = admin.post("/admin/advanced", data={**form_of(page), "text": bad})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert f'data-goto-line="{line}"' in html and f"第 {line} 行" in html
    assert ("rules[1].severity" in html and "“urgent”" in html) or "urgent" in html
    assert f'<span class="bad-line" data-line="{line}">' in html
    assert "severity: urgent</textarea>" in html or "severity: urgent\n" in html
    assert len(versions(services)) == before
    good = RULESET.replace("severity: critical", "severity: low")
    answer = admin.post("/admin/advanced", data={**form_of(page), "text": good,
                                                 "comment": "降级"})
    assert answer.status_code == 303
    assert versions(services)[0]["comment"] == "降级"


def test_the_pages_speak_english_too(admin) -> None:
    admin.set_cookie("lang", "en")
    page = admin.get("/admin/rules/new")
    assert "When to alert" in page.get_data(as_text=True)
    html = admin.post("/admin/rules/new", data=rule_form(page, cooldown_n="0", cooldown_u="h",
                                                         **{"a-0-due_n": "0"})).get_data(
        as_text=True)
    assert "Must be longer than zero." in field_block(html, "actions.0.due")
    html = admin.post("/admin/rules/new", data=rule_form(
        admin.get("/admin/rules/new"), severity="urgent")).get_data(as_text=True)
    assert "&#39;urgent&#39; is not one of the choices: info, low, medium, high, critical." in \
        field_block(html, "severity")


def test_the_first_rule_of_an_empty_installation(client, runner, services) -> None:
    assert runner.invoke(args=["users", "create", "root", "--admin", "--password",
                               "root-password-1"]).exit_code == 0
    login(client, "root")
    html = client.get("/admin").get_data(as_text=True)
    assert "还没有规则。" in html
    page = client.get("/admin/rules/new")
    data = {**form_of(page), "name": "Out", "group_mode": "all", "severity": "high",
            "when": json.dumps({"<=": [{"var": "stock.available"}, 0]}), "on_mode": "all",
            "enabled": "on", "auto_resolve": "on"}
    assert client.post("/admin/rules/new", data=data).status_code == 303
    assert document(services) == {"ruleset": "default", "rules": [
        {"id": "out", "name": "Out", "when": {"<=": [{"var": "stock.available"}, 0]},
         "severity": "high"}]}
    assert client.get("/admin/advanced").status_code == 200
    assert client.get("/admin/groups/count").json["count"] == 0


def test_a_task_title_is_shown_as_it_reads_for_a_real_sku(admin) -> None:
    answer = admin.get("/admin/rules/title-example?text=" + "补货 {{ sku.code }} @ {{ warehouse.code }}："
                       "可用 {{ stock.available }}").json
    assert answer["text"].startswith("补货 SKU-1 @ WH-1：可用 ")
    assert answer["said"] == "在 SKU-1 @ WH-1 上显示为：" + answer["text"]
    bad = admin.get("/admin/rules/title-example?text={{ ''.__class__ }}").json
    assert bad["text"] is None and bad["said"].startswith("这个标题无法填写：")


def test_a_fallback_supplier_is_set_in_the_form_kept_on_edit_and_refused_when_the_same(
        admin, services) -> None:
    """Issue #19: ``fallback`` and ``fallback_after_late_days`` of a requisition, in the form."""
    page = admin.get("/admin/rules/new")
    answer = admin.post("/admin/rules/new", data=rule_form(
        page, **{"a-5-fallback": "backup", "a-5-fallback_days": "5"}))
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    action = document(services)["rules"][-1]["actions"][1]["create_requisition"]
    assert (action["fallback"], action["fallback_after_late_days"]) == ("backup", 5)
    edit = admin.get("/admin/rules/ke-yong-di-yu-zai-ding-huo-dian/edit").get_data(as_text=True)
    block = field_block(edit, "actions.1.fallback")
    assert '<option value="backup" selected>' in block and 'value="5"' in block
    rules = len(document(services)["rules"])
    same = admin.post("/admin/rules/new", data=rule_form(
        admin.get("/admin/rules/new"), name="另一条", **{"a-5-supplier": "backup",
                                                          "a-5-fallback": "backup"}))
    assert same.status_code == 200  # the form again, with the problem at its field
    assert "备选供应商必须不同于所选供应商。" in field_block(same.get_data(as_text=True),
                                                 "actions.1.fallback")
    assert len(document(services)["rules"]) == rules  # nothing saved
