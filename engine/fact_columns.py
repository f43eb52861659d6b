"""The facts of many SKU×warehouse pairs as numpy columns, for whole-catalogue evaluation.

``PairRows`` are the pairs (ids, stock levels, demand windows as stored, groups) as columns;
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
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from itertools import repeat
from typing import Any

import numpy as np

from engine.calendars import plain_facts
from engine.facts import FactMaker
from engine.metrics import PACKED_FORMAT, DemandWindow
from engine.pair_rows import PairRow, PairRows
from engine.rules.jsonlogic_vector import BOOL, LIST, NUM, STR, Col, Columns


def window_stats(window: Any, today: date, days: int) -> tuple[float, float, int | None]:
    """Mean and population std of the ``days`` days ending ``today`` and the last demand day's
    ordinal, from a stored window (``DemandWindow.to_dict``), exactly as ``DemandWindow.stats``."""
    if isinstance(window, bytes):
        window = DemandWindow.from_packed(window).to_dict()
    elif isinstance(window, str):
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


WINDOW_CHUNK = 20_000
"""Windows summed together at most (a million windows' quantities are 30M floats)."""


def window_columns(windows: Sequence[Any], today: date, days: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``window_stats`` of every stored window at once: mean, std and last demand ordinal (-1:
    none). Packed windows are read at once, JSON texts decoded in one call; the window sums are
    row sums of one matrix (packed windows of one length) or of ranges of all quantities (one
    ``np.add.reduceat``), exact for whole quantities (as ``math.fsum``); a window holding a fraction
    is summed by ``window_stats`` itself."""
    n = len(windows)
    if n > WINDOW_CHUNK:  # a chunk's arrays stay in the processor's caches
        parts = [window_columns(windows[i:i + WINDOW_CHUNK], today, days[i:i + WINDOW_CHUNK])
                 for i in range(0, n, WINDOW_CHUNK)]
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]))
    ordinals: dict[Any, int] = {None: -1}

    def ordinal(text: Any) -> int:
        found = ordinals.get(text)
        if found is None:
            found = ordinals[text] = date.fromisoformat(text).toordinal()
        return found

    parsed = _parse_texts(windows)
    sizes = _packed_sizes(windows) if parsed is None else None
    packed = sizes is not None
    decoded: list[Any]
    if sizes is not None:  # DemandWindow.to_packed, read by numpy at once
        start, last, lengths, offsets, flat = _unpack(windows, sizes)
        decoded = list(windows)
    elif parsed is not None:  # the stored texts, read by one regular expression and numpy
        starts, qty_texts, lasts = parsed
        start = np.array([ordinal(t) for t in starts], dtype=np.int64)
        last = np.array([ordinal(t) for t in lasts], dtype=np.float64)
        lengths = np.array([t.count(",") + 1 if t else 0 for t in qty_texts], dtype=np.int64)
        joined = ",".join(t for t in qty_texts if t)
        flat = np.fromstring(joined, sep=",") if joined else np.zeros(0)
        decoded = list(windows)  # decoded one by one only where needed (fractions)
    else:
        decoded = [DemandWindow.from_packed(w).to_dict() if isinstance(w, bytes) else
                   json.loads(w) if isinstance(w, str) else w for w in windows]
        empty: list[Any] = []
        qtys = [w.get("qty") or empty if w else empty for w in decoded]
        start = np.array([ordinal(w.get("start")) if w else -1 for w in decoded], dtype=np.int64)
        last = np.array([ordinal(w.get("last")) if w else -1 for w in decoded], dtype=np.float64)
        lengths = np.array([len(q) for q in qtys], dtype=np.int64)
        flat = np.fromiter((v for q in qtys for v in q), dtype=np.float64, count=int(lengths.sum()))
    if not packed:
        if flat.shape[0] != int(lengths.sum()):
            raise ValueError("stored demand windows could not be read")
        offsets = np.concatenate(([0], np.cumsum(lengths)))[:-1]
    end = today.toordinal()
    lo = np.clip(end - days + 1 - start, 0, lengths)
    hi = np.clip(end - start + 1, 0, lengths)
    hi = np.maximum(hi, lo)
    stored = sizes[sizes > 0] if sizes is not None else None
    if stored is not None and len(stored) and stored.min() == stored.max() >= 2:
        # windows of one length (the usual case): a matrix, each row's days summed in place
        # (whole numbers, so exact in any order); a row holding a fraction is done below
        width = int(stored[0]) - 2
        matrix = flat.reshape(len(stored), width + 2)[:, 2:]
        if len(stored) < n:  # rows without a window: no days
            full = np.zeros((n, width))
            full[np.asarray(sizes) > 0] = matrix
            matrix = full
        days_in = np.arange(width)
        inside = (days_in >= lo[:, None]) & (days_in < hi[:, None])
        values = np.where(inside, matrix, 0.0)
        sums, squares = values.sum(axis=1), (values * values).sum(axis=1)
        odd = (values != np.floor(values)).any(axis=1) | (squares >= 2**52)
    else:  # each window's days [lo, hi) summed by one reduceat over all quantities: exact for
        # whole numbers whose squares' sum is below 2**52 (then every partial sum is too);
        # a window holding a fraction is summed by window_stats below
        whole = flat == np.floor(flat)
        padded = np.append(np.where(whole, flat, 0.0), 0.0)  # reduceat's last index < its size
        bounds = np.empty(2 * n, dtype=np.int64)
        bounds[0::2], bounds[1::2] = offsets + lo, offsets + hi
        empty = lo == hi  # reduceat gives the value at an empty range's start: no days
        sums = np.where(empty, 0.0, np.add.reduceat(padded, bounds)[0::2]) if n else np.zeros(0)
        squares = (np.where(empty, 0.0, np.add.reduceat(padded * padded, bounds)[0::2])
                   if n else np.zeros(0))
        if whole.all():
            odd = squares >= 2**52
        else:
            count = np.append((~whole).astype(np.float64), 0.0)
            odd = (np.where(empty, 0.0, np.add.reduceat(count, bounds)[0::2]) > 0) | (
                squares >= 2**52)
    mean = sums / days
    std = np.sqrt(np.maximum(squares / days - mean * mean, 0.0))
    nothing = (start < 0) | (sums == 0) & (squares == 0)
    mean[nothing], std[nothing] = 0.0, 0.0
    for i in np.flatnonzero(odd):
        mean[i], std[i], _ = window_stats(decoded[i], today, int(days[i]))
    return mean, std, last


def _packed_sizes(windows: Sequence[Any]) -> np.ndarray | None:
    """The number of float64s of each packed window (0: none); None unless all are packed."""
    kinds = set(map(type, windows))  # each pass over the windows in C, not a Python loop
    if not kinds <= {bytes, type(None)}:
        return None
    if type(None) in kinds:
        return np.array([len(w) if w else 0 for w in windows], dtype=np.int64) // 8
    return np.fromiter(map(len, windows), dtype=np.int64, count=len(windows)) // 8


def _unpack(windows: Sequence[bytes | None], sizes: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Packed windows (``DemandWindow.to_packed``) read at once: first day's ordinal (-1: no
    day), last demand ordinal (-1: never), number of days, offset of each window's first day
    in the returned quantities (whose other places hold 0)."""
    flat = np.frombuffer(b"".join(filter(None, windows)), dtype=PACKED_FORMAT).astype(np.float64)
    if flat.shape[0] != int(sizes.sum()) or (sizes[sizes > 0] < 2).any():
        raise ValueError("stored demand windows could not be read")
    heads = np.concatenate(([0], np.cumsum(sizes)))[:-1]
    has = sizes > 0
    start = np.full(len(windows), -1, dtype=np.int64)
    last = np.full(len(windows), -1.0)
    start[has] = flat[heads[has]].astype(np.int64)
    last[has] = flat[heads[has] + 1]
    flat[heads[has]] = 0.0  # the ordinals are no demand
    flat[heads[has] + 1] = 0.0
    start[start == 0] = -1
    last[last == 0] = -1.0
    lengths = np.where(start > 0, sizes - 2, 0)
    offsets = np.where(has, heads + 2, 0)
    return start, last, lengths, offsets, flat


_WINDOW = re.compile(r'\{"start": (?:null|"([0-9-]+)"), "qty": \[([^\]]*)\], '
                     r'"last": (?:null|"([0-9-]+)")\}')


def _parse_texts(windows: Sequence[Any]) -> tuple[list[Any], list[str], list[Any]] | None:
    """(starts, quantity texts, lasts) of windows stored as JSON text in the encoder's usual
    form; None when any is not (then they are decoded as JSON)."""
    if not windows or not all(type(w) is str for w in windows):
        return None
    found = _WINDOW.findall("\n".join(windows))
    if len(found) != len(windows) or any(len(w) > 2 and not w.startswith('{"start"') for w in windows[:1]):
        return None
    return ([s or None for s, _, _ in found], [q for _, q, _ in found],
            [t or None for _, _, t in found])


def fact_columns(rows: Sequence[PairRow] | PairRows, today: date, event_type: str,
                 maker_for: Callable[[int, tuple[str, ...]], FactMaker],
                 sku_facts: Mapping[int, Mapping[str, Any]],
                 warehouse_facts: Mapping[int, Mapping[str, Any]],
                 totals: Mapping[int, float] | None = None) -> Columns:
    """The columns of ``rows``' facts; ``maker_for(sku_id, groups)`` gives each pair's fact
    maker (its params, lead time, z, calendars and forecasts), asked once per distinct SKU and
    groups, as is every fact of a SKU."""
    rows = PairRows.of(rows)
    n = len(rows)
    skus, sku_of = np.unique(rows.sku_id, return_inverse=True)
    sku_of = sku_of.reshape(-1)
    groupings = rows.groupings
    keys, which = np.unique(sku_of * max(len(groupings), 1) + rows.group_of, return_inverse=True)
    which = which.reshape(-1)
    sku_list = skus.tolist()
    width = max(len(groupings), 1)
    many = getattr(maker_for, "many", None)  # makers for many SKUs in one call
    if many is not None:
        found = np.empty(len(keys), dtype=object)
        key_groups = keys % width
        for g in np.unique(key_groups).tolist():
            at = np.flatnonzero(key_groups == g)
            found[at] = many(skus[keys[at] // width].tolist(), groupings[g])
        ones: list[FactMaker] = found.tolist()
    else:
        ones = [maker_for(sku_list[k // width], groupings[k % width]) for k in keys.tolist()]
    d, sd, last = window_columns(rows.windows, today,
                                 np.array([m.window_days for m in ones], dtype=np.int64)[which])
    on_hand, reserved, on_order = rows.on_hand, rows.reserved, rows.on_order
    available = on_hand - reserved
    def codes(i: int) -> tuple[Any, Any]:
        return (sku_facts[int(rows.sku_id[i])].get("code"),
                warehouse_facts[int(rows.wh_id[i])].get("code"))

    metrics = _metrics(ones, which, codes, d, sd, today)
    cols: dict[str, Col] = {
        "stock.on_hand": Col(NUM, on_hand), "stock.reserved": Col(NUM, reserved),
        "stock.available": Col(NUM, available), "stock.on_order": Col(NUM, on_order),
        "stock.inventory_position": Col(NUM, available + on_order),
        "metrics.avg_daily_demand": Col(NUM, d), "metrics.demand_std": Col(NUM, sd),
        **metrics,
    }
    if totals is not None:
        total = np.fromiter(map(totals.get, sku_list, repeat(0.0)), dtype=np.float64,
                            count=len(sku_list))[sku_of]
    else:
        total = available
    cols["stock.total_available"] = Col(NUM, total)
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["metrics.days_of_cover"] = Col(NUM, np.where(d > 0, available / np.where(d > 0, d, 1), 0.0),
                                            d <= 0)
    cols["metrics.days_since_last_sale"] = Col(NUM, today.toordinal() - last, last < 0)
    for col in cols.values():  # each the per-event float (the property test compares them)
        col.exact = True
    cols["event.type"] = Col(STR, event_type)

    def per(records: list[Mapping[str, Any]], name: str, index: np.ndarray) -> Col | None:
        col = _record(records, name)  # once per distinct SKU, warehouse or maker
        if col is None:
            return None
        return Col(col.kind, col.values[index], None if col.null is None else col.null[index])

    def provide(path: str) -> Col | None:
        if path in cols:
            return cols[path]
        root, _, name = path.partition(".")
        if root == "sku":
            return per([sku_facts[s] for s in sku_list], name, sku_of)
        if root == "warehouse":
            whs, wh_of = np.unique(rows.wh_id, return_inverse=True)
            return per([warehouse_facts[w] for w in whs.tolist()], name, wh_of.reshape(-1))
        if root == "params":
            return per([m.params for m in ones], name, which)
        if root == "supplier":
            return per([m.supplier or {} for m in ones], name, which)
        if root == "calendar":
            return per([m.calendar.facts(today) if m.calendar is not None
                        else plain_facts(today, m.promotion_days) for m in ones], name, which)
        return None

    return Columns(n, provide)


def _metrics(ones: list[FactMaker], which: np.ndarray, codes: Callable[[int], tuple[Any, Any]],
             d: np.ndarray, sd: np.ndarray, today: date) -> dict[str, Col]:
    # each attribute once per distinct maker (a SKU's, shared by its warehouses), then per row
    lt = np.array([m.lead_time for m in ones], dtype=np.float64)[which]
    slt = np.array([m.sigma_lt for m in ones], dtype=np.float64)[which]
    slt2 = np.array([m.sigma_lt2 for m in ones], dtype=np.float64)[which]
    z = np.array([m.z if m.z is not None else math.nan for m in ones], dtype=np.float64)[which]
    review = np.array([m.review for m in ones], dtype=np.float64)[which]
    plain = np.array([m.plain for m in ones], dtype=bool)[which]
    ss = z * np.sqrt(lt * sd**2 + d**2 * slt2)  # FactMaker.facts' order of operations
    rop = d * lt + ss
    top = rop + d * review
    daily, ltd, rev, err, factor = d.copy(), d * lt, d * review, sd.copy(), z.copy()
    method = np.full(len(which), "mean", dtype=object)
    for i in np.flatnonzero(~plain).tolist():
        m = ones[int(which[i])]
        lt[i], ss[i], rop[i], top[i], f = m.forecast_metrics(
            today, float(d[i]), float(sd[i]), float(z[i]), *codes(i))
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
    kind = next((k for k in kinds if k is not None), NUM)  # the one kind, None excluded above
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
