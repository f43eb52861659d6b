"""Scale-out benchmark (issue #14): the apply step on PostgreSQL and Redis with 1, 2 and 4
workers, the same workload, in one run.

For each worker count: a backlog of events recorded as the API records them (the handler,
queued: events plus their ``apply_events`` outbox rows) while the workers are stopped, then
applied — events/s from their restart to the last event applied; then a steady stream with a task-raising
event every 10th batch — p50/p99 event→task (the task's ``created_at`` minus the send time).
It prints the figures, the ratios to one worker, and where the time went: CPU of the workers
and of PostgreSQL's backends, and how often a worker's backend waited for a lock. Nothing
asserts; it exits 0.

    .venv/bin/python bench/scale.py [--database-url URL] [--events 40000] [--seconds 10]

It creates (and drops) the database ``stockwarn_scale`` on the PostgreSQL it is given and runs
its own redis-server on a free port, so it never touches the test database or Redis.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(1, str(REPO))

from load import CpuMeter, free_port, pct  # noqa: E402

SKUS, WAREHOUSES, BATCH = 2000, 5, 500
RULES = """
ruleset: scale
settings: {timezone: UTC}
roles: [{id: buyer, name: Buyer, members: [alice]}]
workflows:
  - {id: fix, name: Fix, states: [open, done], initial: open,
     transitions: [{id: done, from: [open], to: done, roles: [buyer]}]}
rules:
  - id: low
    name: Low stock
    on: [count, sale]
    when: {"<": [{"var": "stock.available"}, 5]}
    owner: buyer
    auto_resolve: false
    actions:
      - create_task: {title: "low {{ sku.code }} @ {{ warehouse.code }}", workflow: fix, due: 4h}
      - create_requisition: {quantity: {fixed: 50}, supplier: preferred}
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def sales(prefix: str, n: int, offset: int = 0) -> list[dict[str, Any]]:
    at = now_iso()
    return [{"id": f"{prefix}-{i}", "type": "sale", "sku": f"S{(i + offset) % SKUS:05d}",
             "warehouse": f"W{((i + offset) // SKUS) % WAREHOUSES}", "qty": 1, "at": at}
            for i in range(n)]


