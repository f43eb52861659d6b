"""Ruleset versions for admins: history with author and time, the diff, rolling back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.web_seed import RULESET, login, post_form, seed_with_client


@pytest.fixture
def two_versions(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    changed = RULESET.replace("severity: critical", "severity: high")
    result = runner.invoke(args=["tokens", "create", "root"])
    headers = {"Authorization": f"Bearer {result.output.strip().splitlines()[-1]}"}
    answer = client.put("/api/v1/ruleset", data=changed, content_type="application/yaml",
                        headers=headers)
    assert answer.status_code == 200, answer.json
    return client


def active_version(client: Any) -> str:
    html = client.get("/admin/versions").get_data(as_text=True)
    start = html.index('class="row-active"')
    return html[html.rindex("data-version=", 0, start):start].split('"')[1]


def test_versions_are_for_admins_only(two_versions) -> None:
    login(two_versions, "carol")
    assert two_versions.get("/admin/versions").status_code == 403
    assert two_versions.get("/admin/versions/1").status_code == 403
    assert post_form(two_versions, "/", "/admin/versions/1/activate").status_code == 403


def test_the_history_shows_author_time_and_which_is_active(two_versions) -> None:
    login(two_versions, "root")
    html = two_versions.get("/admin/versions").get_data(as_text=True)
    assert html.count("<tr data-version=") == 2
    assert "root" in html and "web-test" in html and "2026-11-20 16:00" in html  # Shanghai time
    assert active_version(two_versions) == "2"


def test_a_version_shows_its_diff_with_the_previous_one(two_versions) -> None:
    login(two_versions, "root")
    html = two_versions.get("/admin/versions/2").get_data(as_text=True)
    assert '<span class="d-del">-    severity: critical</span>' in html
    assert '<span class="d-add">+    severity: high</span>' in html
    first = two_versions.get("/admin/versions/1").get_data(as_text=True)
    assert "这是第一个版本" in first
    against = two_versions.get("/admin/versions/1?against=2").get_data(as_text=True)
    assert '<span class="d-add">+    severity: critical</span>' in against
    assert two_versions.get("/admin/versions/9").status_code == 404


def test_a_version_says_what_changed_in_sentences_with_the_raw_diff_a_click_away(
        two_versions) -> None:
    login(two_versions, "root")
    html = two_versions.get("/admin/versions/2").get_data(as_text=True)
    changes = html[html.index('<ul class="changes"'):html.index("</ul>", html.index('<ul class="changes"'))]
    assert changes.count("<li>") == 1
    assert "规则「缺货」（out-of-stock）：严重程度：critical → high" in changes
    assert html.index('id="changes"') < html.index('<details id="raw-diff">') < html.index('id="diff"')
    two_versions.set_cookie("lang", "en")
    english = two_versions.get("/admin/versions/2").get_data(as_text=True)
    assert "rule &#39;缺货&#39; (out-of-stock): severity: critical → high" in english


def test_activating_an_earlier_version_rolls_back(two_versions) -> None:
    login(two_versions, "root")
    assert two_versions.post("/admin/versions/1/activate").status_code == 400  # no CSRF token
    assert active_version(two_versions) == "2"
    answer = post_form(two_versions, "/admin/versions", "/admin/versions/1/activate")
    assert (answer.status_code, answer.headers["Location"]) == (303, "/admin/versions")
    html = two_versions.get("/admin/versions").get_data(as_text=True)
    assert "第 1 版已启用。" in html and active_version(two_versions) == "1"
    missing = post_form(two_versions, "/admin/versions", "/admin/versions/9/activate")
    assert missing.status_code == 303
    assert "没有第 9 版。" in two_versions.get("/admin/versions").get_data(as_text=True)
