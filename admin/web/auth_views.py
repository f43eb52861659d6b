"""Sign in, sign out and choose the language.

A wrong password and an unknown user get the same answer (and the same hashing time, in the
accounts service). Every attempt is counted before its password is checked, in counters all
processes share (``engine.services.sign_in_limits``): per source address and per account, or
only per device from a browser that signed in to the account before (``admin.web.devices``).
A successful attempt is given back, so a user who types well is never locked out by a
colleague on the same NAT, and an owner is never locked out by a stranger.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin.auth import services
from admin.web.devices import known_device, remember_device
from admin.web.i18n import LANG_COOKIE, LANGUAGES
from admin.web.pages import web_blueprint
from admin.web.session import current_user, login_required, login_user, logout_user, safe_next
from engine.services import accounts, sign_in_limits
from engine.services.sign_in_limits import SignInLimits

bp = web_blueprint("auth", __name__)

LANG_COOKIE_DAYS = 365


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    target = safe_next(request.values.get("next"), url_for("dashboard.index"))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(target)
        return _form(target)
    username = request.form.get("username", "").strip().lower()[:64]
    device = known_device(username)
    keys = ((("device", device),) if device else
            (("address", request.remote_addr or ""), ("user", username)))
    limits: SignInLimits = current_app.extensions["login_limits"]
    if not limits.attempt(keys):  # counted now, before the password: no race past the limit
        abort(429)
    password = request.form.get("password", "")
    if len(password) > accounts.MAX_PASSWORD:  # bounds the hashing cost (RELIABILITY row 40)
        message = _("Password too long (max %(n)s characters).", n=accounts.MAX_PASSWORD)
        return _form(target, username, message, 400)
    svc = services()
    with svc.uow() as uow:
        user = accounts.authenticate_password(uow.conn, username, password)
    if user is None:
        return _form(target, username, _("Wrong username or password."), 401)
    limits.succeeded(keys)
    login_user(user)
    response = redirect(target, 303)
    remember_device(response, user.username, device)
    return response


def _form(target: str, username: str = "", error: str | None = None, status: int = 200) -> Any:
    return render_template("auth/login.html", next=target, username=username, error=error), status


@bp.post("/logout")
def logout() -> Any:
    logout_user()
    return redirect(url_for("auth.login"), 303)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required()
def change_password() -> Any:
    """The signed-in user's own new password: every session of the user ends, this browser
    signs in again at once. The current password is asked for (a borrowed session alone cannot
    change it), and its guesses are limited like sign-ins."""
    if request.method == "GET":
        return _password_form()
    user = current_user()
    assert user is not None
    limits: SignInLimits = current_app.extensions["login_limits"]
    keys = (("password-change", str(user.id)),)
    if not limits.attempt(keys):
        abort(429)
    current, new = request.form.get("current", ""), request.form.get("new", "")
    if new != request.form.get("confirm", ""):
        return _password_form(_("The two new passwords differ."), 400)
    if len(new) < accounts.MIN_PASSWORD or len(new) > accounts.MAX_PASSWORD:
        return _password_form(_("A password has %(min)s to %(max)s characters.",
                                min=accounts.MIN_PASSWORD, max=accounts.MAX_PASSWORD), 400)
    svc = services()
    with svc.uow() as uow:
        if accounts.authenticate_password(uow.conn, user.username, current) is None:
            return _password_form(_("The current password is wrong."), 401)
        accounts.set_password(uow.conn, user.username, new, actor=user.username,
                              now=svc.clock.now())
        changed = accounts.get_user(uow.conn, user.username)
        uow.commit()
    limits.succeeded(keys)
    login_user(changed)
    flash(_("Password changed. Your sessions on other devices have ended."), "success")
    return redirect(url_for("dashboard.index"), 303)


def _password_form(error: str | None = None, status: int = 200) -> Any:
    return render_template("auth/password.html", error=error), status


@bp.get("/lang/<code>")
def choose_language(code: str) -> Any:
    """Remember the chosen language in a cookie (it outlives the session) and go back."""
    if code not in LANGUAGES:
        return redirect(url_for("dashboard.index"))
    response = redirect(safe_next(request.args.get("next"), url_for("dashboard.index")))
    response.set_cookie(LANG_COOKIE, code, max_age=LANG_COOKIE_DAYS * 86400, httponly=True,
                        samesite="Lax", secure=bool(current_app.config["SESSION_COOKIE_SECURE"]))
    return response


def limit_login(app: Flask) -> None:
    """Sign-in counters for this app: in Redis when configured, else in the database. Only the
    sign-in view asks: Flask-Limiter, used before, hooked every request of the app (the API
    included), 0.2-0.3 ms of a single-event POST's 1.7-2 ms CPU."""
    svc = app.extensions["engine"]
    app.extensions["login_limits"] = sign_in_limits.build(
        svc.settings.extra.get("login_rate_limit"), svc.settings.redis_url, svc.db)
