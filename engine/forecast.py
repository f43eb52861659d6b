"""Demand forecasts of every series at once (issue #16): window mean, exponential smoothing,
Holt's trend, and seasonal (weekday profile × yearly index), vectorised with numpy.

``fit`` takes a matrix of daily demand, one row per SKU×warehouse, ending on the same day, with
NaN before each series' first day, and returns one ``Model`` per row. A model forecasts any
later day with ``predict`` (pure Python: the engine asks it per event) and says how far its
one-day-ahead forecasts missed lately (``error_std``), from which safety stock is computed.
The work is a loop over days with numpy operations over all series (SES, Holt) or a few
column reductions (mean, seasonal), so 100k two-year series take seconds, not hours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

MIN_SEASONAL_DAYS = 365
"""Less history than this: the seasonal method uses the weekday profile only (no yearly index)."""
MIN_WEEKDAY_DAYS = 28
"""Less than this: the seasonal method falls back to the window mean."""
ERROR_DAYS = 28
"""The one-day-ahead errors of the last this many days give ``error_std``."""
CHUNK = 5000
"""Series fitted together at most: the working copies stay within a few hundred megabytes."""
DEFAULT_ALPHA = 0.2
DEFAULT_BETA = 0.05


@dataclass(frozen=True, slots=True)
class Model:
    """One series' forecast: level (and trend) at ``origin``, seasonal factors, error."""

    method: str  # what was fitted: mean | ses | holt | seasonal | weekday (seasonal's fallback)
    origin: date  # the last day of history
    level: float
    trend: float = 0.0
    weekday: tuple[float, ...] | None = None  # Monday … Sunday
    yearly: tuple[float, ...] | None = None  # January … December
    error_std: float = 0.0

    def predict(self, day: date) -> float:
        """The forecast demand of ``day`` (after ``origin``), never below 0."""
        value = self.level + self.trend * (day - self.origin).days
        if self.weekday is not None:
            value *= self.weekday[day.weekday()]
        if self.yearly is not None:
            value *= self.yearly[day.month - 1]
        return value if value > 0 else 0.0

    def predict_days(self, first: date, days: int) -> list[float]:
        """``predict`` of ``days`` days from ``first`` (the same floats, with the days' weekdays
        and months looked up once for every model)."""
        base = (first - self.origin).days
        level, trend, weekday, yearly = self.level, self.trend, self.weekday, self.yearly
        out = []
        for n, wd, month in _calendar(first, max(days, 0)):
            value = level + trend * (base + n)
            if weekday is not None:
                value *= weekday[wd]
            if yearly is not None:
                value *= yearly[month]
            out.append(value if value > 0 else 0.0)
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "origin": self.origin.isoformat(),
                               "level": self.level, "trend": self.trend,
                               "error_std": self.error_std}
        if self.weekday is not None:
            out["weekday"] = list(self.weekday)
        if self.yearly is not None:
            out["yearly"] = list(self.yearly)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        return cls(method=data["method"], origin=date.fromisoformat(data["origin"]),
                   level=float(data["level"]), trend=float(data.get("trend") or 0.0),
                   weekday=tuple(data["weekday"]) if data.get("weekday") else None,
                   yearly=tuple(data["yearly"]) if data.get("yearly") else None,
                   error_std=float(data.get("error_std") or 0.0))


@lru_cache(maxsize=1024)
def _calendar(first: date, days: int) -> tuple[tuple[int, int, int], ...]:
    """(offset, weekday, month index) of ``days`` days from ``first``."""
    out = []
    for n in range(days):
        day = first + timedelta(n)
        out.append((n, day.weekday(), day.month - 1))
    return tuple(out)


