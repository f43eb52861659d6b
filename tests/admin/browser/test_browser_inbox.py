"""In Chromium: a stock event posted to the REST API becomes a task the buyer resolves."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.admin.browser.browser_support import shot, sign_in, unexpected_errors


def test_the_buyer_sees_the_task_of_an_event_and_resolves_it_through_its_form(
        new_page, live_server) -> None:
    at = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    status, answer = live_server.api("POST", "/api/v1/events", [
        {"id": "browser-sale-3", "type": "sale", "sku": "SKU-3", "warehouse": "WH-1",
         "qty": 35, "at": at}])
    assert status == 200 and answer["accepted"] == 1, answer  # 50 - 35 = 15 < 20

    page = new_page()
    sign_in(page, "alice")
    page.click("nav.mainnav >> text=待办")
    row = page.locator("#task-list tr", has_text="补货 SKU-3 @ WH-1")
    expect(row).to_be_visible()
    expect(page.locator("#task-list tbody tr").first).to_contain_text("紧急")  # most severe first
    shot(page, "inbox-alice")

    row.locator("a.task-link").click()
    expect(page.locator("h1")).to_contain_text("补货 SKU-3 @ WH-1")
    expect(page.locator("#condition-text")).to_have_text("可用库存 < 20")
    expect(page.locator("#condition-values")).to_have_text("15 < 20")
    expect(page.locator("#formulas")).to_contain_text("安全库存 = z(0.95)·√(LT·σd² + d²·σLT²)")
    expect(page.locator("#formulas")).to_contain_text("再订货点 = d·LT + 安全库存")
    expect(page.locator("#stock-chart")).to_have_attribute("data-ready", "1")
    shot(page, "task-alice")

    page.click("#transition-resolve > summary")
    page.click("#transition-resolve button[type=submit]")  # empty: refused by the server
    error = page.locator("#field-resolve-outcome .field-error")
    expect(error).to_have_text("此项为必填项。")
    expect(page.locator("#resolve-outcome")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#task-state")).to_have_text("待处理")
    shot(page, "task-form-error")

    page.select_option("#resolve-outcome", "replenished")
    page.fill("#resolve-quantity", "100")
    page.fill("#resolve-eta", "2026-12-01")
    page.check("#resolve-confirmed")
    page.fill("#resolve-note", "已联系供应商补货")
    done_url = page.url
    page.click("#transition-resolve button[type=submit]")
    # closed: the next open task of the inbox opens, with the confirmation
    expect(page.locator(".flash-success")).to_have_text("已保存，待办已进入下一步。")
    expect(page.locator("h1")).not_to_contain_text("补货 SKU-3 @ WH-1")
    page.goto(done_url)
    expect(page.locator("#task-state")).to_have_text("已完成")
    expect(page.locator("#history")).to_contain_text("完成 · alice")
    expect(page.locator("#answers")).to_contain_text("处理结果已补货")
    shot(page, "task-done")
    assert unexpected_errors(page) == []  # e.g. nothing blocked by the Content-Security-Policy


def test_the_inbox_filters_by_open_and_closed(new_page) -> None:
    page = new_page()
    sign_in(page, "alice")
    page.goto("/tasks?each=1")  # every task on its own row, not one per SKU×warehouse
    open_rows = page.locator("#task-list tbody tr").count()
    assert open_rows >= 3
    expect(page.locator("#task-list .badge-overdue").first).to_be_visible()
    page.click("#filter-show >> text=已关闭")  # htmx swaps the list and the address
    expect(page).to_have_url(re.compile(r"[?&]show=closed"))
    expect(page.locator("#task-list tbody tr.row-closed").first).to_be_visible()
    rows = page.locator("#task-list tbody tr").all()
    assert rows and all("row-closed" in (r.get_attribute("class") or "") for r in rows)
    page.click("#filter-show >> text=未完成")
    expect(page.locator("#task-list tbody tr")).to_have_count(open_rows)
