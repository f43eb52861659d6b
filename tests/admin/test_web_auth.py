"""Sign-in, sessions, CSRF, the login rate limit, security headers and the language choice."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from admin import create_app
from tests.admin.web_seed import csrf_token, login, post_form, seed_with_client, task_id

GUARDED = ["/", "/dashboard", "/tasks", "/tasks/1", "/requisitions", "/admin/versions"]


@pytest.fixture
def seeded(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    return client


def make_app(settings: Any, clock: Any, **changes: Any) -> Any:
    return create_app(replace(settings, **changes), clock)


@pytest.mark.parametrize("path", GUARDED)
def test_pages_send_anonymous_visitors_to_the_login_page(client, path) -> None:
    answer = client.get(path)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login?next=")


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(seeded) -> None:
    wrong = login(seeded, "alice", "not-her-password")
    unknown = login(seeded, "mallory", "whatever-password")
    assert wrong.status_code == unknown.status_code == 401
    for answer in (wrong, unknown):
        assert "用户名或密码错误" in answer.get_data(as_text=True)  # Chinese by default
    assert seeded.get("/").status_code == 302  # still signed out


def test_signing_in_goes_to_the_page_asked_for_and_never_off_site(seeded) -> None:
    token = csrf_token(seeded.get("/login?next=/requisitions"))
    answer = seeded.post("/login", data={"username": "alice", "password": "alice-password-1",
                                         "next": "/requisitions", "csrf_token": token})
    assert (answer.status_code, answer.headers["Location"]) == (303, "/requisitions")
    seeded.post("/logout", data={"csrf_token": csrf_token(seeded.get("/"))})
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        token = csrf_token(seeded.get("/login"))
        answer = seeded.post("/login", data={"username": "alice", "next": target,
                                             "password": "alice-password-1", "csrf_token": token})
        assert answer.headers["Location"] == "/dashboard", target
        seeded.post("/logout", data={"csrf_token": csrf_token(seeded.get("/"))})


def test_the_session_starts_afresh_at_sign_in(seeded) -> None:
    before = csrf_token(seeded.get("/login"))
    assert login(seeded, "alice").status_code == 303
    # The anonymous session's CSRF secret did not survive: its token is refused now.
    refused = seeded.post("/logout", data={"csrf_token": before})
    assert refused.status_code == 400
    assert seeded.get("/").status_code == 200


def test_signing_out_takes_a_post_with_its_token(seeded) -> None:
    login(seeded, "alice")
    assert seeded.post("/logout").status_code == 400  # no token: refused, still signed in
    assert seeded.get("/").status_code == 200
    answer = post_form(seeded, "/", "/logout")
    assert (answer.status_code, answer.headers["Location"]) == (303, "/login")
    assert seeded.get("/").status_code == 302


def test_a_form_post_without_its_csrf_token_is_refused_and_changes_nothing(
        seeded, services) -> None:
    login(seeded, "alice")
    task = task_id(services, "补货 SKU-1 @ WH-1")
    answer = seeded.post(f"/tasks/{task}/transitions/start", data={})
    assert answer.status_code == 400
    assert "CSRF" in answer.get_data(as_text=True)
    forged = seeded.post(f"/tasks/{task}/transitions/start", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    page = seeded.get(f"/tasks/{task}").get_data(as_text=True)
    assert 'id="task-state">待处理<' in page and "开始处理 · alice" not in page


def test_the_bearer_token_api_needs_no_csrf_token(seeded, runner) -> None:
    result = runner.invoke(args=["tokens", "create", "root"])
    headers = {"Authorization": f"Bearer {result.output.strip().splitlines()[-1]}"}
    event = {"id": "no-csrf", "type": "receipt", "sku": "SKU-3", "warehouse": "WH-1", "qty": 1,
             "at": "2026-11-20T07:00:00Z"}
    answer = seeded.post("/api/v1/events", json=event, headers=headers)
    assert answer.status_code == 200 and answer.json["accepted"] == 1


def test_a_huge_password_is_refused_before_hashing(seeded) -> None:
    answer = login(seeded, "alice", "x" * 2000)
    assert answer.status_code == 400
    assert "密码过长" in answer.get_data(as_text=True)


def test_cookies_are_secure_http_only_and_host_bound(settings, clock) -> None:
    app = make_app(settings, clock, secure_cookies=True)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "create", "alice", "--password",
                               "alice-password-1"]).exit_code == 0
    client = app.test_client()
    page = client.get("/login", base_url="https://localhost")
    token = csrf_token(page)
    answer = client.post("/login", base_url="https://localhost",
                         headers={"Referer": "https://localhost/login"},
                         data={"username": "alice", "password": "alice-password-1",
                               "csrf_token": token})
    assert answer.status_code == 303
    cookies = answer.headers.getlist("Set-Cookie")  # the session and the known device
    assert sorted(c.split("=", 1)[0] for c in cookies) == ["__Host-stockwarn",
                                                          "__Host-stockwarn-device"]
    for cookie in cookies:
        for part in ("Secure", "HttpOnly", "Path=/", "SameSite=Lax"):
            assert part in cookie
        assert "Domain" not in cookie
    lang = client.get("/lang/en?next=/", base_url="https://localhost").headers["Set-Cookie"]
    assert "lang=en" in lang and "Secure" in lang and "SameSite=Lax" in lang
    app.extensions["engine"].close()


def test_pages_carry_the_security_headers(client) -> None:
    for path in ("/login", "/tasks"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
    assert client.get("/login").headers["Cache-Control"] == "no-store"


def test_the_language_comes_from_the_browser_then_from_the_choice(seeded) -> None:
    login(seeded, "alice")

    def page(**headers: str) -> str:
        return seeded.get("/", headers=headers).get_data(as_text=True)

    assert '<html lang="zh-CN">' in page() and "仪表盘" in page()  # nothing said: Chinese
    assert "仪表盘" in page(**{"Accept-Language": "zh-TW,zh;q=0.9"})
    english = page(**{"Accept-Language": "en-US,en;q=0.8"})
    assert '<html lang="en">' in english and ">Dashboard<" in english and "仪表盘" not in english
    answer = seeded.get("/lang/en?next=/tasks")
    assert (answer.status_code, answer.headers["Location"]) == (302, "/tasks")
    assert ">Dashboard<" in page(**{"Accept-Language": "zh-CN"})  # the choice wins
    seeded.get("/lang/zh?next=/")
    assert "仪表盘" in page(**{"Accept-Language": "en"})
    assert seeded.get("/lang/en?next=//evil.example").headers["Location"] == "/dashboard"
    assert seeded.get("/lang/fr").headers["Location"] == "/dashboard"


def test_error_pages_are_pages_and_the_api_keeps_json(seeded) -> None:
    missing = seeded.get("/no/such/page")
    assert missing.status_code == 404 and missing.content_type.startswith("text/html")
    assert "未找到" in missing.get_data(as_text=True)
    api = seeded.get("/api/v1/no/such/thing")
    assert api.status_code == 404 and api.is_json
    login(seeded, "alice")
    forbidden = seeded.get("/admin/versions")
    assert forbidden.status_code == 403 and "无权" in forbidden.get_data(as_text=True)
