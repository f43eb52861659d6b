"""In Chromium (#17, "an admin saves a new rule and sees its alerts appear"): a rule built in
the form is previewed, saved, and raises at once the alerts its preview showed — the rule list
shows the run's progress and outcome, its page lists the alerts, each links to its alert page.
Removing the rule again resolves them with that reason, shown on the alert page.

The live server is shared with the other browser tests: the rule's tasks go to the sales role
(no other test reads its inbox) and the seeded ruleset is put back afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.admin import web_seed
from tests.admin.browser.browser_support import shot, sign_in, unexpected_errors


@pytest.fixture
def restore_ruleset(live_server: Any) -> Iterator[None]:
    yield
    status, answer = live_server.api("PUT", "/api/v1/ruleset", web_seed.RULESET,
                                     "application/yaml")
    assert status == 200, answer


def test_an_admin_saves_a_new_rule_and_sees_its_alerts_appear(new_page, live_server,
                                                              restore_ruleset) -> None:
    page = new_page()
    sign_in(page, "root")
    page.goto("/admin/rules/new")
    page.fill("#name", "盘点复核")
    row = page.locator("#condition-builder .cb-row").first
    row.locator("select.cb-fact").select_option("stock.available")
    row.locator("select.cb-op").select_option("<")
    row.locator("input.cb-value").fill("100000")  # every SKU × warehouse with stock
    page.select_option("#owner", "sales")
    page.click("#add-create_task")
    page.select_option("select[name='a-0-workflow']", "replenishment")
    page.click("#preview-button")
    summary = page.locator("#preview-summary")
    expect(summary).to_contain_text("个 SKU×仓库现在会报警")
    previewed = page.locator("#preview-hits tbody tr[data-pair]").count()
    assert previewed >= 3  # SKU-1, SKU-2 and SKU-3 at WH-1 at least

    page.click("#save-rule")
    expect(page).to_have_url(re.compile(r"/admin$"))
    panel = page.locator("#rule-run")
    expect(panel).to_have_attribute("data-state", "done", timeout=30_000)  # polled every second
    expect(page.locator("#rule-run-opened")).to_have_text(f"{previewed} 条预警已产生")
    shot(page, "rule-run-done-1280", full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "rule-run-done-390", full_page=False)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.click("#rule-run-link")
    expect(page.locator("h1")).to_contain_text("对照当前库存检查")
    alerts = page.locator("#run-alerts tbody tr")
    expect(alerts).to_have_count(previewed)
    expect(page.locator("#run-alerts")).to_contain_text("SKU-3")
    shot(page, "rule-run-page")
    first = alerts.first.locator("a")
    alert_url = first.get_attribute("href")
    first.click()
    expect(page.locator("#alert-facts")).to_contain_text("待处理")
    expect(page.locator("#alert-tasks a")).to_have_count(1)  # its task, for the sales role

    # the rule removed: its alerts resolve, saying why
    page.goto("/admin")
    row = page.locator("#rule-list tr", has_text="盘点复核")
    page.once("dialog", lambda d: d.accept())
    row.locator("button.btn-danger").click()
    expect(page.locator("#rule-run")).to_have_attribute("data-state", "done", timeout=30_000)
    page.goto(alert_url)
    expect(page.locator("#alert-resolution")).to_have_text("规则已不在当前生效的版本中")
    shot(page, "rule-run-alert-resolved", full_page=False)
    assert unexpected_errors(page) == []
