"""The global settings form (/admin/settings, #17): every setting with its label and sentence in
both languages, saved as only the settings block, problems next to their field."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.admin.test_web_rules import document, field_block, form_of, versions
from tests.admin.web_seed import login, seed_with_client


@pytest.fixture
def admin(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    login(client, "root")
    return client


def _form(page: Any, **values: str) -> dict[str, str]:
    html = page.get_data(as_text=True)
    data = form_of(page)
    data.update(dict(re.findall(r'<input type="(?:number|text)"[^>]* name="([\w]+)" value="([^"]*)"', html)))
    selected = re.search(r'<option value="([^"]*)" selected>', html[html.index('name="timezone"'):])
    data["timezone"] = selected.group(1) if selected else ""
    data.update(values)
    return data


def test_the_settings_form_shows_every_setting_in_plain_words(admin) -> None:
    html = admin.get("/admin/settings").get_data(as_text=True)
    assert "服务水平" in html and "需求窗口（天）" in html and "时区" in html
    assert 'value="0.95"' in field_block(html, "settings.service_level")
    assert '<option value="Asia/Shanghai" selected>' in html
    admin.set_cookie("lang", "en")
    english = admin.get("/admin/settings").get_data(as_text=True)
    assert "Service level" in english and "19 cycles in 20" in english


def test_saving_changes_only_the_settings_and_keeps_a_custom_one(admin, services) -> None:
    before = len(versions(services))
    page = admin.get("/admin/settings")
    answer = admin.post("/admin/settings", data=_form(
        page, service_level="0.97", timezone="UTC", c_name_0="critical_cover_days", c_value_0="5"))
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert len(versions(services)) == before + 1
    doc = document(services)
    assert doc["settings"] == {"service_level": 0.97, "review_period_days": 7, "timezone": "UTC",
                               "critical_cover_days": 5}
    assert [r["id"] for r in doc["rules"]] == ["low-stock", "out-of-stock"]


def test_a_bad_value_is_shown_next_to_its_field_and_nothing_is_saved(admin, services) -> None:
    before = len(versions(services))
    answer = admin.post("/admin/settings", data=_form(admin.get("/admin/settings"),
                                                     service_level="2"))
    assert answer.status_code == 422
    block = field_block(answer.get_data(as_text=True), "settings.service_level")
    assert "请输入 0.5 到 0.9999 之间的数字。" in block
    assert len(versions(services)) == before
