"""The jobs port: hand outbox rows to whatever runs jobs. The only module that imports ``rq``.

``InlineJobs`` runs a job at once in this process (the embedded default and tests);
``RqJobs`` enqueues it on Redis for ``flask --app wsgi worker`` processes, with the JSON
serializer, an explicit connection, retries with backoff and ``job_id = ob-<outbox id>`` so that
a re-sent row does not become two queued jobs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

# Queues are named by purpose; an outbox kind decides its queue.
QUEUES = {"apply_events": "events", "deliver": "notifications", "sweep": "periodic"}
RETRY_INTERVALS = [5, 15, 60, 300, 900]
JOB_TIMEOUT = 120
JOB_FUNCTION = "engine.worker.run_outbox_job"
BATCH_FUNCTION = "engine.worker.run_outbox_batch_job"
PARTITION_FUNCTION = "engine.worker.run_partitions_job"
APPLIERS_TTL = 5.0  # seconds the count of live workers is remembered
BATCH = 500  # apply_events rows per job (a relay pass claims up to 500): one job, one transaction
IMPORT_QUEUE = "imports"  # import runs: long jobs, on a queue of their own
IMPORT_FUNCTION = "engine.worker.run_import_job"
IMPORT_TIMEOUT = 6 * 3600  # a run commits page by page; one cut short resumes where it stopped
RULES_QUEUE = "rules"  # an activation's evaluation of its changed rules (#17)
RULES_FUNCTION = "engine.worker.run_rules_job"
RULES_TIMEOUT = 3600


class Jobs(Protocol):
    inline: bool

    def dispatch(self, outbox_id: int, kind: str) -> bool:
        """Hand one outbox row to the job runner; False when it could not be handed over."""

    def dispatch_many(self, rows: list[tuple[int, str]]) -> list[int]:
        """Hand several rows over (grouped where that is cheaper); the ids NOT handed over."""

    def run_import(self, run_id: int) -> bool:
        """Start import run ``run_id`` (engine.imports.service); False when it could not be
        handed over (the run stays queued: start or resume it again)."""

    def run_rules(self, run_id: int) -> bool:
        """Start rule run ``run_id`` (engine.services.rule_runs); False when it could not be
        handed over (the periodic sweep starts it later)."""

    def dispatch_partitions(self, groups: list[tuple[list[int], list[int]]]) -> list[int]:
        """One apply job per group of SKU partitions, each with the ``apply_events`` rows that
        asked for it; the row ids NOT handed over."""

    def appliers(self) -> int:
        """How many workers take apply jobs now (at least 1)."""


class InlineJobs:
    """Runs each job immediately, in-process, after the transaction that wrote its row.

    Import runs and rule runs are long: each runs in a thread of this process (the embedded
    default), so the request that started it answers at once; ``wait_imports`` joins them
    (tests, exit). ``background=False`` runs rule runs at once instead (the tests: an
    activation's alerts are there when the request answers).
    """

    inline = True

    def __init__(self, runner: Callable[[int], Any],
                 import_runner: Callable[[int], Any] | None = None,
                 rules_runner: Callable[[int], Any] | None = None,
                 background: bool = True) -> None:
        self.runner = runner
        self.import_runner = import_runner
        self.rules_runner = rules_runner
        self.background = background
        self._threads: list[threading.Thread] = []

    def run_rules(self, run_id: int) -> bool:
        if self.rules_runner is None:
            return False
        if not self.background:
            self.rules_runner(run_id)
            return True
        thread = threading.Thread(target=self.rules_runner, args=(run_id,),
                                  name=f"rule-run-{run_id}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return True

    def run_import(self, run_id: int) -> bool:
        if self.import_runner is None:
            return False
        thread = threading.Thread(target=self.import_runner, args=(run_id,),
                                  name=f"import-run-{run_id}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return True

    def wait_imports(self, timeout: float | None = None) -> None:
        for thread in list(self._threads):
            thread.join(timeout)

    def dispatch(self, outbox_id: int, kind: str) -> bool:
        self.runner(outbox_id)
        return True

    def dispatch_many(self, rows: list[tuple[int, str]]) -> list[int]:
        for row_id, kind in rows:
            self.dispatch(row_id, kind)
        return []

    def dispatch_partitions(self, groups: list[tuple[list[int], list[int]]]) -> list[int]:
        # In-process there is one applier: each row's job applies every partition.
        for row_id in sorted({r for _, rows in groups for r in rows}):
            self.dispatch(row_id, "apply_events")
        return []

    def appliers(self) -> int:
        return 1


class RqJobs:
    inline = False

    def __init__(self, redis_url: str) -> None:
        from redis import Redis

        self.connection = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
        self._queues: dict[str, Any] = {}
        self._appliers, self._appliers_at = 1, float("-inf")

    def queue(self, name: str) -> Any:
        from rq import Queue
        from rq.serializers import JSONSerializer

        found = self._queues.get(name)
        if found is None:
            found = self._queues[name] = Queue(name, connection=self.connection,
                                               serializer=JSONSerializer, default_timeout=JOB_TIMEOUT)
        return found

    def dispatch(self, outbox_id: int, kind: str) -> bool:
        from redis.exceptions import RedisError
        from rq import Retry

        try:
            self.queue(QUEUES.get(kind, "events")).enqueue(
                JOB_FUNCTION, outbox_id, job_id=f"ob-{outbox_id}",
                retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                result_ttl=300, failure_ttl=7 * 86400)
            return True
        except RedisError as exc:
            log.warning("could not enqueue outbox row %s: %s (the relay will retry)", outbox_id, exc)
            return False

    def dispatch_many(self, rows: list[tuple[int, str]]) -> list[int]:
        from redis.exceptions import RedisError
        from rq import Retry

        applies = [r for r, kind in rows if kind == "apply_events"]
        failed: list[int] = []
        for i in range(0, len(applies), BATCH):
            chunk = applies[i:i + BATCH]
            try:
                self.queue(QUEUES["apply_events"]).enqueue(
                    BATCH_FUNCTION, chunk, job_id=f"obb-{chunk[0]}-{chunk[-1]}-{len(chunk)}",
                    retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                    result_ttl=300, failure_ttl=7 * 86400)
            except RedisError as exc:
                log.warning("could not enqueue outbox rows %s…: %s (the relay will retry)", chunk[0], exc)
                failed.extend(chunk)
        failed.extend(r for r, kind in rows if kind != "apply_events" and not self.dispatch(r, kind))
        return failed

    def run_import(self, run_id: int) -> bool:
        from redis.exceptions import RedisError

        try:
            self.queue(IMPORT_QUEUE).enqueue(
                IMPORT_FUNCTION, run_id, job_id=f"import-{run_id}", job_timeout=IMPORT_TIMEOUT,
                result_ttl=300, failure_ttl=7 * 86400)
            return True
        except RedisError as exc:
            log.warning("could not enqueue import run %s: %s", run_id, exc)
            return False

    def run_rules(self, run_id: int) -> bool:
        from redis.exceptions import RedisError

        try:
            self.queue(RULES_QUEUE).enqueue(
                RULES_FUNCTION, run_id, job_id=f"rules-{run_id}", job_timeout=RULES_TIMEOUT,
                result_ttl=300, failure_ttl=7 * 86400)
            return True
        except RedisError as exc:
            log.warning("could not enqueue rule run %s: %s", run_id, exc)
            return False

    def dispatch_partitions(self, groups: list[tuple[list[int], list[int]]]) -> list[int]:
        from redis.exceptions import RedisError
        from rq import Retry

        failed: list[int] = []
        for partitions, rows in groups:
            chunk = rows[:BATCH]  # the job applies whatever waits there; rows are for bookkeeping
            try:
                self.queue(QUEUES["apply_events"]).enqueue(
                    PARTITION_FUNCTION, partitions, chunk,
                    job_id=f"ap-{partitions[0]}-{len(partitions)}-{chunk[0]}-{chunk[-1]}-{len(rows)}",
                    retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                    result_ttl=300, failure_ttl=7 * 86400)
            except RedisError as exc:
                log.warning("could not enqueue partitions %s of outbox rows %s…: %s (the relay "
                            "will retry)", partitions, rows[0], exc)
                failed.extend(rows)
        return failed

    def appliers(self) -> int:
        import time

        from redis.exceptions import RedisError
        from rq import Worker

        now = time.monotonic()
        if now - self._appliers_at > APPLIERS_TTL:
            try:
                self._appliers = max(1, Worker.count(connection=self.connection,
                                                     queue=self.queue(QUEUES["apply_events"])))
            except RedisError:
                self._appliers = max(1, self._appliers)
            self._appliers_at = now
        return self._appliers

    def depths(self) -> dict[str, int]:
        return {name: len(self.queue(name))
                for name in sorted({*QUEUES.values(), IMPORT_QUEUE, RULES_QUEUE})}

    def check_safe(self) -> list[str]:
        """Problems that make this Redis unsafe for jobs (RELIABILITY D6); empty when fine."""
        problems = []
        policy = self.connection.config_get("maxmemory-policy").get("maxmemory-policy")
        if policy != "noeviction":
            problems.append(f"Redis maxmemory-policy is {policy!r}: it may delete queued jobs; "
                            "set it to 'noeviction'")
        return problems
