"""Browser tests: the real app on a live server, driven by the system's Chromium via Playwright.

One server for the whole run (SQLite in a temp folder, or the test PostgreSQL when
``TEST_DATABASE_URL`` is set), seeded the public way: users by the CLI, master data, ruleset
and stock events through the REST API over HTTP. Cookies stay ``Secure`` (the default
setting): Chromium treats http://127.0.0.1 as a secure origin and keeps them, so the tests see
the cookies production sends. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from engine.config import Settings
from engine.storage.database import make_engine, upgrade
from engine.storage.tables import metadata
from tests.admin import web_seed
from tests.admin.browser.browser_support import CHROMIUM, CHROMIUM_ARGS, LiveServer


def _database(tmp: Path, request: pytest.FixtureRequest) -> str:
    pg = os.environ.get("TEST_DATABASE_URL")
    if not pg:
        url = f"sqlite:///{tmp / 'browser.db'}"
        upgrade(url)
        return url
    url: str = request.getfixturevalue("postgres_migrated")
    engine = make_engine(url)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO ruleset_state (id, revision, catalog_revision) "
                          "VALUES (1, 0, 0)"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory,
                request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    if CHROMIUM is None:
        pytest.skip("no Chromium binary on PATH or at /usr/bin/chromium (CI installs it)")
    from werkzeug.serving import make_server

    from admin import create_app

    tmp = tmp_path_factory.mktemp("live")
    settings = Settings(database_url=_database(tmp, request), instance_path=tmp / "instance",
                        secret_key="browser-test-secret",  # secure_cookies stays True
                        periodic_work=False)  # no sweeps behind the tests' backs
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    runner = app.test_cli_runner()

    def invoke(args: list[str]) -> str:
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        return str(result.output)

    live = LiveServer(f"http://127.0.0.1:{server.server_port}", app,
                      web_seed.create_users(invoke))
    web_seed.seed(live.api, datetime.now(UTC))
    yield live
    server.shutdown()
    thread.join(timeout=10)
    app.extensions["engine"].close()


@pytest.fixture(scope="session")
def browser(live_server: LiveServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def new_page(browser: Any, live_server: LiveServer) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh browser context (own cookies), in Chinese unless told."""
    contexts = []

    def open_page(locale: str = "zh-CN") -> Any:
        context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900},
                                      base_url=live_server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        return page

    yield open_page
    for context in contexts:
        context.close()
