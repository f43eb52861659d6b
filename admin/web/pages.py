"""What every page shares: blueprints with HTML error pages, security headers, template helpers.

The REST API keeps its JSON errors (admin/errors.py); here pages answer with a readable page in
the viewer's language. Error handlers are attached to each page blueprint, plus an app-wide one
for 404/405 that serves a page outside /api/ and the API's JSON shape inside it.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, jsonify, render_template, request
from flask_babel import format_datetime, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from admin.web.session import current_roles, current_user, role_names
from engine.errors import NotFound, PermissionDenied

# No inline script or style anywhere: JavaScript and CSS are static files (RELIABILITY row 39).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def web_blueprint(name: str, import_name: str, **options: Any) -> Blueprint:
    """A blueprint for pages: engine and HTTP errors inside it become HTML error pages."""
    bp = Blueprint(name, import_name, **options)
    bp.register_error_handler(CSRFError, _csrf_error)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(NotFound, lambda exc: error_page(404))
    bp.register_error_handler(PermissionDenied, lambda exc: error_page(403))
    return bp


TITLES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    403: (_l("Not allowed"), _l("You do not have the right to see or do this.")),
    404: (_l("Not found"),
          _l("There is nothing here. It may have been removed, or the address is wrong.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    429: (_l("Too many attempts"), _l("Too many attempts. Wait a minute, then try again.")),
}


def error_page(code: int, message: str | None = None) -> tuple[str, int]:
    title, text = TITLES.get(code, (_l("Error"), _l("Something went wrong.")))
    return render_template("errors/error.html", code=code, title=str(title),
                           message=message or str(text)), code


def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    return error_page(400, _("CSRF token missing or expired — reload the page and try again."))


def _http_error(exc: HTTPException) -> Any:
    if exc.code is None or exc.code < 400 or exc.code >= 500:
        return exc
    if exc.code == 400:
        return error_page(400, exc.description if exc.description != type(exc).description
                          else None)
    return error_page(exc.code)


def _site_http_error(exc: HTTPException) -> Any:
    # The API's own JSON shape (admin/errors.py) outside the pages.
    if request.path.startswith("/api/"):
        response = jsonify(message=exc.description)
        response.status_code = exc.code or 500
        return response
    return error_page(exc.code or 500)


def _security_headers(response: Any) -> Any:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")  # pages show private data
    return response


def number(value: Any, digits: int = 2) -> str:
    """A quantity for people: grouped, at most ``digits`` decimals, '—' when unknown."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return str(format_decimal(round(value, digits), format="#,##0." + "#" * digits))


def money(value: Any) -> str:
    """An amount: grouped, always two decimals, '—' when unknown (no unit price)."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return str(format_decimal(value, format="#,##0.00"))


def when(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    return str(format_datetime(value, fmt)) if value is not None else "—"


def init_app(app: Flask) -> None:
    app.register_error_handler(404, _site_http_error)
    app.register_error_handler(405, _site_http_error)
    app.after_request(_security_headers)
    app.jinja_env.filters.update(number=number, money=money, when=when)

    @app.context_processor
    def _viewer() -> dict[str, Any]:
        return {"current_user": current_user, "current_roles": current_roles,
                "role_names": role_names, "rule_label": rule_label}


def rule_label(rule_id: str | None) -> str:
    """A rule's name in the active ruleset, or its id when it is gone."""
    from admin.web.session import active_ruleset

    active = active_ruleset()
    rule = active.compiled.rule(rule_id) if active and rule_id else None
    return (rule.name or rule.id) if rule else (rule_id or "—")
