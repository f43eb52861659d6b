"""A forked child must not keep its parent's database sockets (RELIABILITY: a crashed worker).

The worker's RQ scheduler is a forked child. If it kept a copy of a pooled socket, a worker
SIGKILLed in the middle of an apply transaction would leave PostgreSQL waiting on that
socket: the transaction, its row locks and the applier's advisory lock would stay until the
child exits, and every other worker would wait behind them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import text

from engine.storage.database import make_engine

PG_URL = os.environ.get("TEST_DATABASE_URL")
LOCK = 73_001

PARENT = """
import os, sys, time
from engine.storage.database import drop_inherited_sockets, make_engine
engine = make_engine(sys.argv[1])
if sys.argv[2] == "drop":
    os.register_at_fork(after_in_child=lambda: drop_inherited_sockets(engine))
else:  # what the worker did before: forget the pool, keep the sockets
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
conn = engine.connect()
conn.begin()
conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)" % sys.argv[3])
child = os.fork()
if child == 0:  # a long-lived child, like RQ's scheduler
    time.sleep(60)
    os._exit(0)
print(child, flush=True)
time.sleep(60)  # mid-transaction: the test kills this process here
"""


def _lock_free_within(seconds: float) -> bool:
    engine = make_engine(PG_URL)  # type: ignore[arg-type]
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK}).scalar():
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK})
                    return True
            time.sleep(0.2)
        return False
    finally:
        engine.dispose()


def _parent_killed_mid_transaction(mode: str) -> bool:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, PG_URL, mode, str(LOCK)],
                              stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())  # type: ignore[union-attr]
    try:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        return _lock_free_within(3.0)
    finally:
        os.kill(child, signal.SIGKILL)


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_a_killed_parents_transaction_ends_although_its_forked_child_lives() -> None:
    # the hazard is real: a child that only forgets the pool keeps the lock held
    assert not _parent_killed_mid_transaction("forget")
    assert _lock_free_within(5.0)  # (the child is gone now: the lock went with it)
    # with the worker's at-fork hook the server sees the parent's end at once
    assert _parent_killed_mid_transaction("drop")
