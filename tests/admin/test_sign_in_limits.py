"""Sign-in limits (issue #13): counted before the password, shared by every process, per address
and per account, and never a lock on the owner's own browser.

The concurrency and cross-process tests run the app behind real HTTP servers (a threaded
werkzeug server in this process; ``flask run`` in another) on the test's database, and on
Redis when TEST_REDIS_URL is set.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from admin import create_app
from engine.storage.tables import rate_counters
from tests.admin.web_seed import login, post_form
from tests.runtime.conftest import private_redis, redis_url  # noqa: F401 - fixtures

REPO = Path(__file__).resolve().parents[2]
LIMIT = 10  # the default: 10 per minute


def make_app(settings: Any, clock: Any, **changes: Any) -> Any:
    app = create_app(replace(settings, **changes), clock)
    runner = app.test_cli_runner()
    for name in ("alice", "bob"):
        result = runner.invoke(args=["users", "create", name, "--password", f"{name}-password-1"])
        assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def limited(settings, clock):  # type: ignore[no-untyped-def]
    app = make_app(settings, clock, extra={"login_rate_limit": "3 per minute"})
    yield app
    app.extensions["engine"].close()


def browser(app: Any, address: str = "127.0.0.1") -> Any:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_failed_sign_ins_are_limited_per_address_and_per_account(limited) -> None:
    client = browser(limited)
    for _ in range(5):  # good sign-ins do not count
        assert login(client, "alice").status_code == 303
        post_form(client, "/", "/logout")
    stranger = browser(limited, "10.0.0.9")
    statuses = [login(stranger, "alice", "wrong-password").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    # The address is spent: another account, right password, same address, new browser.
    assert login(browser(limited, "10.0.0.9"), "bob").status_code == 429
    # The account is spent for browsers it does not know, from any address.
    assert login(browser(limited, "10.0.0.3"), "alice").status_code == 429
    assert login(browser(limited, "10.0.0.3"), "bob").status_code == 303


def test_guesses_over_many_accounts_spend_the_address(limited) -> None:
    stranger = browser(limited, "10.0.0.9")
    for name in ("carol", "dave", "erin"):  # unknown users: the same answer, the same count
        assert login(stranger, name, "wrong-password").status_code == 401
    assert login(stranger, "bob").status_code == 429
    assert login(browser(limited, "10.0.0.4"), "bob").status_code == 303


def test_the_owner_signs_in_from_a_known_browser_while_a_stranger_hammers_the_account(
        limited) -> None:
    owner = browser(limited, "10.0.0.1")
    assert login(owner, "alice").status_code == 303  # this browser becomes a known device
    post_form(owner, "/", "/logout")
    stranger = browser(limited, "10.0.0.1")  # even behind the same NAT
    assert login(stranger, "bob").status_code == 303  # the stranger's own device: bob's
    post_form(stranger, "/", "/logout")
    statuses = [login(stranger, "alice", "wrong-password").status_code for _ in range(6)]
    assert statuses == [401, 401, 401, 429, 429, 429]  # bob's device cookie does not help
    assert login(browser(limited, "10.0.0.5"), "alice").status_code == 429  # a new browser
    answer = login(owner, "alice")  # the owner's browser, the right password
    assert answer.status_code == 303
    assert owner.get("/tasks").status_code == 200


def test_a_known_device_has_a_limit_of_its_own_and_a_forged_one_is_no_device(limited) -> None:
    owner = browser(limited)
    assert login(owner, "alice").status_code == 303
    post_form(owner, "/", "/logout")
    # A copied device cookie is bounded too: its own counter, the same limit.
    statuses = [login(owner, "alice", "wrong-password").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert login(owner, "alice").status_code == 429
    assert login(browser(limited, "10.0.0.8"), "alice").status_code == 303  # account unspent
    forged = browser(limited, "10.0.0.7")
    forged.set_cookie("stockwarn-device", "eyJ1IjoiYWxpY2UiLCJkIjoieCJ9.forged.signature")
    statuses = [login(forged, "alice", "wrong-password").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert login(forged, "alice").status_code == 429  # no exemption: the account is spent now


# --- real servers ------------------------------------------------------------------------------


class Session:
    """A browser over real HTTP: the session cookie and the login form's CSRF token."""

    def __init__(self, port: int) -> None:
        self.port = port
        status, headers, body = self.request("GET", "/login")
        assert status == 200
        self.cookie = "; ".join(c.split(";", 1)[0] for c in headers.get_all("Set-Cookie") or [])
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body)
        assert found, body[:500]
        self.token = found.group(1)

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            answer = conn.getresponse()
            return answer.status, answer.headers, answer.read().decode()
        finally:
            conn.close()

    def sign_in(self, username: str, password: str) -> int:
        body = urlencode({"username": username, "password": password, "csrf_token": self.token})
        status, _, _ = self.request("POST", "/login", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie})
        return status


