"""In Chromium: an admin reads why events were refused and replays them; a buyer cannot."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.admin.browser.browser_support import shot, sign_in, unexpected_errors


def test_the_admin_reads_the_reasons_and_replays(new_page, live_server) -> None:
    # A SKU nobody has created: refused and kept (nothing else of the shared server changes)
    status, answer = live_server.api("POST", "/api/v1/events", [
        {"id": "browser-rejected-1", "type": "receipt", "sku": "SKU-GHOST", "warehouse": "WH-1",
         "qty": 5, "at": "2026-11-01T08:00:00+08:00"}])
    assert status == 200 and answer["rejected"] == 1

    alice = new_page()
    sign_in(alice, "alice")
    assert alice.goto("/admin/events/rejected").status == 403

    root = new_page()
    sign_in(root, "root")
    root.goto("/")
    root.get_by_role("link", name="被拒事件").click()
    row = root.locator("tr[data-rejected]", has_text="browser-rejected-1")
    expect(row).to_contain_text("SKU 'SKU-GHOST' does not exist")
    expect(row).to_contain_text('"sku": "SKU-GHOST"')
    shot(root, "rejected-events")
    root.locator("#replay-rejected").click()
    expect(root.locator(".flash-error")).to_contain_text("仍被拒")
    expect(root.locator("tr[data-rejected]", has_text="browser-rejected-1")).to_have_count(1)
    assert unexpected_errors(alice) == [] and unexpected_errors(root) == []
