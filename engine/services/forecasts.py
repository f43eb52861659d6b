"""The daily forecast job (issue #16): every series of the groups that ask for a forecast, fitted
at once from the recorded daily demand, stored per SKU×warehouse.

One run reads the last ``HISTORY_DAYS`` days of ``demand_days`` for those pairs into one matrix
per method and parameters, fits it with ``engine.forecast`` (numpy, all series together) and
replaces the stored forecasts. The catalogue revision is bumped so that every process reloads
its snapshot, and with it the forecasts. Nothing is fitted per event.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, delete, func, select, update

from engine.forecast import DEFAULT_ALPHA, DEFAULT_BETA, fit
from engine.services import audit
from engine.services.engine_cache import Snapshot
from engine.storage import bulk
from engine.storage.tables import audit_log, forecasts, ruleset_state, stock_levels

log = logging.getLogger(__name__)
PAGE = 50_000
"""Rows of demand_days fetched at a time."""
BLOCK = 10_000
"""Pairs read and fitted together: memory stays that of one block's two years."""
WAREHOUSE_SPAN = 1 << 20
"""sku_id × this + warehouse_id: one number per pair (exact in a float64 below 2**53)."""
EPOCH = date(1970, 1, 1).toordinal()
HISTORY_DAYS = 730
"""Two years: enough for a yearly seasonal index (one year is the least it needs)."""
EVERY = timedelta(days=1)
ACTION = "forecast.recompute"


def due(conn: Connection, now: datetime) -> bool:
    """True when the forecasts were last computed a day ago or more (kept in the audit log)."""
    last = conn.execute(select(func.max(audit_log.c.at)).where(audit_log.c.action == ACTION)).scalar()
    return last is None or now - last >= EVERY


def forecast_pairs(conn: Connection, snap: Snapshot) -> dict[tuple[Any, ...], list[tuple[int, int]]]:
    """The SKU×warehouse pairs with a stock level whose groups ask for a forecast other than the
    window mean, by (method, window, alpha, beta)."""
    out: dict[tuple[Any, ...], list[tuple[int, int]]] = defaultdict(list)
    if snap.ruleset is None:
        return out
    rows = conn.execute(select(stock_levels.c.sku_id, stock_levels.c.warehouse_id)
                        .order_by(stock_levels.c.sku_id, stock_levels.c.warehouse_id))
    for sku_id, wh_id in rows:
        if sku_id not in snap.sku_facts or wh_id not in snap.warehouse_facts:
            continue
        params = snap.params(snap._groups_by_ids(sku_id, wh_id))
        method = params.get("forecast_method") or "mean"
        if method == "mean":
            continue
        key = (method, int(params.get("demand_window_days", 28)),
               float(params.get("forecast_alpha") or DEFAULT_ALPHA),
               float(params.get("forecast_beta") or DEFAULT_BETA))
        out[key].append((sku_id, wh_id))
    return out


def history(conn: Connection, pairs: list[tuple[int, int]], last_day: date,
            days: int = HISTORY_DAYS) -> np.ndarray:
    """Daily demand of ``pairs`` (rows) over ``days`` days ending ``last_day`` (columns): 0 on
    days without demand after a pair's first demand day, NaN before it. The rows of the pairs'
    SKUs are read as the driver gives them and placed with numpy, a page at a time."""
    first = last_day - timedelta(days - 1)
    y = np.zeros((len(pairs), days), dtype=np.float64)
    seen = np.zeros((len(pairs), days), dtype=bool)
    if pairs:
        if max(w for _, w in pairs) >= WAREHOUSE_SPAN:
            raise ValueError("warehouse ids must be below 2**20 for the forecast job's keys")
        keys = np.array([s * WAREHOUSE_SPAN + w for s, w in pairs], dtype=np.int64)
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        base = first.toordinal() - EPOCH
        p = bulk.placeholder(conn)
        sqlite = conn.dialect.name == "sqlite"
        # the day as days since 1970-01-01 and the pair as one number: every value a number,
        # so that a page becomes one numpy array in one call
        day = ("CAST(julianday(day) - 2440587.5 AS INTEGER)" if sqlite
               else "(day - DATE '1970-01-01')")
        bounds = (min(s for s, _ in pairs), max(s for s, _ in pairs),
                  first.isoformat() if sqlite else first,
                  last_day.isoformat() if sqlite else last_day)
        cursor = conn.exec_driver_sql(
            f"SELECT sku_id * {WAREHOUSE_SPAN} + warehouse_id, {day}, qty FROM demand_days "
            f"WHERE sku_id >= {p} AND sku_id <= {p} AND day >= {p} AND day <= {p}",
            bounds).cursor
        try:
            while page := cursor.fetchmany(PAGE):
                values = np.array(page, dtype=np.float64)
                key = values[:, 0].astype(np.int64)
                at = np.searchsorted(sorted_keys, key)
                found = at < len(sorted_keys)
                found[found] = sorted_keys[at[found]] == key[found]
                rows = order[at[found]]
                t = values[found, 1].astype(np.int64) - base
                y[rows, t] = values[found, 2]  # one row a pair and day (the primary key)
                seen[rows, t] = True
        finally:
            cursor.close()
    start = np.where(seen.any(axis=1), seen.argmax(axis=1), days)
    y[np.arange(days)[None, :] < start[:, None]] = np.nan
    return y


def recompute(conn: Connection, snap: Snapshot, today: date, now: datetime | None = None) -> dict[str, int]:
    """Fit and store the forecast of every pair that asks for one, from history up to yesterday;
    the forecasts of other pairs are removed. Returns the count per method fitted."""
    now = now or datetime.combine(today, time(), UTC)
    last_day = today - timedelta(days=1)
    rows: list[dict[str, Any]] = []
    counts: dict[str, int] = defaultdict(int)
    for (method, window, alpha, beta), pairs in forecast_pairs(conn, snap).items():
        models = [m for n in range(0, len(pairs), BLOCK)  # pairs by SKU: a block is a range
                  for m in fit(history(conn, pairs[n:n + BLOCK], last_day), last_day, method,
                               window_days=window, alpha=alpha, beta=beta)]
        for (sku_id, wh_id), model in zip(pairs, models, strict=True):
            if model.method == "mean":  # too little history: the facts use the live window
                counts["mean"] += 1
                continue
            rows.append({"sku_id": sku_id, "warehouse_id": wh_id, "method": model.method,
                         "model": model.to_dict(), "computed_at": now})
            counts[model.method] += 1
    conn.execute(delete(forecasts))
    if rows:
        bulk.insert_many(conn, forecasts, ("sku_id", "warehouse_id", "method", "model", "computed_at"),
                         [tuple(r.values()) for r in rows])
    # every process reloads its snapshot, and so the forecasts, on its next batch
    conn.execute(update(ruleset_state).where(ruleset_state.c.id == 1)
                 .values(catalog_revision=ruleset_state.c.catalog_revision + 1))
    audit.record(conn, now, "system", ACTION, last_day.isoformat(), **counts)
    return dict(counts)