def serve(app: Any) -> tuple[Any, int]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_port


def test_sixty_guesses_sent_at_once_get_at_most_ten_answers(settings, clock) -> None:
    app = make_app(settings, clock)
    server, port = serve(app)
    try:
        browser_ = Session(port)
        start = threading.Barrier(60)
        statuses: list[int] = []

        def guess() -> None:
            start.wait()
            statuses.append(browser_.sign_in("alice", "wrong-password"))

        threads = [threading.Thread(target=guess) for _ in range(60)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Each attempt counts on its address and its account, one after the other: two
        # attempts can each find the other's increment on one of them, so at most LIMIT (not
        # exactly) are answered, and every other one is refused without a hash.
        answered = Counter(statuses)
        assert set(answered) <= {401, 429} and sum(answered.values()) == 60
        assert 1 <= answered[401] <= LIMIT
        assert Session(port).sign_in("alice", "alice-password-1") == 429  # a new browser
    finally:
        server.shutdown()
        app.extensions["engine"].close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _other_process(settings: Any, tmp_path: Path, redis_url: str | None) -> tuple[Any, int]:
    """The same app in another process, as a second gunicorn worker would be."""
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=settings.database_url, SECRET_KEY=settings.secret_key,
               STOCKWARN_INSTANCE=str(tmp_path / "other"), STOCKWARN_INSECURE_COOKIES="1")
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    log = open(tmp_path / "other.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port",
                             str(port), "--no-reload", "--no-debugger"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise AssertionError((tmp_path / "other.log").read_text())


def _shared_between_processes(settings: Any, clock: Any, tmp_path: Path,
                              redis_url: str | None) -> Any:
    app = make_app(settings, clock, redis_url=redis_url)
    proc, port = _other_process(settings, tmp_path, redis_url)
    try:
        here, there = browser(app), Session(port)
        statuses = []
        for i in range(LIMIT):  # alternately in this process and in the other
            statuses.append(login(here, "alice", "wrong-password").status_code if i % 2
                            else there.sign_in("alice", "wrong-password"))
        assert statuses == [401] * LIMIT
        assert there.sign_in("alice", "wrong-password") == 429
        assert login(here, "alice", "wrong-password").status_code == 429
    finally:
        proc.kill()
        proc.wait()
    return app


def test_the_counts_are_shared_between_processes_through_the_database(
        settings, clock, tmp_path) -> None:
    app = _shared_between_processes(settings, clock, tmp_path, None)
    with app.extensions["engine"].db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(rate_counters)).scalar_one() == 2
    app.extensions["engine"].close()


@pytest.mark.redis
def test_the_counts_are_shared_between_processes_through_redis(
        settings, clock, tmp_path, redis_url) -> None:
    from redis import Redis

    app = _shared_between_processes(settings, clock, tmp_path, redis_url)
    assert len(Redis.from_url(redis_url).keys("LIMITS*")) == 2  # address and account
    with app.extensions["engine"].db.connect() as conn:  # nothing counted in the database
        assert conn.execute(select(func.count()).select_from(rate_counters)).scalar_one() == 0
    app.extensions["engine"].close()


def test_while_redis_is_down_the_database_counts(settings, clock, private_redis) -> None:
    app = make_app(settings, clock, redis_url=private_redis.url,
                   extra={"login_rate_limit": "3 per minute"})
    private_redis.stop()
    client = browser(app)
    statuses = [login(client, "alice", "wrong-password").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert login(browser(app, "10.0.0.2"), "bob").status_code == 303  # sign-in still works
    app.extensions["engine"].close()
