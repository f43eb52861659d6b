"""Benchmark: the csv importer against Python's csv module, then events/s through the event path.

One run, files generated into a temporary folder:
  items.csv  100k SKUs (商品编码, 商品名称, 分类, 单位, 成本价), warehouses.csv (10);
  sales.csv  1M daily sales rows (日期, 商品编码, 门店, 销量), one per SKU, shop and day.

(r) reading: ``csv.reader`` over sales.csv (the baseline: rows/s) against the csv importer's
    ``read()`` (header detection, cell parsing, records by page: everything up to the point
    of ingestion) over the same file in the same run, best of 3 passes each, alternating; the
    ratio (target ≥ 1/3). Then the same
    with the import service's checks (codes against the master data, duplicate ids, the event
    path's own validation), which is what a run does before it applies anything.
(e) the event path: items imported (rows/s), then sales.csv as an import run on a fresh SQLite
    file (check pass + apply pass through ``POST /events``' entry point); events/s of the run
    as ``events replay`` reports its own.
Peak memory (max RSS) after reading and at the end; the target is ≤ 300 MB.

    .venv/bin/python bench/import.py                       # full size
    .venv/bin/python bench/import.py --items 10000 --sales 100000
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.clock import FixedClock  # noqa: E402
from engine.collector import pace_collector  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.imports.plugin import ImportRequest  # noqa: E402
from engine.imports.records import SalesColumns  # noqa: E402
from engine.imports.validate import Validator  # noqa: E402
from engine.services.engine_cache import DEFAULT_TZ  # noqa: E402
from engine.storage.database import upgrade  # noqa: E402
from plugins.importers.csv_file import importer as csv_importer  # noqa: E402

WAREHOUSES = 10
START = date(2026, 1, 1)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(folder: Path, items: int, sales: int, seed: int) -> dict[str, Path]:
    rng = random.Random(seed)
    paths = {name: folder / f"{name}.csv" for name in ("warehouses", "items", "sales")}
    with paths["warehouses"].open("w", encoding="utf-8") as fh:
        fh.write("仓库编码,仓库名称\n")
        for w in range(WAREHOUSES):
            fh.write(f"WH-{w:02d},门店{w:02d}\n")
    with paths["items"].open("w", encoding="utf-8") as fh:
        fh.write("商品编码,商品名称,分类,单位,成本价\n")
        for i in range(items):
            fh.write(f"{i:06d},商品{i},类{i % 50},个,{rng.randint(1, 9999) / 100}\n")
    days = max(1, -(-sales // items))
    with paths["sales"].open("w", encoding="utf-8") as fh:
        fh.write("日期,商品编码,门店,销量\n")
        n = 0
        for d in range(days):
            day = (START + timedelta(days=d)).strftime("%Y/%m/%d")
            for i in range(items):
                if n >= sales:
                    break
                fh.write(f"{day},{i:06d},WH-{i % WAREHOUSES:02d},{rng.randint(1, 30)}\n")
                n += 1
    return paths


def read_baseline(path: Path) -> tuple[int, float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    with path.open(encoding="utf-8", newline="") as fh:
        rows = sum(1 for _ in csv.reader(fh)) - 1
    return rows, time.perf_counter() - start, time.process_time() - cpu


def read_importer(path: Path, validator: Validator | None = None) -> tuple[int, float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    rows = 0
    for page in csv_importer.read(ImportRequest(kind="sales", file=str(path))):
        rows += sum(len(r.row) if isinstance(r, SalesColumns) else 1 for r in page.records)
        if validator is not None:
            checked = validator.page(page.records, page.columns)
            assert not checked.bad, checked.bad[:3]
    return rows, time.perf_counter() - start, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--sales", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--skip-events", action="store_true", help="reading only")
    p.add_argument("--repeat", type=int, default=5, help="reading passes; the best counts")
    args = p.parse_args(argv)
    pace_collector()  # as every engine process (bootstrap) does: the CLI run's own setting
    with tempfile.TemporaryDirectory(prefix="stockwarn-import-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        paths = generate(folder, args.items, args.sales, args.seed)
        size = paths["sales"].stat().st_size / 1e6
        print(f"generated {args.items:,} items and {args.sales:,} sales rows ({size:.0f} MB) "
              f"in {time.perf_counter() - t0:.1f} s")
        # best of --repeat, alternating: this machine is shared, and noise only slows a pass.
        # The ratio is of CPU seconds (both run in this one thread: what the work costs
        # whatever else the machine runs); wall seconds are shown beside them.
        base_rows, base_s, base_cpu = read_baseline(paths["sales"])
        imp_rows, imp_s, imp_cpu = read_importer(paths["sales"])
        for _ in range(args.repeat - 1):
            _, wall, cpu = read_baseline(paths["sales"])
            base_s, base_cpu = min(base_s, wall), min(base_cpu, cpu)
            _, wall, cpu = read_importer(paths["sales"])
            imp_s, imp_cpu = min(imp_s, wall), min(imp_cpu, cpu)
        base_rate, imp_rate = base_rows / base_cpu, imp_rows / imp_cpu
        print(f"(r) csv.reader            {base_rows:>10,} rows {base_cpu:7.2f} s CPU "
              f"({base_s:.2f} s wall) {base_rate:>12,.0f} rows/s")
        print(f"(r) csv importer (read)   {imp_rows:>10,} rows {imp_cpu:7.2f} s CPU "
              f"({imp_s:.2f} s wall) {imp_rate:>12,.0f} rows/s   ratio {imp_rate / base_rate:.2f} "
              f"(wall {base_s / imp_s:.2f}; target ≥ 0.33) "
              f"{'PASS' if imp_rate / base_rate >= 1 / 3 else 'MISS'}")
        print(f"    peak memory after reading: {rss_mb():.0f} MB")
        if args.skip_events:
            return 0
        from admin import create_app

        url = f"sqlite:///{folder / 'bench.db'}"
        upgrade(url)
        clock = FixedClock(datetime(2027, 1, 1, tzinfo=UTC))
        app = create_app(Settings(database_url=url, instance_path=folder / "instance",
                                  secret_key="bench"), clock)
        svc = app.extensions["engine"]
        imports = svc.imports
        for name, kind in (("warehouses", "warehouses"), ("items", "items")):
            start = time.perf_counter()
            run = imports.run(imports.start_file_run("csv", str(paths[name]), kind=kind,
                                                     actor="bench"))
            took = time.perf_counter() - start
            assert run["state"] == "done", run["message"]
            print(f"(e) import {name:<10} {run['counts']['rows']:>10,} rows {took:7.2f} s "
                  f"{run['counts']['rows'] / took:>12,.0f} rows/s ({run['counts']['created']:,} created)")
        print(f"    peak memory after the items: {rss_mb():.0f} MB")
        with svc.uow() as uow:
            snap = svc.cache.current(uow.conn)
        print(f"    peak memory with the catalogue snapshot of {len(snap.sku_ids):,} SKUs loaded: "
              f"{rss_mb():.0f} MB")
        with svc.uow() as uow:
            validator = Validator(uow.conn, snap.tz or DEFAULT_TZ, clock.now(), "sales")
        chk_rows, chk_s, chk_cpu = read_importer(paths["sales"], validator)
        print(f"(r) read + checks         {chk_rows:>10,} rows {chk_cpu:7.2f} s CPU "
              f"({chk_s:.2f} s wall) {chk_rows / chk_cpu:>12,.0f} rows/s   "
              f"ratio {chk_rows / chk_cpu / base_rate:.2f}")
        phases: dict[str, float] = {}
        last = [time.perf_counter()]

        def progress(info: dict[str, object]) -> None:
            phase = str(info["phase"])
            now = time.perf_counter()
            phases[phase] = phases.get(phase, 0.0) + now - last[0]
            last[0] = now

        start = time.perf_counter()
        last[0] = start
        run = imports.run(imports.start_file_run("csv", str(paths["sales"]), kind="sales",
                                                 actor="bench"), progress)
        took = time.perf_counter() - start
        c = run["counts"]
        assert run["state"] == "done", run["message"]
        print(f"(e) import sales run      {c['accepted']:>10,} events {took:7.2f} s "
              f"{c['accepted'] / took:>12,.0f} events/s (check pass "
              f"{phases.get('checking', 0):.1f} s, apply pass {phases.get('importing', 0):.1f} s: "
              f"{c['accepted'] / max(phases.get('importing', took), 1e-9):,.0f} events/s)")
        print(f"    peak memory at the end: {rss_mb():.0f} MB (target ≤ 300); database "
              f"connections pooled: {svc.db.pool.checkedin()}")
        svc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
