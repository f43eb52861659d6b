"""In Chromium: the admin reads a version's diff and rolls back to the earlier version."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.admin import web_seed
from tests.admin.browser.browser_support import shot, sign_in


def test_the_admin_sees_the_diff_and_activates_an_earlier_version(new_page, live_server) -> None:
    changed = web_seed.RULESET.replace("severity: critical", "severity: high")
    status, answer = live_server.api("PUT", "/api/v1/ruleset", changed, "application/yaml")
    assert status == 200, answer
    new, old = answer["version"], answer["version"] - 1

    page = new_page()
    sign_in(page, "root")
    page.click("nav.mainnav >> text=版本")
    expect(page.locator(f"tr[data-version='{new}']")).to_have_class(re.compile("row-active"))
    shot(page, "versions")
    page.click(f"tr[data-version='{new}'] >> text=变更")
    expect(page.locator("#diff .d-del")).to_have_text("-    severity: critical")
    expect(page.locator("#diff .d-add")).to_have_text("+    severity: high")
    shot(page, "version-diff")

    page.goto("/admin/versions")
    page.once("dialog", lambda dialog: dialog.accept())  # "make version N the active one?"
    page.click(f"tr[data-version='{old}'] button")
    expect(page.locator(".flash-success")).to_have_text(f"第 {old} 版已启用。")
    expect(page.locator(f"tr[data-version='{old}']")).to_have_class(re.compile("row-active"))
    assert live_server.api("GET", "/api/v1/ruleset")[1]["version"] == old


def test_versions_are_refused_to_business_users(new_page) -> None:
    page = new_page()
    sign_in(page, "alice")
    expect(page.locator("nav.mainnav >> text=版本")).to_have_count(0)
    answer = page.goto("/admin/versions")
    assert answer is not None and answer.status == 403
    expect(page.locator("h1")).to_have_text("无权操作")
