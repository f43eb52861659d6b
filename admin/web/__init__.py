"""The web pages (SPEC §6 Web): sign-in, dashboard, task inbox, requisitions, ruleset versions,
rejected events.

Server-rendered, Chinese and English, a little JavaScript from static files. ``init_app`` wires
the protections every page relies on (RELIABILITY §1.3): CSRF on every form post outside the
Bearer-token API, hardened session cookies, a rate limit on sign-in, security headers.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Request, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_wtf.csrf import CSRFProtect

API_PREFIX = "/api/"
SESSION_HOURS = 12


def init_app(app: Flask) -> None:
    from admin.web import (
        approvals,
        audit_log,
        auth_views,
        backtest,
        catalog_edit,
        catalog_pages,
        contacts,
        dashboard,
        i18n,
        import_labels,
        import_messages,
        import_pages,
        import_sources,
        inbox,
        noise,
        pages,
        purchase_orders,
        rejected,
        reports,
        requisition_view,
        rule_runs,
        rules,
        task_actions,
        task_view,
        transfers,
        versions,
    )

    _configure(app)
    csrf = CSRFProtect(app)

    @app.before_request
    def _protect_forms() -> None:
        # The API authenticates with Bearer tokens, never cookies: a forged cross-site request
        # carries no token, so only the cookie-authenticated pages need the CSRF check.
        if request.method in app.config["WTF_CSRF_METHODS"] and not request.path.startswith(
            API_PREFIX
        ):
            if request.endpoint in import_pages.UPLOAD_ENDPOINTS:  # a file to import
                request.max_content_length = app.extensions["engine"].settings.max_upload_bytes
            csrf.protect()

    i18n.init_app(app)
    # One blueprint per area, each made by pages.web_blueprint (HTML error pages).
    for module in (auth_views, dashboard, inbox, task_actions, approvals, purchase_orders,
                   contacts, reports, versions, rejected, rules, audit_log, backtest,
                   import_pages, import_sources, catalog_pages, rule_runs, transfers, noise):
        app.register_blueprint(module.bp)
    assert catalog_edit.new  # its routes are on the master data blueprint (per_kind)
    app.jinja_env.globals.update(import_labels.jinja_globals())
    import_messages.init_app(app)  # the import engine's messages in the viewer's language
    auth_views.limit_login(app)  # failed sign-ins only; nothing else pays for it
    pages.init_app(app)
    task_view.init_app(app)
    requisition_view.init_app(app)
    transfers.init_app(app)


class PagesOnlySessions(SecureCookieSessionInterface):
    """The session cookie belongs to the pages: a Bearer-token API request never reads or writes
    it, so it gets the null session instead of a freshly built signing serializer and a cookie
    check (a few per cent of a single-event POST's CPU)."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        if request.path.startswith(API_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)


def _configure(app: Flask) -> None:
    app.session_interface = PagesOnlySessions()
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    app.config.update(
        # __Host- binds the cookie to this host and path / and demands Secure (ASVS 3.3.1).
        SESSION_COOKIE_NAME="__Host-stockwarn" if secure else "stockwarn",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in _protect_forms, by path
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,  # a page left open stays usable all day
    )
