"""In Chromium, the buyer's day (issue #18): every task of one warehouse, three claimed, resolved
in one go, and on to the next; the approver's; and the same pages on a phone, 390 px wide.

It adds a warehouse and five SKUs to the shared live server, so its name sorts it after the
tests that count the catalogue (the rule editor's preview counts every SKU)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.admin.browser.browser_support import shot, sign_in, unexpected_errors

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def warehouse_b(live_server) -> list[str]:
    """A warehouse of its own with five low SKUs (one also out of stock): six tasks, five pairs."""
    status, answer = live_server.api("PUT", "/api/v1/warehouses", [
        {"code": "WH-B", "name": "北京仓", "region": "north"}])
    assert status == 200, answer
    codes = [f"SKU-B{i}" for i in range(1, 6)]
    status, answer = live_server.api("PUT", "/api/v1/skus", [
        {"code": c, "name": f"矿泉水 {c}", "unit_cost": 3,
         "suppliers": [{"supplier": "SUP-1", "preferred": True, "price": 3}]} for c in codes])
    assert status == 200, answer
    at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    events = [{"id": f"buyer-{c}", "type": "count", "sku": c, "warehouse": "WH-B",
               "qty": 0 if c == "SKU-B1" else 5, "at": at} for c in codes]
    status, answer = live_server.api("POST", "/api/v1/events", events)
    assert status == 200 and answer["accepted"] == 5, answer
    return codes


def test_a_buyer_claims_three_tasks_of_one_warehouse_resolves_them_at_once_and_goes_on(
        new_page, warehouse_b) -> None:
    page = new_page()
    sign_in(page, "alice")
    page.goto("/tasks")
    page.select_option("#filter-warehouse", "WH-B")  # htmx: the list and the address change
    expect(page).to_have_url(re.compile(r"[?&]warehouse=WH-B"))
    rows = page.locator("#task-list tbody tr")
    expect(rows).to_have_count(5)  # SKU-B1 is low and out of stock: one case, two tasks
    expect(rows.first).to_contain_text("缺货 SKU-B1")
    expect(rows.first.locator(".linked")).to_contain_text("库存偏低")
    shot(page, "buyer-inbox-warehouse")

    for i in range(3):
        rows.nth(i).locator("input[name=ids]").check()
    page.select_option("#bulk-action", "claim")
    page.click("#bulk-apply")
    expect(page.locator(".flash-success")).to_have_text("你已认领 3 个待办。")
    expect(page).to_have_url(re.compile(r"warehouse=WH-B"))  # the filter is kept
    expect(page.locator("#task-list tbody tr td[data-label='处理人']", has_text="alice")) \
        .to_have_count(3)

    for i in range(3):
        page.locator("#task-list tbody tr").nth(i).locator("input[name=ids]").check()
    page.select_option("#bulk-action", "transition:resolve")
    page.click("#bulk-apply")
    expect(page.locator("h1")).to_have_text("完成：4 个待办")  # with SKU-B1's other task
    page.select_option("#bulk-f-outcome", "replenished")
    page.fill("#bulk-f-quantity", "120")
    shot(page, "buyer-bulk-form")
    page.click("#bulk-confirm")

    expect(page.locator(".flash-success")).to_have_text("4 个待办已执行：完成。")
    expect(page.locator("h1")).to_contain_text("@ WH-B")  # the next task of the list
    expect(page.locator("#task-state")).to_have_text("待处理")
    shot(page, "buyer-next-task")
    page.click("a.back")
    expect(page.locator("#task-list tbody tr")).to_have_count(2)
    assert unexpected_errors(page) == []


@pytest.mark.parametrize("who,path", [("alice", "/tasks"), ("alice", "task"),
                                      ("carol", "/requisitions"), ("carol", "requisition"),
                                      ("alice", "/")])
def test_pages_fit_a_phone_with_the_actions_on_the_first_screen(
        browser, live_server, who, path, warehouse_b) -> None:
    context = browser.new_context(locale="zh-CN", viewport=PHONE, base_url=live_server.url,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, who)
    if path == "task":
        page.goto("/tasks")
        page.locator("#task-list a.task-link").first.click()
    elif path == "requisition":
        page.goto("/requisitions")
        page.locator("#requisition-list td.cell-title a").first.click()
    else:
        page.goto(path)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # the menu: one row, each entry on one line (before: a character per line)
    heights = page.eval_on_selector_all(".mainnav a", "els => els.map(e => e.offsetHeight)")
    line = page.eval_on_selector(".mainnav a", "e => parseFloat(getComputedStyle(e).lineHeight)")
    assert heights and max(heights) < 2.2 * line + 16
    if path in ("task", "requisition"):
        actions = page.locator("#actions" if path == "task" else "#requisition-actions")
        expect(actions).to_be_visible()
        assert actions.bounding_box()["y"] < PHONE["height"] - 80
    shot(page, f"phone-{path.strip('/') or 'dashboard'}", full_page=False)
    context.close()


def test_an_approver_reads_a_requisition_changes_it_approves_merges_and_exports(
        new_page, live_server, warehouse_b) -> None:
    page = new_page()
    sign_in(page, "carol")
    page.goto("/requisitions?state=pending_approval")
    row = page.locator("#requisition-list tr", has_text="SKU-B2")
    expect(row).to_contain_text("矿泉水 SKU-B2")  # names, not only codes
    row.locator("td.cell-title a").click()
    expect(page.locator("#reasoning")).to_contain_text("按固定数量，需求为 100")
    expect(page.locator("#stock-context")).to_contain_text("可用库存")
    page.click("#edit-requisition > summary")
    page.fill("#edit-quantity", "60")
    page.click("#edit-save")
    expect(page.locator(".flash-success")).to_contain_text("审批将从第一级重新开始")
    expect(page.locator("#requisition-facts")).to_contain_text("180.00")  # 60 × 3.00
    expect(page.locator("#history")).to_contain_text("100 → 60")
    shot(page, "approver-requisition")
    page.click("#requisition-actions .action-approve button")
    expect(page.locator(".flash-success")).to_contain_text("已批准")

    page.goto("/requisitions?state=pending_approval")
    for code in ("SKU-B3", "SKU-B4"):
        page.locator("#requisition-list tr", has_text=code).locator("input[name=ids]").check()
    page.click("#bulk-approve")
    expect(page.locator(".flash-success")).to_have_text("已批准 2 个采购申请。")
    page.goto("/requisitions?state=approved")
    for code in ("SKU-B2", "SKU-B3", "SKU-B4"):
        page.locator("#requisition-list tr", has_text=code).locator("input[name=ids]").check()
    page.click("#bulk-merge")
    expect(page.locator("h1")).to_contain_text("采购订单 SW-PO-")
    expect(page.locator("#po-lines tbody tr")).to_have_count(3)
    with page.expect_download() as download:
        page.click("#export-stockwarn-xlsx")
    assert download.value.suggested_filename.endswith("-stockwarn.xlsx")
    shot(page, "approver-purchase-order")
    assert unexpected_errors(page) == []
