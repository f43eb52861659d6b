"""A worker's forked children end when the worker dies, even by SIGKILL (issue #13).

Before, a SIGKILLed worker left RQ's scheduler running: it kept refreshing the scheduler lock
and held its Redis connections, so no other worker's scheduler could take over. Processes are
looked up in /proc (Linux); one that is dead but not yet reaped (state Z: its new parent, the
container's first process, may never reap it) counts as gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GENEROUS = 30.0  # seconds: RQ's scheduler stops within its 1 s interval of the signal

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

PARENT = """
import os, sys, time
from engine.forked_children import end_with_parent
if sys.argv[1] == "end":
    end_with_parent()
child = os.fork()
if child == 0:
    time.sleep(120)
    os._exit(0)
print(child, flush=True)
time.sleep(120)
"""


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def within(seconds: float, check) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def _child_outlives_killed_parent(mode: str) -> bool:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, mode], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())  # type: ignore[union-attr]
    try:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        return not within(GENEROUS if mode == "end" else 2.0, lambda: not alive(child))
    finally:
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_a_forked_child_ends_with_its_sigkilled_parent() -> None:
    assert _child_outlives_killed_parent("keep")  # the hazard is real without the hook
    assert not _child_outlives_killed_parent("end")


def test_a_sigkilled_workers_scheduler_ends_and_releases_its_lock(
        settings, private_redis, tmp_path) -> None:
    from redis import Redis

    redis = Redis.from_url(private_redis.url)
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=private_redis.url,
               STOCKWARN_INSTANCE=str(tmp_path / "worker-instance"), SECRET_KEY="test")
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                                  cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    schedulers: list[int] = []
    try:
        def started() -> bool:
            schedulers[:] = children(worker.pid)
            return bool(schedulers) and bool(redis.keys("rq:scheduler-lock:*"))

        assert within(60, started), log.read_text()
        assert all(alive(pid) for pid in schedulers)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        assert within(GENEROUS, lambda: not any(alive(pid) for pid in schedulers)), \
            f"the scheduler outlived the worker: {schedulers}\n{log.read_text()}"
        assert within(GENEROUS, lambda: not redis.keys("rq:scheduler-lock:*")), \
            f"the scheduler lock stayed: {redis.keys('rq:scheduler-lock:*')}"
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        for pid in schedulers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
