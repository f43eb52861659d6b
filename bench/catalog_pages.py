"""The master data pages over a large catalogue: how long each answer takes.

    .venv/bin/python bench/catalog_pages.py                       # 100k SKUs on SQLite
    .venv/bin/python bench/catalog_pages.py --url postgresql+psycopg://…/db   # an EMPTY database

Builds SKUs (through the bulk upsert, as PUT /skus does), two warehouses with a level for every
SKU and 50 suppliers, then times the pages through the Flask test client, best of 3: the first
and a far page of the list, a search by part of the name, each filter, a SKU's page, a
warehouse's page and the Excel export of everything (with the peak RSS it costs).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select

from engine.config import Settings
from engine.services import catalog
from engine.storage.database import upgrade
from engine.storage.tables import skus, stock_levels, warehouses


def build(svc, n: int) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with svc.uow() as uow:
        catalog.put_rows(uow.conn, "warehouses", [{"code": "WH-SH", "name": "上海仓"},
                                                  {"code": "WH-BJ", "name": "北京仓"}], "b", now)
        catalog.put_rows(uow.conn, "suppliers", [
            {"code": f"S{i:02d}", "name": f"供应商 {i}", "lead_time_days": 7} for i in range(50)],
            "b", now)
        uow.commit()
    for start in range(0, n, 10_000):
        rows = [{"code": f"{i:06d}", "name": f"商品 {i} {'螺栓' if i % 7 == 0 else '螺母'}",
                 "category": f"类{i % 40}", "unit_cost": 1 + i % 13, "abc_class": "ABC"[i % 3],
                 "suppliers": [{"supplier": f"S{i % 50:02d}", "preferred": True}]}
                for i in range(start, min(n, start + 10_000))]
        with svc.uow() as uow:
            catalog.put_rows(uow.conn, "skus", rows, "b", now)
            uow.commit()
    with svc.uow() as uow:
        ids = list(uow.conn.execute(select(skus.c.id)).scalars())
        for wh in uow.conn.execute(select(warehouses.c.id)).scalars():
            for start in range(0, len(ids), 20_000):
                uow.conn.execute(insert(stock_levels), [
                    {"sku_id": s, "warehouse_id": wh, "on_hand": s % 97, "reserved": 0}
                    for s in ids[start:start + 20_000]])
        uow.commit()
    if svc.db.dialect.name == "postgresql":  # the statistics autovacuum would gather by itself
        with svc.db.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def timed(client, path: str) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        answer = client.get(path)
        best = min(best, time.perf_counter() - start)
        assert answer.status_code == 200, (path, answer.status_code)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--url", help="an empty database (default: a new SQLite file)")
    args = parser.parse_args()
    from admin import create_app

    tmp = Path(tempfile.mkdtemp())
    url = args.url or f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    app = create_app(Settings(database_url=url, instance_path=tmp, secret_key="bench",
                              secure_cookies=False, periodic_work=False))
    svc = app.extensions["engine"]
    started = time.perf_counter()
    build(svc, args.skus)
    print(f"built {args.skus} SKUs × 2 warehouses in {time.perf_counter() - started:.0f} s")
    runner = app.test_cli_runner()
    runner.invoke(args=["users", "create", "root", "--password", "root-password-1", "--admin"])
    client = app.test_client()
    from tests.admin.web_seed import login

    login(client, "root")
    far = args.skus // 50 // 2
    for label, path in [
        ("list, page 1", "/admin/data/skus"),
        (f"list, page {far}", f"/admin/data/skus?page={far}"),
        ("search a name part (螺栓)", "/admin/data/skus?q=%E8%9E%BA%E6%A0%93"),
        ("search a code part", "/admin/data/skus?q=9999"),
        ("filter a category", "/admin/data/skus?category=%E7%B1%BB7"),
        ("filter a supplier", "/admin/data/skus?supplier=S07"),
        ("filter ABC class", "/admin/data/skus?abc=B&page=20"),
        ("a SKU's page", "/admin/data/skus/item/012345"),
        ("a warehouse's page", "/admin/data/warehouses/item/WH-SH?page=100"),
        ("a supplier's page", "/admin/data/suppliers/item/S07"),
    ]:
        print(f"{label:32s} {timed(client, path) * 1000:8.1f} ms")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    answer = client.get("/admin/data/skus/export.xlsx")
    size = len(answer.data)
    print(f"{'export all to Excel':32s} {time.perf_counter() - start:8.1f} s, {size / 1e6:.1f} MB,"
          f" peak RSS {before / 1024:.0f} → "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    svc.close()


if __name__ == "__main__":
    main()
