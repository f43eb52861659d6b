"""In Chromium on a phone (390 px): the source's role ships a transfer from the list, the
destination's role receives it from its page (issue #19); nothing overflows the screen."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.admin.browser.browser_support import shot, sign_in, unexpected_errors

PHONE = {"width": 390, "height": 844}


def _fits(page) -> bool:  # type: ignore[no-untyped-def]
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_a_transfer_is_shipped_and_received_on_a_phone(new_page, live_server) -> None:
    api = live_server.api
    status, _ = api("PUT", "/api/v1/warehouses", [{"code": "WH-T", "name": "调拨测试仓",
                                                   "region": "north"}], "application/json")
    assert status == 200
    status, answer = api("POST", "/api/v1/events", [
        {"id": "browser-transfer-count", "type": "count", "sku": "SKU-3", "warehouse": "WH-T",
         "qty": 40, "at": "2026-11-01T08:00:00+08:00"}], "application/json")
    assert status == 200 and answer["accepted"] == 1, answer
    status, made = api("POST", "/api/v1/transfers", {
        "sku": "SKU-3", "from_warehouse": "WH-T", "to_warehouse": "WH-1", "quantity": 12,
        "ship_role": "sales", "receive_role": "buyer"}, "application/json")
    assert status == 201, made

    dave = new_page()
    dave.set_viewport_size(PHONE)
    sign_in(dave, "dave")
    dave.goto("/transfers")
    row = dave.locator(f"tr[data-transfer='{made['id']}']")
    expect(row).to_contain_text("已申请")
    assert _fits(dave)
    shot(dave, "transfers-390")
    row.locator(f"#step-ship-{made['id']}").click()
    expect(dave.locator(".flash-success")).to_contain_text("已发货")

    alice = new_page(locale="en-US")
    alice.set_viewport_size(PHONE)
    sign_in(alice, "alice")
    alice.goto(f"/transfers/{made['id']}")
    expect(alice.locator("#transfer-reasoning")).to_contain_text("Requested by hand")
    assert _fits(alice)
    shot(alice, "transfer-390-en")
    alice.locator(f"#step-receive-{made['id']}").click()
    expect(alice.locator(".flash-success")).to_contain_text("Receive")
    expect(alice.locator("h1 .badge")).to_contain_text("received")
    assert unexpected_errors(dave) == [] and unexpected_errors(alice) == []
