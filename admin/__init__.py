"""The web layer: the Flask app factory wiring the API, pages, errors and CLI to the engine."""

from __future__ import annotations

from flask import Flask

from engine.bootstrap import bootstrap
from engine.clock import Clock
from engine.config import Settings


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Flask:
    """Build the app from ``settings`` (default: the environment), the way flaskr does."""
    settings = (settings or Settings.from_env()).with_secret()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        TESTING=settings.testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["engine"] = bootstrap(settings, clock)

    from admin import api, cli, errors, web

    api.init_app(app)
    errors.init_app(app)  # after the API, so our JSON error shapes win
    web.init_app(app)  # the pages: CSRF, sign-in, locale, security headers
    cli.init_app(app)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
