"""Runtime fixtures: the app on the real Redis (TEST_REDIS_URL) and a private Redis server that
fault tests may stop and start; reports printed at the end of the run."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REDIS_URL = os.environ.get("TEST_REDIS_URL")
from tests.runtime.report import REPORT


@pytest.fixture
def redis_url() -> Iterator[str]:
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set (CI sets it)")
    from redis import Redis

    conn = Redis.from_url(REDIS_URL)
    conn.flushdb()
    yield REDIS_URL
    conn.flushdb()


@pytest.fixture
def rq_app(settings, clock, redis_url):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from admin import create_app

    app = create_app(replace(settings, redis_url=redis_url), clock)
    yield app
    app.extensions["engine"].close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of the test's own (persistence off), to stop and start at will."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if REPORT:
        terminalreporter.section("runtime and fault test counts")
        for line in REPORT:
            terminalreporter.write_line(line)


def _admin_headers(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    runner.invoke(args=["users", "create", "root", "--admin", "--password", "root-password-1"])
    token = runner.invoke(args=["tokens", "create", "root"]).output.strip().splitlines()[-1]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_headers_rq(rq_app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return _admin_headers(rq_app)


@pytest.fixture
def admin_token_factory():  # type: ignore[no-untyped-def]
    return _admin_headers