class Stack:
    """The database, a private Redis, the recording side (in this process) and N workers."""

    def __init__(self, admin_url: str, workdir: Path, partitions: int) -> None:
        from sqlalchemy import create_engine, text

        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS stockwarn_scale"))
            conn.execute(text("CREATE DATABASE stockwarn_scale"))
        admin.dispose()
        self.db_url = admin_url.rsplit("/", 1)[0] + "/stockwarn_scale"
        self.redis_port = free_port()
        self.redis = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port), "--save", "",
             "--appendonly", "no", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.env = dict(os.environ, DATABASE_URL=self.db_url,
                        REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
                        STOCKWARN_INSTANCE=str(workdir / "instance"), SECRET_KEY="bench",
                        STOCKWARN_APPLY_PARTITIONS=str(partitions))
        self.workdir, self.workers = workdir, []  # type: ignore[var-annotated]
        time.sleep(0.5)
        subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=REPO,
                       env=self.env, check=True, capture_output=True)
        from engine.bootstrap import bootstrap
        from engine.config import Settings

        self.svc = bootstrap(Settings.from_env(self.env))

    def load(self) -> None:
        from engine.services import catalog, rulesets

        now = self.svc.clock.now()
        with self.svc.uow() as uow:
            catalog.put_rows(uow.conn, "warehouses",
                             [{"code": f"W{w}", "name": f"W{w}"} for w in range(WAREHOUSES)], "bench", now)
            catalog.put_rows(uow.conn, "suppliers",
                             [{"code": "P", "name": "P", "lead_time_days": 3}], "bench", now)
            catalog.put_rows(uow.conn, "skus", [
                {"code": f"S{s:05d}", "name": f"sku {s}", "suppliers": [{"supplier": "P", "preferred": True}]}
                for s in range(SKUS)], "bench", now)
            rulesets.put(uow.conn, RULES, "yaml", "bench", now)
            uow.commit()
        counts = [{"id": f"init-{s}-{w}", "type": "count", "sku": f"S{s:05d}", "warehouse": f"W{w}",
                   "qty": 1_000_000, "at": "2026-01-01T00:00:00+00:00"}
                  for s in range(SKUS) for w in range(WAREHOUSES)]
        for i in range(0, len(counts), 2000):
            self.record(counts[i:i + 2000], inline=True)

    def record(self, items: list[dict[str, Any]], inline: bool = False) -> None:
        from engine.services.events import handle

        with self.svc.uow() as uow:
            handle(uow, self.svc.cache, items, self.svc.clock.now(),
                   jobs=None if inline else self.svc.jobs, source="bench")

    def start_workers(self, n: int) -> None:
        log = open(self.workdir / "workers.log", "ab")  # noqa: SIM115
        self.workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                                         cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
                        for _ in range(n)]

    def stop_workers(self) -> None:
        for w in self.workers:
            w.terminate()
        for w in self.workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()
        self.workers = []

    def unapplied(self) -> int:
        from sqlalchemy import text

        with self.svc.db.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM stock_events WHERE applied IS false")).scalar_one())

    def drained(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while self.unapplied() and time.monotonic() < deadline:
            time.sleep(0.05)

    def reset_log(self) -> None:
        """Empty the event log and the outbox between runs (alerts stay: fresh pairs trigger)."""
        from sqlalchemy import text

        with self.svc.db.begin() as conn:
            conn.execute(text("TRUNCATE stock_events, outbox"))

    def close(self) -> None:
        self.stop_workers()
        self.svc.close()
        self.redis.kill()
        self.redis.wait()


class LockWaits(threading.Thread):
    """Samples the workers' backends every 20 ms: how often one waits for a lock."""

    def __init__(self, db_url: str) -> None:
        super().__init__(daemon=True)
        from sqlalchemy import create_engine

        self.engine = create_engine(db_url)
        self.samples = self.waiting = self.active = 0
        self.stop = threading.Event()

    def run(self) -> None:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            while not self.stop.is_set():
                rows = conn.execute(text(
                    "SELECT state, wait_event_type FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND state <> 'idle'")).all()
                conn.rollback()
                self.samples += 1
                self.active += len(rows)
                self.waiting += sum(1 for r in rows if r.wait_event_type == "Lock")
                time.sleep(0.02)
        self.engine.dispose()


def run(stack: Stack, n: int, events: int, seconds: float, tag: str, first_sku: int) -> dict[str, Any]:
    stack.reset_log()
    stack.start_workers(n)
    for i in range(3 * n):  # each worker loads its snapshot on its first jobs
        stack.record(sales(f"warm-{tag}-{i}", 200, offset=i * 200))
        time.sleep(0.3)
    stack.drained()
    time.sleep(1)
    # The backlog is recorded while the workers are stopped (SIGSTOP): the clock runs from
    # their SIGCONT to the last event applied, so recording (this process's CPU) is not in it.
    for w in stack.workers:
        w.send_signal(signal.SIGSTOP)
    t = time.monotonic()
    for i in range(0, events, BATCH):
        stack.record(sales(f"{tag}-{i}", min(BATCH, events - i), offset=i))
    recorded = time.monotonic() - t
    meter = CpuMeter([stack.redis, stack.redis, *stack.workers], stack.db_url)
    waits = LockWaits(stack.db_url)
    cpu0 = meter.read()
    waits.start()
    t0 = time.monotonic()
    for w in stack.workers:
        w.send_signal(signal.SIGCONT)
    stack.drained()
    elapsed = time.monotonic() - t0
    waits.stop.set()
    waits.join()
    cpu1 = meter.read()
    # latency: 25 events every 50 ms (500 events/s), a fresh pair dropped below 5 every 10th batch
    sent: dict[str, float] = {}
    start = time.time()
    for b in range(int(seconds / 0.05)):
        body = sales(f"lat-{tag}-{b}", 24, offset=b * 24)
        if b % 10 == 0:  # a pair no earlier run dropped (alerts stay open: no second task)
            pair = {"sku": f"S{(first_sku + b // 10) % SKUS:05d}", "warehouse": "W0"}
            body.append({"id": f"trig-{tag}-{b}", "type": "count", **pair, "qty": 1, "at": now_iso()})
            sent[f"trig-{tag}-{b}"] = time.time()
        stack.record(body)
        delay = start + (b + 1) * 0.05 - time.time()
        if delay > 0:
            time.sleep(delay)
    stack.drained()
    from sqlalchemy import text

    with stack.svc.db.connect() as conn:
        rows = conn.execute(text(
            "SELECT a.facts->'event'->>'id', t.created_at FROM tasks t JOIN alerts a ON a.id = t.alert_id "
            "WHERE a.facts->'event'->>'id' LIKE :p"), {"p": f"trig-{tag}-%"}).all()
    found = {eid: created.timestamp() for eid, created in rows}
    lat = [found[e] - t for e, t in sent.items() if e in found] or [float("inf")]
    stack.stop_workers()
    return {"workers": n, "rate": events / elapsed, "recorded_s": recorded, "elapsed_s": elapsed,
            "p50": pct(lat, 50), "p99": pct(lat, 99), "tasks": f"{len(found)}/{len(sent)}",
            "cpu_workers": cpu1["workers"] - cpu0["workers"], "cpu_pg": cpu1["postgres"] - cpu0["postgres"],
            "lock_waits": waits.waiting / max(waits.active, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                    help="an admin connection; the benchmark creates and drops stockwarn_scale there")
    ap.add_argument("--events", type=int, default=40_000, help="backlog events per worker count")
    ap.add_argument("--seconds", type=float, default=10, help="steady stream for the latency")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--partitions", type=int, default=16)
    args = ap.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("redis-server is needed")
    workdir = Path(tempfile.mkdtemp(prefix="stockwarn-scale-"))
    stack = Stack(args.database_url, workdir, args.partitions)
    results = []
    try:
        stack.load()
        for k, n in enumerate(int(x) for x in args.workers.split(",")):
            results.append(run(stack, n, args.events, args.seconds, f"w{n}", first_sku=k * 500))
            print(f"  {n} worker(s): done", file=sys.stderr)
    finally:
        stack.close()
        from sqlalchemy import create_engine, text

        admin = create_engine(args.database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS stockwarn_scale"))
        admin.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    base = results[0]
    print(f"\nScale-out: apply partitioned by SKU ({args.partitions} partitions), PostgreSQL + Redis, "
          f"{SKUS} SKUs x {WAREHOUSES} warehouses, {os.cpu_count()} CPUs, backlog {args.events:,} events")
    print(f"  {'workers':>7} {'events/s':>9} {'ratio':>6} {'p50 s':>7} {'p99 s':>7} {'ratio':>6} "
          f"{'tasks':>7} {'CPU ms/event: workers':>22} {'postgres':>9} {'lock waits':>11}")
    for r in results:
        print(f"  {r['workers']:>7} {r['rate']:>9,.0f} {r['rate'] / base['rate']:>6.2f} "
              f"{r['p50']:>7.3f} {r['p99']:>7.3f} {r['p99'] / base['p99']:>6.2f} {r['tasks']:>7} "
              f"{r['cpu_workers'] / args.events * 1000:>22.3f} {r['cpu_pg'] / args.events * 1000:>9.3f} "
              f"{r['lock_waits']:>10.0%}")
    print("  events/s: a backlog recorded (as the API records it) while the workers were stopped, "
          "applied from their restart to the last event;\n  CPU ms/event over that phase (postgres: this database's "
          "backends alive at its end); lock waits: share of busy backends seen waiting for a lock.")
    cpus = os.cpu_count() or 1
    for r in results:
        busy = (r["cpu_workers"] + r["cpu_pg"]) / r["elapsed_s"]
        print(f"  {r['workers']} worker(s): workers + PostgreSQL kept {busy:.2f} of {cpus} CPUs busy "
              f"over {r['elapsed_s']:.1f} s (the backlog took {r['recorded_s']:.1f} s to record)")


if __name__ == "__main__":
    main()
