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
from engine.storage.database import drop_sockets_in_forked_children, make_engine
engine = make_engine(sys.argv[1])
if sys.argv[2] == "drop":
    drop_sockets_in_forked_children(engine)
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


RACE = """
import os, socket, sys, threading
from engine.storage.database import drop_inherited_sockets, drop_sockets_in_forked_children, make_engine
engine = make_engine(sys.argv[1])
if sys.argv[2] == "drop":
    drop_sockets_in_forked_children(engine)
else:  # the hook without the guard: a fork may land while another thread is connecting
    os.register_at_fork(after_in_child=lambda: drop_inherited_sockets(engine))
port = int(sys.argv[3])
stop = threading.Event()

def connect_again_and_again():  # like the outbox relay opening its first connection
    while not stop.is_set():
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        engine.dispose()

def server_sockets():
    found = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            s = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            found += s.getpeername()[1] == port
        except (OSError, TypeError, IndexError):
            pass
        finally:
            s.close()
    return found

thread = threading.Thread(target=connect_again_and_again)
thread.start()
leaked = 0
for _ in range(int(sys.argv[4])):
    child = os.fork()
    if child == 0:
        os._exit(min(server_sockets(), 1))
    leaked += os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
stop.set()
thread.join()
print(leaked)
"""


def _children_holding_server_sockets(mode: str, forks: int) -> int:
    from sqlalchemy.engine import make_url

    port = make_url(PG_URL).port or 5432  # type: ignore[arg-type]
    out = subprocess.run([sys.executable, "-c", RACE, PG_URL, mode, str(port), str(forks)],  # type: ignore[list-item]
                         capture_output=True, text=True, timeout=120, check=True)
    return int(out.stdout)


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (TEST_DATABASE_URL)")
def test_a_child_forked_while_another_thread_connects_keeps_no_socket() -> None:
    """RQ forks its scheduler while the worker's relay thread may be opening its first
    connection; the fork waits for that connection to be remembered, so the child drops it too."""
    assert _children_holding_server_sockets("unguarded", 200) > 0  # the hazard is real
    assert _children_holding_server_sockets("drop", 200) == 0


def test_asking_again_for_another_engine_registers_no_second_fork_hook() -> None:
    """Two ``before`` hooks on the same lock would deadlock every fork: ask twice, with the
    first engine gone, and a fork must still complete."""
    code = """
import gc, os, sys
from engine.storage.database import drop_sockets_in_forked_children, make_engine
first = make_engine(sys.argv[1])
drop_sockets_in_forked_children(first)
del first
gc.collect()
drop_sockets_in_forked_children(make_engine(sys.argv[1]))
child = os.fork()
if child == 0:
    os._exit(0)
os.waitpid(child, 0)
print("forked")
"""
    out = subprocess.run([sys.executable, "-c", code, "sqlite:///:memory:"], capture_output=True,
                         text=True, timeout=20)
    assert out.stdout.strip() == "forked", out.stderr
