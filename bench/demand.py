"""Benchmark of issue #16 (demand intelligence): policies, whole-catalogue preview, forecasts.

Scripts, not timed tests. Each part prints its figures and the issue's target; exit 0 always.

(policies) ../shared/data (read here, never copied): the Kaggle store × item daily sales loaded
    as ``sale`` events (one warehouse per store) through the engine's ingest, then the product's
    backtest (``engine.services.backtests.load_series`` + ``engine.backtest.simulate``) over
    2016–2017 with 2013–2015 as history, a 7-day lead time, lost sales:
      - a fixed min/max (per pair, from the history's mean and deviation; k tuned to the fill),
      - the SPEC's window policy with a fill-rate target,
      - the seasonal forecast (weekday × yearly index) with a fill-rate target,
    each tuned to the wanted fill (98 %); prints fill and average on hand and the ratio.
    The ingest's time against the backtest's is (c) of the issue: backtest ÷ events replay.
(preview) a synthetic catalogue (SKUs × warehouses with stock and 28-day demand windows) in
    SQLite; one rule evaluated over every pair vectorised (``what_if.evaluate_rows``) and pair
    by pair (``exact_facts`` + the compiled condition, today's preview path), same rows.
(forecast) 100k synthetic two-year series fitted by the seasonal method: seconds and peak
    memory.

    .venv/bin/python bench/demand.py forecast --series 100000
    .venv/bin/python bench/demand.py preview --skus 100000 --warehouses 10
    .venv/bin/python bench/demand.py policies --series 500
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import resource
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT.parent.parent / "shared" / "data" / "store_item_demand_train.csv"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- forecast ---------------------------------------------------------------------------------

def bench_forecast(args: argparse.Namespace) -> None:
    from engine.forecast import fit

    rng = np.random.default_rng(7)
    days = 730
    t = np.arange(days)
    base = rng.uniform(0.5, 60, size=(args.series, 1))
    shape = (1 + 0.3 * np.sin(2 * np.pi * t / 365))[None, :] * (1 + 0.2 * (t % 7 >= 5))[None, :]
    y = rng.poisson(base * shape).astype(np.float64)
    before = rss_mb()
    start = time.perf_counter()
    models = fit(y, date(2026, 12, 31), args.method)
    took = time.perf_counter() - start
    print(f"(forecast) {args.series:,} series × {days} days, method {args.method}: {took:.1f} s, "
          f"peak RSS {rss_mb():.0f} MB (data alone {y.nbytes / 2**20:.0f} MB, before fit "
          f"{before:.0f} MB); target: about a minute and 1 GB")
    print(f"           first model: {models[0].method}, level {models[0].level:.2f}")


def bench_forecast_db(args: argparse.Namespace) -> None:
    """The nightly job as it runs (``forecasts.recompute``): the pairs of a forecast group, their
    two years of ``demand_days`` read from the database, fitted and stored."""
    from engine.bootstrap import bootstrap
    from engine.config import Settings
    from engine.rules.editing import dump_yaml
    from engine.services import forecasts, rulesets
    from engine.storage import bulk, database
    from engine.storage.tables import demand_days, skus, stock_levels, warehouses

    tmp = Path(tempfile.mkdtemp(prefix="bench-forecast-"))
    url = args.url or f"sqlite:///{tmp / 'f.db'}"
    database.upgrade(url)
    svc = bootstrap(Settings(database_url=url, instance_path=tmp, secret_key="x"))
    now = datetime(2026, 12, 31, 20, tzinfo=UTC)
    last = date(2026, 12, 30)
    first = last - timedelta(729)
    n_wh = 10
    n_sku = max(args.series // n_wh, 1)
    rng = np.random.default_rng(7)
    t = np.arange(730)
    days = [first + timedelta(int(i)) for i in t]
    days_db = days
    shape = (1 + 0.3 * np.sin(2 * np.pi * t / 365)) * (1 + 0.2 * (t % 7 >= 5))
    start = time.perf_counter()
    with svc.uow() as uow:
        conn = uow.conn
        bulk.insert_many(conn, warehouses, ("code", "name", "updated_at"),
                         [(f"WH-{w:02d}", f"w{w}", now) for w in range(n_wh)])
        bulk.insert_many(conn, skus, ("code", "name", "tags", "attributes", "updated_at"),
                         [(f"SKU-{i:06d}", f"s{i}", [], {}, now) for i in range(n_sku)])
        bulk.insert_many(conn, stock_levels, ("sku_id", "warehouse_id"),
                         [(s, w) for s in range(1, n_sku + 1) for w in range(1, n_wh + 1)])
        for s in range(1, n_sku + 1):
            y = rng.poisson(rng.uniform(0.5, 60, size=(n_wh, 1)) * shape[None, :])
            w_i, t_i = np.nonzero(y)
            bulk.insert_many(conn, demand_days, ("sku_id", "warehouse_id", "day", "qty"),
                             [(s, int(w) + 1, days_db[d], float(q))
                              for w, d, q in zip(w_i, t_i, y[w_i, t_i])])
        doc = {"ruleset": "bench", "settings": {"timezone": "Asia/Shanghai"},
               "sku_groups": [{"id": "all", "name": "all", "where": True,
                               "params": {"forecast_method": args.method}}]}
        rulesets.put(conn, dump_yaml(doc), "yaml", "bench", now)
        uow.commit()
    rows = n_sku * n_wh * 730
    print(f"(forecast, database) {n_sku * n_wh:,} pairs × 730 days (≤ {rows:,} demand_days rows) "
          f"written in {time.perf_counter() - start:.0f} s ({url.split(':')[0]})")
    before = rss_mb()
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
        t0 = time.perf_counter()
        pairs = forecasts.forecast_pairs(uow.conn, snap)
        t_pairs = time.perf_counter() - t0
        members = [p for ps in pairs.values() for p in ps]
        block = members[:forecasts.BLOCK]
        t0, c0 = time.perf_counter(), time.process_time()
        y = forecasts.history(uow.conn, block, last)
        t_block, c_block = time.perf_counter() - t0, time.process_time() - c0
        del y
        c0 = time.process_time()  # the driver alone: the same rows fetched, nothing done
        cursor = uow.conn.exec_driver_sql(
            "SELECT sku_id, warehouse_id, day, qty FROM demand_days WHERE sku_id <= "
            f"{max(s for s, _ in block)}").cursor
        fetched = 0
        while page := cursor.fetchmany(forecasts.PAGE):
            fetched += len(page)
        cursor.close()
        c_fetch = time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        counts = forecasts.recompute(uow.conn, snap, last + timedelta(1), now)
        t_all, c_all = time.perf_counter() - t0, time.process_time() - c0
        uow.commit()
    scale = 100_000 / (n_sku * n_wh)
    print(f"(forecast, database) recompute of {sum(counts.values()):,} series {dict(counts)}: "
          f"{t_all:.1f} s, CPU {c_all:.1f} s (pairs listed {t_pairs:.1f} s; one block of "
          f"{len(block):,} pairs read in {t_block:.1f} s, CPU {c_block:.1f} s, of which the "
          f"driver's fetch of its {fetched:,} rows alone CPU {c_fetch:.1f} s), peak RSS "
          f"{rss_mb():.0f} MB (before {before:.0f} MB)")
    print(f"(forecast, database) × {scale:.0f} for 100k series: about {t_all * scale:.0f} s "
          f"(CPU {c_all * scale:.0f} s; linear: every part is per pair or per row); "
          f"target: about a minute and 1 GB")


# --- preview ----------------------------------------------------------------------------------

RULE = {"and": [{"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]},
                {">": [{"var": "metrics.avg_daily_demand"}, 0.5]}]}


def bench_preview(args: argparse.Namespace) -> None:
    from sqlalchemy import update

    from engine.bootstrap import bootstrap
    from engine.config import Settings
    from engine.metrics import DemandWindow
    from engine.rules import load_ruleset
    from engine.rules.editing import dump_yaml
    from engine.services import rulesets, what_if
    from engine.storage import bulk, database
    from engine.storage.tables import ruleset_state, skus, stock_levels, warehouses

    tmp = Path(tempfile.mkdtemp(prefix="bench-demand-"))
    url = f"sqlite:///{tmp / 'b.db'}"
    database.upgrade(url)
    svc = bootstrap(Settings(database_url=url, instance_path=tmp, secret_key="x"))
    now = datetime(2026, 12, 1, 4, tzinfo=UTC)
    today = date(2026, 12, 1)
    rng = np.random.default_rng(3)
    start = time.perf_counter()
    with svc.uow() as uow:
        conn = uow.conn
        bulk.insert_many(conn, warehouses, ("code", "name", "region", "updated_at"),
                         [(f"WH-{w:02d}", f"w{w}", "east" if w % 2 else "west", now)
                          for w in range(args.warehouses)])
        bulk.insert_many(conn, skus, ("code", "name", "category", "tags", "unit", "unit_cost",
                                      "abc_class", "abc_given", "attributes", "updated_at"),
                         [(f"SKU-{i:06d}", f"s{i}", "c", [], "EA", 1.0, "ABC"[i % 3], True, {},
                           now) for i in range(args.skus)])
        rows = []
        first = (today - timedelta(27)).isoformat()
        for s in range(1, args.skus + 1):
            mean = float(rng.uniform(0, 5))
            for w in range(1, args.warehouses + 1):
                qty = rng.poisson(mean, 28).tolist()
                window = {"start": first, "qty": qty, "last": today.isoformat() if any(qty) else None}
                rows.append((s, w, float(rng.integers(0, 200)), 0.0, 0.0, 0.0, window,
                             DemandWindow.from_dict(window).to_packed()))
                if len(rows) >= 20_000:
                    bulk.insert_many(conn, stock_levels, ("sku_id", "warehouse_id", "on_hand",
                                     "reserved", "on_order_erp", "on_order_local", "demand_window",
                                     "demand_packed"), rows)
                    rows = []
        if rows:
            bulk.insert_many(conn, stock_levels, ("sku_id", "warehouse_id", "on_hand", "reserved",
                                                  "on_order_erp", "on_order_local",
                                                  "demand_window", "demand_packed"), rows)
        doc = {"ruleset": "bench", "settings": {"timezone": "Asia/Shanghai"},
               "rules": [{"id": "low", "when": RULE}]}
        rulesets.put(conn, dump_yaml(doc), "yaml", "bench", now)
        conn.execute(update(ruleset_state).values(catalog_revision=ruleset_state.c.catalog_revision + 1))
        uow.commit()
    print(f"(preview) catalogue of {args.skus:,} SKUs × {args.warehouses} warehouses written in "
          f"{time.perf_counter() - start:.0f} s")
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
        compiled = load_ruleset(dump_yaml(doc))
        rule = compiled.rule("low")
        t0, c0 = time.perf_counter(), time.process_time()
        rows, totals = what_if.load_rows(uow.conn, snap, compiled)
        t_load, c_load = time.perf_counter() - t0, time.process_time() - c0
        makers = what_if.makers_for(uow.conn, snap, compiled)
        t0, c0 = time.perf_counter(), time.process_time()
        answer = what_if.evaluate_rows(rule, rows, makers, now, "preview", totals)
        t_vec, c_vec = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        hits = 0
        for row in rows:  # today's path: every pair's facts, then the compiled condition
            facts = what_if.exact_facts(makers, row, now, "preview", totals)
            hits += bool(rule.condition(facts))
        t_pair, c_pair = time.perf_counter() - t0, time.process_time() - c0
    same = hits == int(answer.hits.sum())
    print(f"(preview) {len(rows):,} pairs read in {t_load:.1f} s; vectorised {t_vec:.2f} s "
          f"({answer.one_by_one} rows one by one), pair by pair {t_pair:.1f} s; "
          f"ratio {t_pair / t_vec:.1f}× (with the read: {(t_pair + t_load) / (t_vec + t_load):.1f}×); "
          f"same hits: {same} ({hits:,}); target ≥ 20×")
    print(f"(preview) CPU seconds (the machine is shared): read {c_load:.2f}, vectorised "
          f"{c_vec:.2f}, pair by pair {c_pair:.1f}; ratio {c_pair / c_vec:.1f}× (with the read: "
          f"{(c_pair + c_load) / (c_vec + c_load):.1f}×)")


# --- policies ---------------------------------------------------------------------------------

def read_series(limit: int) -> dict[tuple[int, int], list[tuple[str, int]]]:
    out: dict[tuple[int, int], list[tuple[str, int]]] = defaultdict(list)
    with open(DATA, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for day, store, item, sales in reader:
            key = (int(store), int(item))
            if key in out or len(out) < limit:
                out[key].append((day, int(sales)))
    return out


def bench_policies(args: argparse.Namespace) -> None:
    from engine.backtest import simulate
    from engine.bootstrap import bootstrap
    from engine.config import Settings
    from engine.rules import load_ruleset
    from engine.rules.editing import dump_yaml
    from engine.services import backtests, catalog, rulesets
    from engine.services import events as event_service
    from engine.storage import database

    series = read_series(args.series)
    stores = sorted({s for s, _ in series})
    items = sorted({i for _, i in series})
    tmp = Path(tempfile.mkdtemp(prefix="bench-policies-"))
    url = f"sqlite:///{tmp / 'p.db'}"
    database.upgrade(url)
    svc = bootstrap(Settings(database_url=url, instance_path=tmp, secret_key="x"))
    now = datetime(2018, 1, 2, tzinfo=UTC)
    stats = {}
    for (s, i), rows in series.items():
        hist = np.array([q for d, q in rows if d < "2016-01-01"], dtype=float)
        stats[(s, i)] = (hist.mean(), hist.std())
    with svc.uow() as uow:
        catalog.put_rows(uow.conn, "suppliers", [{"code": "SUP", "name": "sup", "lead_time_days": 7,
                                                  "lead_time_std_days": 0}], "bench", now)
        catalog.put_rows(uow.conn, "warehouses", [{"code": f"STORE-{s:02d}", "name": f"store {s}"}
                                                  for s in stores], "bench", now)
        catalog.put_rows(uow.conn, "skus", [{
            "code": f"ITEM-{i:02d}", "name": f"item {i}", "unit_cost": 1,
            "attributes": {"mean": {f"STORE-{s:02d}": stats[(s, i)][0] for s in stores
                                    if (s, i) in stats},
                           "std": {f"STORE-{s:02d}": stats[(s, i)][1] for s in stores
                                   if (s, i) in stats}},
            "suppliers": [{"supplier": "SUP", "preferred": True, "price": 1}]}
            for i in items], "bench", now)
        rulesets.put(uow.conn, dump_yaml({"ruleset": "load", "settings": {"timezone": "Asia/Shanghai"}}),
                     "yaml", "bench", now)
        uow.commit()
    events = [{"id": f"sid-{s}-{i}-{d}", "type": "sale", "sku": f"ITEM-{i:02d}",
               "warehouse": f"STORE-{s:02d}", "qty": q, "at": f"{d}T20:00:00+08:00",
               "ref": f"POS-{d}"} for (s, i), rows in series.items() for d, q in rows if q > 0]
    events.sort(key=lambda e: e["at"])
    start = time.perf_counter()
    for n in range(0, len(events), 5000):
        with svc.uow() as uow:
            event_service.handle(uow, svc.cache, events[n:n + 5000], now, source="bench")
            uow.commit()
    t_ingest = time.perf_counter() - start
    print(f"(policies) {len(events):,} sale events ingested in {t_ingest:.0f} s "
          f"({len(events) / t_ingest:,.0f} events/s)")
    first, begin, end = date(2013, 1, 1), date(2016, 1, 1), date(2017, 12, 31)
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
        base = snap.ruleset.compiled
        loaded = backtests.load_series(uow.conn, snap, base, first, end)
    pair_days = sum(len(s.demand) for s in loaded)

    def run(doc: dict[str, Any]) -> tuple[dict[str, Any], float]:
        t0 = time.perf_counter()
        result = simulate(load_ruleset(dump_yaml(doc)), loaded, begin, end, seed=1)
        return result.total.summary(), time.perf_counter() - t0

    tried_all: dict[str, list[tuple[float, float]]] = {}

    def tune(make: Any, levels: list[float]) -> tuple[float, dict[str, Any], float]:
        """The level with the least stock among those reaching the wanted fill."""
        best = None
        spent = 0.0
        tried = []
        for level in levels:
            s, took = run(make(level))
            tried.append((level, s))
            spent += took
            print(f"           {make.__name__} {level}: fill {s['fill_rate']:.4f}, "
                  f"average on hand {s['avg_on_hand']:.1f} ({took:.0f} s)")
            if s["fill_rate"] >= args.fill and (best is None or s["avg_on_hand"] < best[1]["avg_on_hand"]):
                best = (level, s)
        tried_all[make.__name__] = [(s["fill_rate"], s["avg_on_hand"]) for _, s in tried]
        if best is None:  # none reaches it: the highest fill, said so
            print(f"           {make.__name__}: no level reaches {args.fill}; the highest fill kept")
            best = max(tried, key=lambda t: t[1]["fill_rate"])
        return best[0], best[1], spent

    def rule(when: Any, quantity: Any) -> dict[str, Any]:
        return {"id": "reorder", "on": ["sale"], "when": when,
                "actions": [{"create_requisition": {"quantity": quantity}}]}

    position = {"var": "stock.inventory_position"}

    def minmax(k: float) -> dict[str, Any]:
        mean = {"var": {"cat": ["sku.attributes.mean.", {"var": "warehouse.code"}]}}
        std = {"var": {"cat": ["sku.attributes.std.", {"var": "warehouse.code"}]}}
        low = {"+": [{"*": [mean, 7]}, {"*": [k, std, math.sqrt(7)]}]}
        # a year's window at service level 0.9999 puts metrics.reorder_point above the min: the
        # requisition action's "open requisitions already cover it" check compares with it,
        # and would otherwise skip the min/max order while an earlier one is on its way (the
        # alert then stays open with no order: see bench/README.md)
        return {"ruleset": "minmax", "settings": {"timezone": "Asia/Shanghai",
                                                  "service_level": 0.9999,
                                                  "demand_window_days": 365},
                "rules": [rule({"<": [position, low]},
                               {"-": [{"+": [low, {"*": [mean, 7]}]}, position]})]}

    def window(level: float) -> dict[str, Any]:
        return {"ruleset": "window", "settings": {"timezone": "Asia/Shanghai", "fill_rate": level},
                "rules": [rule({"<": [position, {"var": "metrics.reorder_point"}]}, "order_up_to")]}

    def seasonal(level: float) -> dict[str, Any]:
        doc = window(level)
        doc["settings"]["forecast_method"] = "seasonal"
        return doc

    t_backtests = 0.0
    k, fixed, spent = tune(minmax, args.k_levels)
    t_backtests += spent
    results = {"fixed min/max": (k, fixed)}
    for make in (window, seasonal):
        level, found, spent = tune(make, args.fill_levels)
        t_backtests += spent
        results[make.__name__] = (level, found)
    print(f"(policies) {len(loaded)} series, 2016–2017 simulated, 2013–2015 history, LT 7 days, "
          f"wanted fill {args.fill:.0%}")
    for name, (level, s) in results.items():
        ratio = s["avg_on_hand"] / fixed["avg_on_hand"]
        print(f"           {name:<14} at {level}: fill {s['fill_rate']:.4f}, average on hand "
              f"{s['avg_on_hand']:.1f} = {ratio:.3f} × fixed min/max ({1 - ratio:+.1%} less)")
    for name, points in tried_all.items():  # for reading only: the tuned figures above count
        at = _at_fill(points, args.fill)
        print(f"           {name:<14} interpolated at exactly {args.fill:.0%} fill: "
              f"{'not bracketed by the levels tried' if at is None else f'{at:.1f} on hand'}")
    best = min(results.items(), key=lambda kv: kv[1][1]["avg_on_hand"])
    print(f"           best built-in policy: {best[0]}, {1 - best[1][1]['avg_on_hand'] / fixed['avg_on_hand']:.1%} "
          f"less stock than the tuned fixed min/max; target ≥ 12 %")
    one = t_backtests / sum(len(v) for v in (args.k_levels, args.fill_levels, args.fill_levels))
    print(f"(c) one backtest of {pair_days:,} daily rows: {one:.0f} s against {t_ingest:.0f} s "
          f"to ingest their events: {t_ingest / one:.1f}×; target ≥ 5×")
    if args.out_json:
        Path(args.out_json).write_text(json.dumps({k: v[1] for k, v in results.items()}, indent=2))


def _at_fill(points: list[tuple[float, float]], fill: float) -> float | None:
    """Average on hand at exactly ``fill``, linear between the two tried levels around it."""
    points = sorted(points)
    for (f0, s0), (f1, s1) in zip(points, points[1:]):
        if f0 <= fill <= f1 and f1 > f0:
            return s0 + (fill - f0) * (s1 - s0) / (f1 - f0)
    return None


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="part", required=True)
    f = sub.add_parser("forecast")
    f.add_argument("--series", type=int, default=100_000)
    f.add_argument("--method", default="seasonal")
    fd = sub.add_parser("forecast-db")
    fd.add_argument("--series", type=int, default=10_000)
    fd.add_argument("--method", default="seasonal")
    fd.add_argument("--url", help="an empty database (default: a new SQLite file)")
    v = sub.add_parser("preview")
    v.add_argument("--skus", type=int, default=100_000)
    v.add_argument("--warehouses", type=int, default=10)
    q = sub.add_parser("policies")
    q.add_argument("--series", type=int, default=500)
    q.add_argument("--fill", type=float, default=0.98)
    q.add_argument("--k-levels", type=lambda s: [float(x) for x in s.split(",")],
                   default=[2.2, 2.4, 2.6, 2.8])
    q.add_argument("--fill-levels", type=lambda s: [float(x) for x in s.split(",")],
                   default=[0.96, 0.97, 0.98])
    q.add_argument("--out-json")
    args = p.parse_args(argv)
    {"forecast": bench_forecast, "forecast-db": bench_forecast_db, "preview": bench_preview,
     "policies": bench_policies}[args.part](args)


if __name__ == "__main__":
    main()
