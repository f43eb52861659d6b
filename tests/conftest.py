"""Shared fixtures: a migrated database per test (SQLite always, PostgreSQL when configured).

``TEST_DATABASE_URL`` (set by .ci/run) adds a PostgreSQL variant to every test that uses
``db_url``; the schema is migrated once per session and emptied between tests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import text

from engine.clock import FixedClock
from engine.config import Settings
from engine.storage.database import make_engine, upgrade
from engine.storage.tables import metadata

PG_URL = os.environ.get("TEST_DATABASE_URL")

# In CI, property tests draw the same examples every run: a submission never fails by chance.
settings_profile = "ci" if os.environ.get("CI") else "dev"
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
hypothesis_settings.register_profile("dev", deadline=None)
hypothesis_settings.load_profile(settings_profile)
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    assert PG_URL
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(PG_URL)
    return PG_URL


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        conn.execute(text("INSERT INTO ruleset_state (id, revision, catalog_revision) VALUES (1, 0, 0)"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_migrated")
        _empty_postgres(url)
        yield url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 20, 8, 0, tzinfo=UTC))


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, instance_path=tmp_path / "instance", secret_key="test-secret",
                    testing=True, secure_cookies=False)


@pytest.fixture
def app(settings: Settings, clock: FixedClock):  # type: ignore[no-untyped-def]
    from admin import create_app

    app = create_app(settings, clock)
    yield app
    app.extensions["engine"].close()


@pytest.fixture
def services(app):  # type: ignore[no-untyped-def]
    return app.extensions["engine"]


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


def _token(runner, name: str, admin: bool) -> str:  # type: ignore[no-untyped-def]
    args = ["users", "create", name, "--password", f"{name}-password-1"] + (["--admin"] if admin else [])
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["tokens", "create", name])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def admin_headers(runner) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {_token(runner, 'root', True)}"}


@pytest.fixture
def user_headers(runner) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {_token(runner, 'alice', False)}"}
