"""Job entry points, enqueued by dotted path; they take ids only and build what they need.

One ``Services`` per worker process, built from the environment on first use, so the caches
(master data, compiled rulesets) live as long as the worker.
"""

from __future__ import annotations

import os
import threading

from engine.bootstrap import Services, bootstrap
from engine.config import Settings
from engine.services.runner import run_outbox, run_outbox_batch, run_partitions

_lock = threading.Lock()
_services: tuple[int, Services] | None = None


def current_services() -> Services:
    global _services
    with _lock:
        if _services is None or _services[0] != os.getpid():
            _services = (os.getpid(), bootstrap(Settings.from_env()))
        return _services[1]


def use_services(svc: Services) -> None:
    """Make this process's jobs use ``svc`` (the worker command builds it once)."""
    global _services
    with _lock:
        _services = (os.getpid(), svc)


def run_outbox_job(outbox_id: int) -> str:
    """The one job: run outbox row ``outbox_id`` (idempotent: the row says if it already ran)."""
    return run_outbox(current_services(), outbox_id)


def run_outbox_batch_job(outbox_ids: list[int]) -> str:
    """Apply several recorded batches of events in one transaction (see run_outbox_batch)."""
    return run_outbox_batch(current_services(), [int(i) for i in outbox_ids])


def run_import_job(run_id: int) -> str:
    """Run (or resume) import run ``run_id``: page by page, each page its own commit."""
    run = current_services().imports.run(int(run_id))
    return f"import run {run_id}: {run['state']}"


def run_rules_job(run_id: int) -> str:
    """Evaluate the rules an activation changed over the current stock (#17)."""
    from engine.services import rule_runs

    run = rule_runs.run(current_services(), int(run_id))
    return f"rule run {run_id}: {run['state']}"


def run_partitions_job(partitions: list[int], outbox_ids: list[int]) -> str:
    """Apply the waiting events of a group of SKU partitions (see run_partitions)."""
    return run_partitions(current_services(), [int(p) for p in partitions],
                          [int(i) for i in outbox_ids])
