"""Server time of the buyer's and approver's pages at scale (issue #18): a script, not a test.

Seeds a PostgreSQL database with 100k SKUs × 10 warehouses (1M stock levels), 50k open alerts
with their tasks and 5k requisitions (COPY, a minute or so), then renders each page through the
app in-process, signed in as a buyer, an approver and an admin, and prints the median and the
worst of ``--runs`` renders per page. Target: ≤ 200 ms each.

    .venv/bin/python bench/pages.py postgresql+psycopg://postgres@127.0.0.1:5432/bench_pages
    .venv/bin/python bench/pages.py URL --no-seed      # measure again, same data
    .venv/bin/python bench/pages.py URL --no-seed --cpu  # and the CPU time each page costs

On a busy machine the wall time grows with the load; ``--cpu`` adds the CPU time per render
of this process and of the PostgreSQL processes serving it (read from /proc, so PostgreSQL must
run on this machine), about what the page takes on a quiet one. It turns parallel query off
for the app's connections: a parallel worker's CPU time cannot be read after it ended.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from engine.config import Settings  # noqa: E402
from engine.services import accounts, rulesets  # noqa: E402
from engine.storage.database import make_engine, upgrade  # noqa: E402
from engine.storage.tables import metadata  # noqa: E402

SKUS, WAREHOUSES, TASKS, REQUISITIONS = 100_000, 10, 50_000, 5_000
RULES = ("a-below-rop", "low-cover", "stock-out", "overstock")
NOW = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)


def _copy(conn: object, table: str, columns: list[str], rows: list[tuple[object, ...]]) -> None:
    raw = conn.connection.driver_connection  # type: ignore[attr-defined]
    with raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(url)
    rnd = random.Random(18)
    stamp = NOW - timedelta(days=1)
    with engine.begin() as conn:
        for name, admin in (("admin", True), ("alice", False), ("carol", False)):
            accounts.create_user(conn, name, NOW, password=f"{name}-bench-1", is_admin=admin)
        rulesets.put(conn, (ROOT / "configs" / "demo-ruleset.yaml").read_text(), "yaml",
                     "bench", NOW)
        _copy(conn, "warehouses", ["id", "code", "name", "region", "updated_at"],
              [(w, f"WH-{w:02d}", f"仓库 {w}", "east" if w % 2 else "north", stamp)
               for w in range(1, WAREHOUSES + 1)])
        _copy(conn, "suppliers", ["id", "code", "name", "lead_time_days", "moq", "pack_size",
                                  "contact", "updated_at"],
              [(s, f"SUP-{s:02d}", f"供应商 {s}", 7, 50, 10,
                json.dumps({"email": f"s{s}@example.com"}), stamp) for s in range(1, 51)])
        _copy(conn, "skus", ["id", "code", "name", "category", "tags", "unit", "unit_cost",
                             "abc_class", "attributes", "updated_at"],
              [(i, f"SKU-{i:06d}", f"商品 Item {i}", "beverage" if i % 7 == 0 else "general",
                "[]", "EA", 1 + i % 50, "ABC"[i % 3], "{}", stamp) for i in range(1, SKUS + 1)])
        _copy(conn, "sku_suppliers", ["sku_id", "supplier_id", "price", "preferred"],
              [(i, 1 + i % 50, 1 + i % 50, True) for i in range(1, SKUS + 1)])
        _copy(conn, "stock_levels", ["sku_id", "warehouse_id", "on_hand", "reserved",
                                     "on_order_erp", "on_order_local", "version"],
              [(i, w, rnd.randint(0, 500), 0, 0, 0, 1)
               for i in range(1, SKUS + 1) for w in range(1, WAREHOUSES + 1)])
        pairs = rnd.sample(range(SKUS * WAREHOUSES), TASKS)
        facts = json.dumps({"stock": {"on_hand": 5, "reserved": 0, "available": 5,
                                      "on_order": 0, "inventory_position": 5},
                            "metrics": {"avg_daily_demand": 2, "reorder_point": 20}})
        alert_rows, task_rows = [], []
        for n, pair in enumerate(pairs, 1):
            sku, wh = pair // WAREHOUSES + 1, pair % WAREHOUSES + 1
            rule = RULES[n % len(RULES)]
            opened = NOW - timedelta(hours=rnd.randint(1, 24 * 60))
            alert_rows.append((n, rule, 1, sku, wh, "high" if n % 3 else "critical", "buyer",
                               "open", opened, opened, 1, facts))
            task_rows.append((n, n, "create_task:0", f"补货 SKU-{sku:06d} @ WH-{wh:02d}",
                              "replenishment", "open", False, "buyer",
                              "high" if n % 3 else "critical", opened + timedelta(hours=4),
                              "{}", opened, opened, 1, sku, wh))
        _copy(conn, "alerts", ["id", "rule", "rule_version", "sku_id", "warehouse_id",
                               "severity", "owner", "state", "opened_at", "last_hit_at", "hits",
                               "facts"], alert_rows)
        _copy(conn, "tasks", ["id", "alert_id", "action_key", "title", "workflow", "state",
                              "closed", "role", "severity", "due_at", "data", "created_at",
                              "updated_at", "version", "sku_id", "warehouse_id"], task_rows)
        _copy(conn, "requisitions", ["id", "alert_id", "action_key", "sku_id", "warehouse_id",
                                     "supplier_id", "quantity", "unit_price", "amount", "state",
                                     "approval_role", "reason", "created_at", "updated_at",
                                     "version"],
              [(n, n, "create_requisition:1", a[3], a[4], 1 + a[3] % 50, 100, 3, 300,
                "pending_approval" if n % 2 else "approved", "purchasing-manager",
                "order_up_to: asked 91.00, rounded to 100 (MOQ 50, pack 10)", a[8], a[8], 1)
               for n, a in enumerate(alert_rows[:REQUISITIONS], 1)])
        for table in metadata.sorted_tables:
            if "id" in table.c and table.name in ("warehouses", "suppliers", "skus", "alerts",
                                                  "tasks", "requisitions"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'),"
                                  f" (SELECT max(id) FROM {table.name}))"))
        conn.execute(text("UPDATE ruleset_state SET catalog_revision = catalog_revision + 1"))
    # VACUUM ANALYZE, as autovacuum soon would after such a load, outside a transaction: in
    # one that is rolled back (a connection closed without commit) the statistics were dropped
    # and the planner guessed; without the visibility map no scan reads an index alone.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


PAGES = {
    "alice": ["/tasks", "/tasks?warehouse=WH-03", "/tasks?q=SKU-012345", "/tasks?q=Item 777",
              "/tasks?group=beverages", "/tasks?sort=due&overdue=1", "/tasks?each=1&page=20",
              "/tasks/{task}", "/alerts/{task}", "/dashboard"],
    "carol": ["/requisitions", "/requisitions?state=pending_approval&mine=1",
              "/requisitions/{req}", "/purchase-orders", "/reports", "/dashboard"],
}


class CpuClock:
    """CPU time of this process and of the database's server processes serving it, in ms.

    Wall time on a shared machine grows with its load; the CPU a page costs does not (the data
    is in memory, so a page's server time on a quiet machine is about its CPU time). Read from
    ``/proc``: only when PostgreSQL runs on this machine and its processes are readable.
    """

    def __init__(self, url: str) -> None:
        import psycopg

        self.monitor = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"),
                                       autocommit=True)
        self.tick = 1000 / os.sysconf("SC_CLK_TCK")

    def now(self) -> float:
        pids = [r[0] for r in self.monitor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")]
        server = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            server += (int(fields[11]) + int(fields[12])) * self.tick  # utime + stime
        return time.process_time() * 1000 + server


def measure(url: str, runs: int, cpu: CpuClock | None = None
            ) -> list[tuple[str, str, float, float, float | None]]:
    from admin import create_app
    from tests.admin.web_seed import csrf_token

    if cpu is not None:  # parallel workers end before their CPU time can be read
        url += ("&" if "?" in url else "?") + "options=-c%20max_parallel_workers_per_gather%3D0"
    app = create_app(Settings(database_url=url, instance_path=ROOT / "instance" / "bench",
                              secret_key="bench", secure_cookies=False,
                              periodic_work=False))  # no escalations changing the data
    out = []
    for user, pages in PAGES.items():
        client = app.test_client()
        token = csrf_token(client.get("/login"))
        client.post("/login", data={"username": user, "password": f"{user}-bench-1",
                                    "csrf_token": token})
        for page in pages:
            path = page.format(task=TASKS // 2, req=REQUISITIONS // 2 + 1)
            times = []
            used = None
            for n in range(runs + 1):
                if n == 1 and cpu is not None:
                    used = cpu.now()
                start = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200, (path, answer.status_code)
            if cpu is not None and used is not None:
                used = (cpu.now() - used) / runs
            times = times[1:]  # the first warms the engine cache
            out.append((user, path, statistics.median(times), max(times), used))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cpu", action="store_true",
                        help="also the CPU time per page of this process and the database's")
    args = parser.parse_args()
    if not args.url.startswith("postgresql"):
        parser.error("the bench seeds with PostgreSQL's COPY: give a postgresql+psycopg:// URL")
    if not args.no_seed:
        started = time.perf_counter()
        seed(args.url)
        print(f"seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    cpu = CpuClock(args.url) if args.cpu else None
    print(f"{'user':6} {'page':48} {'median ms':>9} {'worst ms':>9}"
          + (f" {'cpu ms':>7}" if cpu else ""))
    for user, path, median, worst, used in measure(args.url, args.runs, cpu):
        flag = "" if median <= 200 else "  > 200 ms"
        print(f"{user:6} {path:48} {median:9.0f} {worst:9.0f}"
              + (f" {used:7.0f}" if used is not None else "") + flag)


if __name__ == "__main__":
    main()
