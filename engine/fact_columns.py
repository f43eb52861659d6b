"""The facts of many SKU×warehouse pairs as numpy columns, for whole-catalogue evaluation.

``PairRow`` is what one pair is made of (ids, stock level, demand window as stored, groups);
``fact_columns`` gives the ``Columns`` a vectorised condition reads (``jsonlogic_vector``),
with the same numbers as ``FactMaker.facts`` for a synthetic event at ``today``: SPEC §3's
formulas in the same order of operations (so the same floats), the demand window's sums exact
(``math.fsum``, as ``DemandWindow`` does), and the pairs of forecast, calendar or fill-rate
groups through the fact maker's own forecast step. Columns are built when a condition first
reads them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from engine.calendars import plain_facts
from engine.facts import FactMaker
from engine.rules.jsonlogic_vector import BOOL, LIST, NUM, STR, Col, Columns
from engine.stock import StockLevel


@dataclass(slots=True)
class PairRow:
    sku_id: int
    wh_id: int
    level: StockLevel
    window: Any  # the stored demand window: a dict, its JSON text, or None
    groups: tuple[str, ...]


def window_stats(window: Any, today: date, days: int) -> tuple[float, float, int | None]:
    """Mean and population std of the ``days`` days ending ``today`` and the last demand day's
    ordinal, from a stored window (``DemandWindow.to_dict``), exactly as ``DemandWindow.stats``."""
    if isinstance(window, str | bytes):
        window = json.loads(window)
    if not window:
        return 0.0, 0.0, None
    last = window.get("last")
    last_ord = date.fromisoformat(last).toordinal() if last else None
    start = window.get("start")
    if not start:
        return 0.0, 0.0, last_ord
    first = date.fromisoformat(start).toordinal()
    end = today.toordinal()
    lo = max(end - days + 1 - first, 0)
    hi = end - first + 1
    values = [v for v in window["qty"][lo:hi] if v] if hi > 0 else []
    if not values:
        return 0.0, 0.0, last_ord
    total = math.fsum(values)
    squares = math.fsum([float(v) * float(v) for v in values])
    mean = total / days
    return mean, math.sqrt(max(squares / days - mean * mean, 0.0)), last_ord


def fact_columns(rows: Sequence[PairRow], today: date, event_type: str,
                 maker_for: Callable[[int, tuple[str, ...]], FactMaker],
                 sku_facts: Mapping[int, Mapping[str, Any]],
                 warehouse_facts: Mapping[int, Mapping[str, Any]],
                 totals: Mapping[int, float] | None = None) -> Columns:
    """The columns of ``rows``' facts; ``maker_for(sku_id, groups)`` gives each pair's fact
    maker (its params, lead time, z, calendars and forecasts)."""
    n = len(rows)
    makers = [maker_for(r.sku_id, r.groups) for r in rows]
    stats = [window_stats(r.window, today, m.window_days) for r, m in zip(rows, makers)]
    d = np.array([s[0] for s in stats], dtype=np.float64)
    sd = np.array([s[1] for s in stats], dtype=np.float64)
    on_hand = np.array([r.level.on_hand for r in rows], dtype=np.float64)
    reserved = np.array([r.level.reserved for r in rows], dtype=np.float64)
    on_order = np.array([r.level.on_order for r in rows], dtype=np.float64)
    available = on_hand - reserved
    codes = [(sku_facts[r.sku_id].get("code"), warehouse_facts[r.wh_id].get("code")) for r in rows]
    metrics = _metrics(makers, codes, d, sd, today)
    cols: dict[str, Col] = {
        "stock.on_hand": Col(NUM, on_hand), "stock.reserved": Col(NUM, reserved),
        "stock.available": Col(NUM, available), "stock.on_order": Col(NUM, on_order),
        "stock.inventory_position": Col(NUM, available + on_order),
        "metrics.avg_daily_demand": Col(NUM, d), "metrics.demand_std": Col(NUM, sd),
        **metrics,
    }
    total = np.array([totals.get(r.sku_id, 0.0) for r in rows]) if totals is not None else available
    cols["stock.total_available"] = Col(NUM, total)
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["metrics.days_of_cover"] = Col(NUM, np.where(d > 0, available / np.where(d > 0, d, 1), 0.0),
                                            d <= 0)
    last = np.array([s[2] if s[2] is not None else -1 for s in stats], dtype=np.float64)
    cols["metrics.days_since_last_sale"] = Col(NUM, today.toordinal() - last, last < 0)
    cols["event.type"] = Col(STR, event_type)

    def provide(path: str) -> Col | None:
        if path in cols:
            return cols[path]
        root, _, name = path.partition(".")
        if root == "sku":
            return _record([sku_facts[r.sku_id] for r in rows], name)
        if root == "warehouse":
            return _record([warehouse_facts[r.wh_id] for r in rows], name)
        if root == "params":
            return _record([m.params for m in makers], name)
        if root == "supplier":
            return _record([m.supplier or {} for m in makers], name)
        if root == "calendar":
            return _record([m.calendar.facts(today) if m.calendar is not None
                            else plain_facts(today, m.promotion_days) for m in makers], name)
        return None

    return Columns(n, provide)


def _metrics(makers: list[FactMaker], codes: list[tuple[Any, Any]], d: np.ndarray,
             sd: np.ndarray, today: date) -> dict[str, Col]:
    lt = np.array([m.lead_time for m in makers], dtype=np.float64)
    slt = np.array([m.sigma_lt for m in makers], dtype=np.float64)
    slt2 = np.array([m.sigma_lt2 for m in makers], dtype=np.float64)
    z = np.array([m.z if m.z is not None else math.nan for m in makers], dtype=np.float64)
    review = np.array([m.review for m in makers], dtype=np.float64)
    ss = z * np.sqrt(lt * sd**2 + d**2 * slt2)  # FactMaker.facts' order of operations
    rop = d * lt + ss
    top = rop + d * review
    daily, ltd, rev, err, factor = d.copy(), d * lt, d * review, sd.copy(), z.copy()
    method = np.full(len(makers), "mean", dtype=object)
    for i, m in enumerate(makers):
        if m.plain:
            continue
        lt[i], ss[i], rop[i], top[i], f = m.forecast_metrics(
            today, float(d[i]), float(sd[i]), float(z[i]), *codes[i])
        daily[i], ltd[i], rev[i] = f["daily"], f["lead_time_demand"], f["review_demand"]
        err[i], factor[i], method[i] = f["error_std"], f["safety_factor"], f["method"]
    return {
        "metrics.lead_time_days": Col(NUM, lt), "metrics.lead_time_std": Col(NUM, slt),
        "metrics.safety_stock": Col(NUM, ss), "metrics.reorder_point": Col(NUM, rop),
        "metrics.max_stock": Col(NUM, top),
        "forecast.daily": Col(NUM, daily), "forecast.lead_time_demand": Col(NUM, ltd),
        "forecast.review_demand": Col(NUM, rev), "forecast.error_std": Col(NUM, err),
        "forecast.safety_factor": Col(NUM, factor), "forecast.method": Col(STR, method),
    }


def _record(records: list[Mapping[str, Any]], name: str) -> Col | None:
    """A column of one field of many records (sku, warehouse, params…): None when its values
    are of several kinds or of a kind the vectorised path does not read."""
    parts = name.split(".")
    values = [_walk(rec, parts) for rec in records]
    null = np.array([v is None for v in values], dtype=bool)
    present = [v for v in values if v is not None]
    kinds = {_kind(v) for v in present}
    if len(kinds) > 1 or None in kinds:
        return None
    kind = kinds.pop() if kinds else NUM
    if kind == NUM:
        arr: Any = np.array([0.0 if v is None else float(v) for v in values], dtype=np.float64)
    elif kind == BOOL:
        arr = np.array([bool(v) for v in values], dtype=bool)
    else:
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
    return Col(kind, arr, null if null.any() else None)


def _walk(record: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(record, Mapping):
            return None
        record = record.get(part)
    return record


def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int | float):
        return NUM
    if isinstance(value, str):
        return STR
    if isinstance(value, list):
        return LIST
    return None
