"""In Chromium: an admin builds a rule with the forms alone, previews it and saves it; a bad
value is reported next to its field; the group, role, workflow and Advanced pages work.

The session's live server is shared with the other browser tests: the ruleset is put back to
the seeded one afterwards, so that the versions test still compares its change with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.admin import web_seed
from tests.admin.browser.browser_support import shot, sign_in, unexpected_errors


def full_shot(page: Any, name: str) -> None:
    """A full-page screenshot, then two frames: the page is resized for the shot and back, and
    a click right after could land where an element was before the layout settled."""
    # The save bar sticks to the bottom of the window: in a full-page picture it would float
    # mid-page, so it is drawn in its place for the shot.
    page.evaluate("() => { window.scrollTo(0, 0); document.querySelectorAll('.sticky-actions')"
                  ".forEach(e => { e.style.position = 'static'; }); }")
    shot(page, name)
    page.evaluate("() => document.querySelectorAll('.sticky-actions')"
                  ".forEach(e => { e.style.position = ''; })")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


@pytest.fixture
def restore_ruleset(live_server: Any) -> Iterator[None]:
    yield
    status, answer = live_server.api("PUT", "/api/v1/ruleset", web_seed.RULESET,
                                     "application/yaml")
    assert status == 200, answer


def test_an_admin_builds_previews_and_saves_a_rule(new_page, live_server,
                                                   restore_ruleset) -> None:
    # Stock through the REST API: SKU-1 is counted at 10, far below its reorder point.
    now = datetime.now(UTC).isoformat()
    status, answer = live_server.api("POST", "/api/v1/events", [
        {"id": "editor-count-1", "type": "count", "sku": "SKU-1", "warehouse": "WH-1",
         "qty": 10, "at": now}])
    assert status == 200, answer

    page = new_page()
    sign_in(page, "root")
    page.click("nav.mainnav >> text=规则")
    expect(page.locator("h1")).to_have_text("规则")
    fired = live_server.api("GET", "/api/v1/alerts?rule=low-stock")[1]["total"]
    assert fired >= 2  # SKU-1 and SKU-2 at least, whatever the earlier tests did
    expect(page.locator("tr[data-rule='low-stock'] td.fired strong")).to_have_text(str(fired))
    full_shot(page, "rule-list")

    page.click("#new-rule")
    expect(page.locator("h1")).to_have_text("新建规则")
    page.fill("#name", "可用库存低于再订货点")

    # The SKUs: a new group of two SKU codes; the live count follows the typing.
    page.click("#card-group >> text=定义新分组")
    count = page.locator("#new-group [data-count-output]")
    expect(count).to_contain_text("3")  # nothing ticked yet: every SKU
    page.fill("#g_skus", "SKU-1, SKU-2")
    expect(count).to_have_attribute("data-count", "2")
    expect(count).to_contain_text("3 个 SKU 中有 2 个")

    # The condition: 可用库存 < 再订货点, built with the selects alone.
    row = page.locator("#condition-builder .cb-row").first
    row.locator("select.cb-fact").select_option("stock.available")
    row.locator("select.cb-op").select_option("<")
    row.locator("select.cb-kind").select_option("fact")
    row.locator("select.cb-rfact").select_option("metrics.reorder_point")
    expect(page.locator("#when-sentence")).to_have_text("可用库存 < 再订货点")

    page.select_option("#severity", "high")
    page.select_option("#owner", "buyer")
    page.fill("#cooldown_n", "12")
    page.select_option("select[name=cooldown_u]", "h")

    page.click("#add-create_task")
    page.select_option("select[name='a-0-workflow']", "replenishment")
    page.fill("#a-0-due_n", "4")
    page.click("#add-create_requisition")
    page.select_option("select[name='a-1-qty']", "fixed")
    page.fill("input[name='a-1-fixed']", "60")
    page.click("#action-1 .add-approval, #action-1 [data-add-from^='tpl-appr']")
    page.fill("input[name='a-1-appr-0-above']", "500")
    page.select_option("select[name='a-1-appr-0-role']", "purchasing-manager")
    page.click("#preview-button")
    hits = page.locator("#preview-hits")
    expect(hits.locator("tr[data-pair='SKU-1@WH-1']")).to_be_visible()
    expect(hits.locator("tr[data-pair='SKU-1@WH-1'] td.num").first).to_have_text("10")
    expect(hits.locator("thead")).to_contain_text("再订货点")
    expect(page.locator("#preview-summary")).to_contain_text("个 SKU×仓库现在会报警")
    shot(page, "rule-preview", full_page=False)  # the page brings the answer into view
    full_shot(page, "rule-form")

    page.click("#save-rule")
    expect(page).to_have_url(re.compile(r"/admin$"))
    expect(page.locator(".flash-success")).to_contain_text("可用库存低于再订货点")
    new_row = page.locator("#rule-list tr", has_text="可用库存低于再订货点")
    expect(new_row).to_contain_text("可用库存 < 再订货点")
    expect(new_row).to_contain_text("采购员")
    full_shot(page, "rule-list-saved")

    document = live_server.api("GET", "/api/v1/ruleset")[1]["document"]
    rule = next(r for r in document["rules"] if r["name"] == "可用库存低于再订货点")
    assert rule["when"] == {"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]}
    assert rule["cooldown"] == "12h" and rule["owner"] == "buyer"
    assert rule["actions"][0]["create_task"]["workflow"] == "replenishment"
    assert rule["actions"][1]["create_requisition"]["quantity"] == {"fixed": 60}
    group = next(g for g in document["sku_groups"] if g["id"] == rule["group"])
    assert group["where"] == {"in": [{"var": "sku.code"}, ["SKU-1", "SKU-2"]]}

    # A bad value: the message appears next to the field it is about, and nothing is saved.
    versions = len(live_server.api("GET", "/api/v1/ruleset/versions")[1])
    new_row.locator("a.rule-name").click()
    expect(page.locator("#when-sentence")).to_have_text("可用库存 < 再订货点")
    page.fill("#cooldown_n", "400")
    page.select_option("select[name=cooldown_u]", "d")
    page.fill("#a-0-due_n", "0")
    page.click("#save-rule")
    expect(page.locator("[data-field=cooldown] .field-error")).to_have_text("最长 365 天。")
    expect(page.locator("[data-field='actions.0.due'] .field-error")).to_have_text("必须大于零。")
    expect(page.locator("#form-errors-note")).to_be_visible()
    expect(page.locator("#cooldown_n")).to_have_value("400")  # what was typed is kept
    shot(page, "rule-error", full_page=False)  # the page scrolls to the first problem
    assert len(live_server.api("GET", "/api/v1/ruleset/versions")[1]) == versions
    assert unexpected_errors(page) == []


FORMULA_RULE = """\
  - id: formula
    name: 公式条件
    when: {"<": [{"+": [{"var": "stock.available"}, {"var": "stock.on_order"}]}, 10]}
    severity: low
  - id: three-days
    name: 不够卖三天
    when: {"<": [{"var": "stock.available"}, {"*": [{"var": "metrics.avg_daily_demand"}, 3]}]}
