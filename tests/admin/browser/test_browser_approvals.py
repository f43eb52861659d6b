"""In Chromium: the purchasing manager approves a requisition; a buyer cannot."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.admin.browser.browser_support import shot, sign_in, unexpected_errors

FORGE = """async ([url, token]) => {
  const answer = await fetch(url, {method: "POST", body: new URLSearchParams({csrf_token: token})});
  return answer.status;
}"""


def test_the_manager_approves_and_a_non_approver_sees_no_button(new_page, live_server) -> None:
    status, page_of = live_server.api("GET", "/api/v1/requisitions?sku=SKU-1")
    assert status == 200 and page_of["total"] == 1
    req = page_of["items"][0]["id"]

    alice = new_page()
    sign_in(alice, "alice")
    alice.goto("/requisitions")
    row = alice.locator(f"tr[data-requisition='{req}']")
    expect(row).to_contain_text("待审批")
    expect(row).to_contain_text("200.00")
    expect(row.locator("form.action-approve")).to_have_count(0)
    expect(row.locator("details.action-reject")).to_have_count(0)
    shot(alice, "requisitions-alice")
    token = alice.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = alice.evaluate(FORGE, [f"/requisitions/{req}/transitions/approve", token])
    assert forged == 403
    assert live_server.api("GET", f"/api/v1/requisitions/{req}")[1]["state"] == "pending_approval"

    carol = new_page()
    sign_in(carol, "carol")
    carol.goto("/requisitions")
    carol.check("#filter-mine")  # htmx: only those her roles approve
    expect(carol).to_have_url(re.compile(r"[?&]mine=1"))
    row = carol.locator(f"tr[data-requisition='{req}']")
    expect(row.locator("form.action-approve button")).to_be_visible()
    shot(carol, "requisitions-carol")
    row.locator("form.action-approve button").click()
    expect(carol.locator(".flash-success")).to_contain_text(f"采购申请 {req} 现在的状态：已批准")
    assert live_server.api("GET", f"/api/v1/requisitions/{req}")[1]["state"] == "approved"
    shot(carol, "requisitions-approved")
    assert unexpected_errors(alice) == [] and unexpected_errors(carol) == []
