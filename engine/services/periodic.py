"""Periodic work without Redis: the embedded default runs it in the web process itself.

With Redis, ``flask worker`` runs the relay and the sweeps (``runner.Relay``). Without it there
is no worker, yet escalations, the ABC recompute and notification retries must still happen:
each web process runs this loop, and the one holding the database lease ``periodic`` does the
work, so it runs once per database however many processes serve it (SPEC §7, #17).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import timedelta

from engine.services import leases
from engine.services.runner import Services, relay_once, sweep_once

log = logging.getLogger(__name__)

LEASE = "periodic"
INTERVAL = 30.0  # seconds between passes
LEASE_TTL = timedelta(seconds=90)  # a dead holder is replaced after this long


def run_once(svc: Services, holder: str) -> dict[str, int] | None:
    """One pass if this process holds the lease: relay due outbox rows (retries), then the
    sweeps. None when another process holds it."""
    with svc.uow() as uow:
        held = leases.acquire(uow.conn, LEASE, holder, svc.clock.now(), LEASE_TTL)
        uow.commit()
    if not held:
        return None
    relayed = relay_once(svc)
    escalated = sweep_once(svc)
    return {"relayed": relayed, "escalated": escalated}


class PeriodicWork(threading.Thread):
    """The loop: a pass at once, then every ``interval`` seconds, until ``stopping`` is set."""

    def __init__(self, svc: Services, interval: float = INTERVAL) -> None:
        super().__init__(name="periodic-work", daemon=True)
        self.svc, self.interval = svc, interval
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                done = run_once(self.svc, self.holder)
                if done and done["escalated"]:
                    log.info("periodic work: %(escalated)s escalation(s), %(relayed)s retried", done)
            except Exception:
                log.exception("periodic pass failed; retrying in %s s", self.interval)
            self.stopping.wait(self.interval)
        try:
            with self.svc.uow() as uow:
                leases.release(uow.conn, LEASE, self.holder)
                uow.commit()
        except Exception:  # the lease expires by itself
            pass


_started: dict[int, PeriodicWork] = {}
_lock = threading.Lock()


def start_in_process(svc: Services) -> PeriodicWork:
    """Start this process's loop once (a forked process starts its own)."""
    with _lock:
        found = _started.get(os.getpid())
        if found is None or not found.is_alive():
            found = _started[os.getpid()] = PeriodicWork(svc)
            found.start()
        return found