"""


def test_nested_conditions_in_english_and_a_condition_the_builder_cannot_show(
        new_page, live_server, restore_ruleset) -> None:
    status, answer = live_server.api("PUT", "/api/v1/ruleset", web_seed.RULESET + FORMULA_RULE,
                                     "application/yaml")
    assert status == 200, answer
    page = new_page(locale="en-US")
    sign_in(page, "root")
    page.goto("/lang/en?next=/admin/rules/low-stock/edit")
    expect(page.locator("#when-sentence")).to_have_text("available < 20")
    page.click("#condition-builder .cb-add-group")
    nested = page.locator("#condition-builder .cb-nested")
    expect(nested).to_have_attribute("data-op", "or")
    first = nested.locator(".cb-row").first
    first.locator("select.cb-fact").select_option("metrics.days_of_cover")
    expect(first.locator("input.cb-default")).to_have_value("9999")  # says what empty means
    first.locator("select.cb-op").select_option("<")
    first.locator("input.cb-value").fill("3")
    nested.locator(".cb-add-row").click()
    second = nested.locator(".cb-row").nth(1)
    second.locator("select.cb-fact").select_option("sku.tags")
    second.locator("input.cb-value").fill("seasonal")
    expect(page.locator("#when-sentence")).to_have_text(
        "available < 20 and (days of cover (9999 when empty) < 3 or tags contains 'seasonal')")
    shot(page, "rule-builder-nested-en", full_page=False)
    page.click("#save-rule")
    expect(page.locator(".flash-success")).to_be_visible()
    rule = live_server.api("GET", "/api/v1/ruleset")[1]["document"]["rules"][0]
    assert rule["when"] == {"and": [
        {"<": [{"var": "stock.available"}, 20]},
        {"or": [{"<": [{"var": ["metrics.days_of_cover", 9999]}, 3]},
                {"in": ["seasonal", {"var": "sku.tags"}]}]}]}

    # A formula is shown as a sentence, kept as it is, and can be replaced.
    page.goto("/admin/rules/formula/edit")
    expect(page.locator("#when-readonly")).to_be_visible()
    expect(page.locator("#condition-builder")).to_be_hidden()
    expect(page.locator("#when-sentence")).to_have_text("available + on order < 10")
    shot(page, "rule-readonly-condition-en", full_page=False)
    page.click("#save-rule")
    expect(page.locator(".flash-success")).to_be_visible()
    rule = live_server.api("GET", "/api/v1/ruleset")[1]["document"]["rules"][2]
    assert rule["when"] == {"<": [{"+": [{"var": "stock.available"}, {"var": "stock.on_order"}]},
                                  10]}

    # "another figure × a number" is one row of the builder.
    page.goto("/admin/rules/three-days/edit")
    row = page.locator("#condition-builder .cb-row").first
    expect(row.locator("select.cb-rfact")).to_have_value("metrics.avg_daily_demand")
    expect(row.locator("input.cb-factor")).to_have_value("3")
    row.locator("input.cb-factor").fill("5")
    expect(page.locator("#when-sentence")).to_have_text("available < average daily demand × 5")
    page.goto("/admin/rules/formula/edit")
    page.click("#when-rewrite")
    expect(page.locator("#condition-builder .cb-row")).to_have_count(1)
    page.click("#save-rule")  # an empty condition is not sent
    expect(page.locator(".cb-warning")).to_be_visible()
    assert unexpected_errors(page) == []


def test_groups_roles_workflows_and_advanced(new_page, live_server, restore_ruleset) -> None:
    page = new_page()
    sign_in(page, "root")
    page.goto("/admin/groups")
    expect(page.locator("tr[data-group='cheap']")).to_contain_text("单位成本")
    full_shot(page, "groups")
    page.click("#new-group")
    page.fill("#name", "上海仓商品")
    count = page.locator("[data-count-output]")
    expect(count).to_have_text("全部 SKU：3 个。")
    page.click("label:has(input[name=g_warehouse][value='WH-1'])")
    page.fill("#g_skus", "SKU-2")
    expect(count).to_have_text("3 个 SKU 中有 1 个符合。")
    page.fill("#p_service_level", "0.98")
    full_shot(page, "group-form")
    page.click("#save-group")
    expect(page.locator("tr[data-group='shang-hai-cang-shang-pin']")).to_contain_text("仓库编码 = “WH-1” 且 SKU编码 = “SKU-2”")

    page.goto("/admin/roles/buyer/edit")
    expect(page.locator("input[name=members][value=alice]")).to_be_checked()
    page.check("input[name=members][value=dave]")
    page.check("input[name=channels][value=email]")
    page.select_option("#escalate_to", "purchasing-manager")
    full_shot(page, "role-form")
    page.click("#save-role")
    expect(page.locator("tr[data-role='buyer']")).to_contain_text("dave")

    page.goto("/admin/workflows/replenishment/edit")
    block = page.locator("#transition-1")
    block.locator(".add-field").click()
    new_field = block.locator("tbody tr[data-repeat-item]").last
    new_field.locator("input[name$='-name']").fill("reason")
    new_field.locator("input[name$='-label']").fill("原因")
    new_field.locator("select[name$='-type']").select_option("select")
    new_field.locator("input[name$='-options']").fill("缺货, 损坏")
    expect(new_field.locator("input[name$='-min']")).to_be_hidden()
    full_shot(page, "workflow-form")
    page.click("#save-workflow")
    expect(page.locator(".flash-success")).to_be_visible()
    document = live_server.api("GET", "/api/v1/ruleset")[1]["document"]
    resolve = document["workflows"][0]["transitions"][1]
    assert resolve["form"][-1] == {"name": "reason", "label": "原因", "type": "select",
                                   "options": ["缺货", "损坏"]}

    page.goto("/admin/advanced")
    text = page.locator("#yaml-text").input_value()
    page.fill("#yaml-text", text.replace("severity: critical", "severity: urgent"))
    page.click("#save-yaml")
    problem = page.locator("#yaml-problems li").first
    expect(problem).to_contain_text("行")
    expect(page.locator("#marked-source .bad-line")).to_have_count(1)
    expect(page.locator("#marked-source .bad-line")).to_contain_text("severity: urgent")
    full_shot(page, "advanced-error")
    assert unexpected_errors(page) == []
