"""Sign in, sign out and choose the language.

A wrong password and an unknown user get the same answer (and the same hashing time, in the
accounts service). Failed attempts are rate limited per address and per username; successful
ones do not count, so a user who types well is never locked out by a colleague on the same NAT.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from admin.auth import services
from admin.web.i18n import LANG_COOKIE, LANGUAGES
from admin.web.pages import web_blueprint
from admin.web.session import current_user, login_user, logout_user, safe_next
from engine.services import accounts

bp = web_blueprint("auth", __name__)

DEFAULT_LOGIN_LIMIT = "10 per minute"
LANG_COOKIE_DAYS = 365


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = safe_next(request.values.get("next"), url_for("dashboard.index"))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(target)
        return _form(target)
    username = request.form.get("username", "").strip().lower()[:64]
    limits: LoginLimits = current_app.extensions["login_limits"]
    keys = ("address", request.remote_addr or ""), ("user", username)
    if limits.exhausted(keys):
        abort(429)
    password = request.form.get("password", "")
    if len(password) > accounts.MAX_PASSWORD:  # bounds the hashing cost (RELIABILITY row 40)
        limits.failed(keys)
        message = _("Password too long (max %(n)s characters).", n=accounts.MAX_PASSWORD)
        return _form(target, username, message, 400)
    svc = services()
    with svc.uow() as uow:
        user = accounts.authenticate_password(uow.conn, username, password)
    if user is None:
        limits.failed(keys)
        return _form(target, username, _("Wrong username or password."), 401)
    login_user(user)
    return redirect(target, 303)


def _form(target: str, username: str = "", error: str | None = None, status: int = 200) -> Any:
    return render_template("auth/login.html", next=target, username=username, error=error), status


@bp.post("/logout")
def logout() -> Any:
    logout_user()
    return redirect(url_for("auth.login"), 303)


@bp.get("/lang/<code>")
def choose_language(code: str) -> Any:
    """Remember the chosen language in a cookie (it outlives the session) and go back."""
    if code not in LANGUAGES:
        return redirect(url_for("dashboard.index"))
    response = redirect(safe_next(request.args.get("next"), url_for("dashboard.index")))
    response.set_cookie(LANG_COOKIE, code, max_age=LANG_COOKIE_DAYS * 86400, httponly=True,
                        samesite="Lax", secure=bool(current_app.config["SESSION_COOKIE_SECURE"]))
    return response


class LoginLimits:
    """Failed sign-ins per address and per username (RELIABILITY §1.3, ASVS 6.3.1), counted by
    the ``limits`` library in this process's memory: with several gunicorn workers each counts
    on its own, which still bounds guessing to (workers × limit) a minute.

    Only the sign-in view asks: Flask-Limiter, used before, hooks every request of the app (the
    API included) to find the limits that apply; that was 0.2-0.3 ms of a single-event POST's
    1.7-2 ms CPU, measured in-process with and without its hooks.
    """

    def __init__(self, rate: str) -> None:
        self.rate: RateLimitItem = parse(rate)
        self.counter = FixedWindowRateLimiter(MemoryStorage())

    def exhausted(self, keys: tuple[tuple[str, str], ...]) -> bool:
        return not all(self.counter.test(self.rate, *key) for key in keys)

    def failed(self, keys: tuple[tuple[str, str], ...]) -> None:
        for key in keys:
            self.counter.hit(self.rate, *key)


def limit_login(app: Flask) -> None:
    """Each app (and each test) counts on its own."""
    rate = app.extensions["engine"].settings.extra.get("login_rate_limit", DEFAULT_LOGIN_LIMIT)
    app.extensions["login_limits"] = LoginLimits(rate)
