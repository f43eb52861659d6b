"""In Chromium (issue #17, noise control): a buyer snoozes an alert from its page — a time in
the past is refused with a sentence, "until the stock changes" is accepted, the snooze shows on
the page and on the snoozes page, and unsnoozing brings it back; an admin sets a rule's notice
to a daily digest in the rule editor and is warned that its channel is not configured here.

The live server is shared with the other browser tests: the snooze is ended and the ruleset put
back afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
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


def open_alert(live_server: Any) -> int:
    """An open alert with a task for the buyer (a count far below the threshold opens one)."""
    now = datetime.now(UTC).isoformat()
    live_server.api("POST", "/api/v1/events", [{"id": f"noise-count-{now}", "type": "count",
                                               "sku": "SKU-2", "warehouse": "WH-1", "qty": 1,
                                               "at": now}])
    items = live_server.api("GET", "/api/v1/alerts?state=open&rule=low-stock&sku=SKU-2")[1]["items"]
    assert items, "no open alert on SKU-2"
    return int(items[0]["id"])


def test_a_buyer_snoozes_an_alert_and_brings_it_back(new_page, live_server) -> None:
    alert = open_alert(live_server)
    page = new_page()
    sign_in(page, "alice")
    page.goto(f"/alerts/{alert}")
    form = page.locator("#snooze-form")
    expect(form).to_be_visible()
    page.fill("#snooze-until", "2020-01-01T08:00")
    page.fill("#snooze-reason", "卡车明天到")
    page.click("#snooze-submit")
    expect(page.locator(".flash, [role=alert], .messages").first).to_contain_text("截止时间已过去")
    expect(page.locator("#snooze-form")).to_be_visible()  # nothing changed
    page.check("#snooze-stock")
    page.fill("#snooze-reason", "卡车明天到")
    page.click("#snooze-submit")
    expect(page.locator("#snooze-state")).to_contain_text("直到该 SKU 在此仓库的库存变动")
    expect(page.locator("#snooze-state")).to_contain_text("卡车明天到")
    shot(page, "alert-snoozed")
    page.click("#nav-noise")
    expect(page.locator(f"#snooze-list a[href='/alerts/{alert}']")).to_be_visible()
    shot(page, "snoozes-and-mutes")
    snoozed = live_server.api("GET", "/api/v1/snoozes")[1]
    assert [s["alert"] for s in snoozed] == [alert] and snoozed[0]["by"] == "alice"
    page.goto(f"/alerts/{alert}")
    page.click("#unsnooze")
    expect(page.locator("#snooze-form")).to_be_visible()
    assert live_server.api("GET", "/api/v1/snoozes")[1] == []
    assert unexpected_errors(page) == []


def test_an_admin_sets_a_daily_digest_and_is_warned_of_its_channel(new_page, live_server,
                                                                  restore_ruleset) -> None:
    page = new_page()
    sign_in(page, "root")
    page.goto("/admin/rules/out-of-stock/edit")
    page.click("#add-notify")
    action = page.locator("[data-field$='.digest']").last
    action.locator("select").select_option("daily")
    block = page.locator("select[name$='-digest']").last
    prefix = block.get_attribute("name").removesuffix("digest")
    page.check(f"input[name='{prefix}channels'][value='email']")
    shot(page, "rule-daily-digest")
    page.click("#save-rule")
    expect(page.locator("body")).to_contain_text("已启用")
    expect(page.locator("body")).to_contain_text("本系统没有配置这些渠道")  # in Chinese, not the engine's English
    doc = live_server.api("GET", "/api/v1/ruleset")[1]["document"]
    rule = next(r for r in doc["rules"] if r["id"] == "out-of-stock")
    assert {"notify": {"to": "owner", "channels": ["email"], "digest": "daily"}} in rule["actions"]
    assert unexpected_errors(page) == []
