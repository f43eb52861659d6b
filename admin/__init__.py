"""The web layer: the Flask app factory wiring the API, pages, errors and CLI to the engine."""

from __future__ import annotations

import sys

from flask import Flask

from engine.bootstrap import Services, UnsafeConfiguration, bootstrap
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
    try:
        svc = bootstrap(settings, clock)
        _refuse_unsafe_redis(svc)
    except UnsafeConfiguration as exc:
        sys.stderr.write(f"stockwarn: {exc}\n")
        raise SystemExit(1) from None
    app.extensions["engine"] = svc

    from admin import api, cli, errors, health, web

    api.init_app(app)
    errors.init_app(app)  # after the API, so our JSON error shapes win
    web.init_app(app)  # the pages: CSRF, sign-in, locale, security headers
    cli.init_app(app)

    app.register_blueprint(health.blp)
    _run_periodic_work_in_process(app, svc)
    return app


def _run_periodic_work_in_process(app: Flask, svc: Services) -> None:
    """Without Redis there is no worker: the first request a process serves starts its periodic
    loop (escalations, ABC, retries; one process per database at a time, by a lease). Not at
    import or for CLI commands (``db upgrade`` must not sweep), and not in tests (they call
    ``periodic.run_once`` with their own clock)."""
    if not svc.jobs.inline or not svc.settings.periodic_work or svc.settings.testing:
        return
    from engine.services.periodic import start_in_process

    @app.before_request
    def _start_periodic_work() -> None:
        start_in_process(svc)


def _refuse_unsafe_redis(svc: Services) -> None:
    """With Redis configured and answering, refuse an eviction policy that can drop jobs."""
    from engine.jobs import RqJobs

    if isinstance(svc.jobs, RqJobs):
        try:
            problems = svc.jobs.check_safe()
        except Exception:  # Redis down at start: ingest still works through the outbox
            return
        if problems:
            raise UnsafeConfiguration(f"refusing to start: {problems[0]}")
