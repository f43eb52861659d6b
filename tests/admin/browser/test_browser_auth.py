"""In Chromium: signing in, the cookie the browser keeps, CSRF refusal, Chinese and English."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.admin.browser.browser_support import shot, sign_in, unexpected_errors


def test_a_wrong_password_and_an_unknown_user_get_the_same_message(new_page) -> None:
    page = new_page()
    sign_in(page, "alice", "not-the-password")
    error = page.locator("#login-error")
    expect(error).to_have_text("用户名或密码错误。")
    expect(page.locator("input[name=username]")).to_have_value("alice")
    shot(page, "login-wrong-password", full_page=False)
    sign_in(page, "nobody", "whatever-password")
    expect(error).to_have_text("用户名或密码错误。")
    assert page.url.endswith("/login")
    page.goto("/tasks")
    assert "/login?next=" in page.url  # still signed out


def test_the_session_cookie_is_secure_http_only_host_bound_and_kept(new_page) -> None:
    page = new_page()
    sign_in(page, "dave")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["__Host-stockwarn"]
    assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Lax"
    assert session["path"] == "/" and "expires" in session
    page.goto("/tasks")  # Chromium sends a Secure cookie to http://127.0.0.1: still signed in
    expect(page.locator("h1")).to_have_text("待办")


def test_a_form_posted_without_its_csrf_token_is_refused(new_page) -> None:
    page = new_page()
    sign_in(page, "dave")
    page.eval_on_selector("form[action='/logout'] input[name=csrf_token]", "e => e.remove()")
    with page.expect_response(lambda r: r.url.endswith("/logout")) as answer:
        page.click("form[action='/logout'] button")
    assert answer.value.status == 400
    expect(page.locator("h1")).to_have_text("请求有误")
    expect(page.locator(".error-card")).to_contain_text("CSRF")
    shot(page, "csrf-refused", full_page=False)
    page.goto("/")
    expect(page.locator("h1")).to_have_text("仪表盘")  # the sign-out did not happen


def test_pages_render_in_chinese_and_switch_to_english(new_page) -> None:
    page = new_page("zh-CN")
    sign_in(page, "carol")
    expect(page.locator("h1")).to_have_text("仪表盘")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.locator("nav.mainnav")).to_contain_text("待办")
    shot(page, "dashboard-zh")
    page.click(".langs >> text=English")
    expect(page.locator("h1")).to_have_text("Dashboard")
    assert page.locator("html").get_attribute("lang") == "en"
    shot(page, "dashboard-en")
    page.click("nav.mainnav >> text=Requisitions")
    expect(page.locator("h1")).to_have_text("Purchase requisitions")
    page.click(".langs >> text=中文")
    expect(page.locator("h1")).to_have_text("采购申请")
    english = new_page("en-US")  # an English browser starts in English
    sign_in(english, "carol")
    expect(english.locator("h1")).to_have_text("Dashboard")
    assert unexpected_errors(page) == [] and unexpected_errors(english) == []