def fit(demand: np.ndarray, last_day: date, method: str, *, window_days: int = 28,
        alpha: float = DEFAULT_ALPHA, beta: float = DEFAULT_BETA) -> list[Model]:
    """One model per row of ``demand`` (series × days ending ``last_day``; NaN before a series
    starts). ``method`` is one of mean, ses, holt, seasonal."""
    y = np.asarray(demand, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError("demand must be a matrix: one row per series, one column per day")
    if y.shape[0] > CHUNK:  # bounded memory: the seasonal method holds a few copies of its rows
        return [m for i in range(0, y.shape[0], CHUNK)
                for m in fit(y[i:i + CHUNK], last_day, method, window_days=window_days,
                             alpha=alpha, beta=beta)]
    if method == "mean":
        return _mean(y, last_day, window_days)
    if method == "ses":
        return _smooth(y, last_day, alpha, None)
    if method == "holt":
        return _smooth(y, last_day, alpha, beta)
    if method == "seasonal":
        return _seasonal(y, last_day, window_days)
    raise ValueError(f"unknown forecast method {method!r}")


def _mean(y: np.ndarray, last_day: date, window: int) -> list[Model]:
    tail = np.nan_to_num(y[:, -window:], nan=0.0)  # the window counts days without demand as 0
    mean = tail.sum(axis=1) / window
    std = np.sqrt(np.maximum((tail * tail).sum(axis=1) / window - mean * mean, 0.0))
    return [Model("mean", last_day, float(m), error_std=float(s)) for m, s in zip(mean, std)]


def _smooth(y: np.ndarray, last_day: date, alpha: float, beta: float | None) -> list[Model]:
    """Simple (beta None) or Holt's linear exponential smoothing, all series in step."""
    n, days = y.shape
    level = np.full(n, np.nan)
    trend = np.zeros(n)
    sq = np.zeros(n)  # squared one-day-ahead errors of the last ERROR_DAYS days
    count = np.zeros(n)
    for t in range(days):
        obs = y[:, t]
        seen = ~np.isnan(obs)
        fresh = seen & np.isnan(level)
        level[fresh] = obs[fresh]  # a series starts at its first day's demand
        going = seen & ~fresh
        forecast = level + trend
        if t >= days - ERROR_DAYS:
            err = np.where(going, obs - forecast, 0.0)
            sq += err * err
            count += going
        new_level = alpha * obs + (1 - alpha) * forecast
        if beta is not None:
            trend = np.where(going, beta * (new_level - level) + (1 - beta) * trend, trend)
        level = np.where(going, new_level, level)
    level = np.nan_to_num(level, nan=0.0)
    error = np.sqrt(np.divide(sq, count, out=np.zeros(n), where=count > 0))
    name = "ses" if beta is None else "holt"
    return [Model(name, last_day, float(lv), float(tr) if beta is not None else 0.0,
                  error_std=float(e)) for lv, tr, e in zip(level, trend, error)]


def _seasonal(y: np.ndarray, last_day: date, window: int) -> list[Model]:
    """Level × weekday profile × yearly (monthly) index.

    The weekday profile is each weekday's mean over the last year (or what there is) over the
    mean of those days; the yearly index each month's mean over the whole years of history
    over their mean. The level is the last ``window`` days' mean with both taken out. The error
    is that of forecasting each of the last ERROR_DAYS days from the level of the ``window``
    days before it."""
    n, days = y.shape
    history = (~np.isnan(y)).sum(axis=1)
    day0 = last_day - timedelta(days - 1)
    dates = [day0 + timedelta(t) for t in range(days)]
    wd_of = np.array([d.weekday() for d in dates])
    month_of = np.array([d.month - 1 for d in dates])
    years = (history // 365)[:, None]  # whole years of history per series
    in_years = np.arange(days)[None, :] >= days - years * 365
    yearly = _profile(np.where(in_years, y, np.nan), month_of, 12)
    has_year = history >= MIN_SEASONAL_DAYS
    yearly[~has_year] = 1.0
    # the weekday profile of the last year with the season taken out (a year's Mondays fall
    # unevenly in its months)
    span = min(days, 364)
    recent = y[:, -span:] / yearly[:, month_of[-span:]]
    weekday = _profile(recent, wd_of[-span:], 7)
    factor = weekday[:, wd_of] * yearly[:, month_of]  # series × days
    with np.errstate(invalid="ignore", divide="ignore"):
        plain = np.where(factor > 0, y / factor, np.nan)
    level = _nanmean(plain[:, -window:])
    error = _rolling_error(y, plain, factor, window, level)
    fallback = _mean(y, last_day, window)
    out = []
    for i in range(n):
        if history[i] < MIN_WEEKDAY_DAYS or not math.isfinite(level[i]):
            out.append(fallback[i])
            continue
        out.append(Model("seasonal" if has_year[i] else "weekday", last_day, float(level[i]),
                         weekday=tuple(float(v) for v in weekday[i]),
                         yearly=tuple(float(v) for v in yearly[i]) if has_year[i] else None,
                         error_std=float(error[i]) if math.isfinite(error[i]) else 0.0))
    return out


def _rolling_error(y: np.ndarray, plain: np.ndarray, factor: np.ndarray, window: int,
                   level: np.ndarray) -> np.ndarray:
    """RMS error of forecasting each of the last ERROR_DAYS days as the daily refit does: the
    level of the ``window`` days before it times the day's factor (the level of the days
    there are when there are fewer; the fitted level when there are none before)."""
    days = y.shape[1]
    span = min(ERROR_DAYS, days)
    lead = min(window, days - span)
    part = plain[:, days - span - lead:]
    seen = ~np.isnan(part)
    cs = np.concatenate((np.zeros((part.shape[0], 1)), np.cumsum(np.where(seen, part, 0.0), 1)), 1)
    cn = np.concatenate((np.zeros((part.shape[0], 1)), np.cumsum(seen, 1)), 1)
    ends = np.arange(lead, lead + span)  # day t's level: days [t - window, t) of ``part``
    starts = np.maximum(ends - window, 0)
    count = cn[:, ends] - cn[:, starts]
    with np.errstate(invalid="ignore", divide="ignore"):
        before = np.where(count > 0, (cs[:, ends] - cs[:, starts]) / count, level[:, None])
    err = y[:, -span:] - before * factor[:, -span:]
    return np.sqrt(_nanmean(err * err))


def _nanmean(a: np.ndarray) -> np.ndarray:
    count = (~np.isnan(a)).sum(axis=1)
    total = np.nansum(a, axis=1)
    return np.divide(total, count, out=np.full(a.shape[0], np.nan), where=count > 0)


def _profile(y: np.ndarray, key: np.ndarray, size: int) -> np.ndarray:
    """Per series, the mean of the days of each key (weekday, month) over the mean of the
    keys' means; 1 where a series has no demand there (a flat profile)."""
    means = np.stack([_nanmean(y[:, key == k]) for k in range(size)], axis=1)
    overall = _nanmean(means)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = means / overall[:, None]
    return np.where(np.isfinite(out) & (out > 0), out, 1.0)
