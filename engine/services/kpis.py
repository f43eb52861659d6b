"""How alerts are handled over a period (issue #18): the figures a purchasing manager reviews.

For alerts opened in ``[start, end)``: time to acknowledge and to resolve (median and average,
hours); for tasks created then: the share that went past their due time, and how they ended
(final state and the answer of their first select field, e.g. ``outcome``) by rule, SKU group
and role; requisitions raised then by state with amounts; and per local day the alerts opened
and the SKU×warehouse pairs that ran out (alerts whose facts saw available ≤ 0). Nothing here
writes. Groups come from the caller (``group_of(sku_id, warehouse_id)``): they are JsonLogic
over master data, not stored.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, Float, and_, cast, func, select

from engine.storage.tables import alerts, requisitions, tasks

GroupOf = Callable[[int, int], tuple[str, ...]]
NO_GROUP = ""


def _hours(pairs: list[tuple[datetime, datetime]]) -> dict[str, float | None]:
    values = [(b - a).total_seconds() / 3600 for a, b in pairs if a and b and b >= a]
    return {"n": len(values), "median": statistics.median(values) if values else None,
            "mean": statistics.fmean(values) if values else None}


def handling(conn: Connection, start: datetime, end: datetime, now: datetime, tz: tzinfo,
             group_of: GroupOf | None = None) -> dict[str, Any]:
    """Every figure of the report for alerts and tasks of ``[start, end)``."""
    in_period = and_(alerts.c.opened_at >= start, alerts.c.opened_at < end)
    rows = list(conn.execute(select(
        alerts.c.id, alerts.c.rule, alerts.c.sku_id, alerts.c.warehouse_id, alerts.c.opened_at,
        alerts.c.acknowledged_at, alerts.c.resolved_at, alerts.c.owner, alerts.c.severity,
        cast(alerts.c.facts["stock"]["available"].as_float(), Float).label("available"),
    ).where(in_period)))
    return {
        "alerts": len(rows),
        "acknowledge": _hours([(r.opened_at, r.acknowledged_at) for r in rows]),
        "resolve": _hours([(r.opened_at, r.resolved_at) for r in rows]),
        "tasks": _tasks(conn, start, end, now, group_of),
        "requisitions": _requisitions(conn, start, end),
        "days": _days(rows, start, end, tz),
    }


def _tasks(conn: Connection, start: datetime, end: datetime, now: datetime,
           group_of: GroupOf | None) -> dict[str, Any]:
    rows = list(conn.execute(
        select(tasks.c.id, tasks.c.state, tasks.c.closed, tasks.c.role, tasks.c.due_at,
               tasks.c.updated_at, tasks.c.data, alerts.c.rule, alerts.c.sku_id,
               alerts.c.warehouse_id)
        .outerjoin(alerts, alerts.c.id == tasks.c.alert_id)
        .where(tasks.c.created_at >= start, tasks.c.created_at < end)))
    overdue = sum(1 for r in rows if r.due_at is not None and (
        (r.closed and r.updated_at > r.due_at) or (not r.closed and now > r.due_at)))
    by: dict[str, dict[str, Counter[str]]] = {"rule": defaultdict(Counter),
                                              "role": defaultdict(Counter),
                                              "group": defaultdict(Counter)}
    for r in rows:
        outcome = _outcome(r)
        by["rule"][r.rule or ""][outcome] += 1
        by["role"][r.role or ""][outcome] += 1
        groups = group_of(r.sku_id, r.warehouse_id) if group_of and r.sku_id else ()
        for group in groups or (NO_GROUP,):
            by["group"][group][outcome] += 1
    return {"total": len(rows), "closed": sum(1 for r in rows if r.closed), "overdue": overdue,
            "overdue_share": overdue / len(rows) if rows else None,
            "by": {k: {key: dict(c) for key, c in sorted(v.items())} for k, v in by.items()}}


def _outcome(row: Any) -> str:
    """``state`` for an open task; ``state:answer`` when it ended with an ``outcome`` answer."""
    if not row.closed:
        return "open"
    answer = (row.data or {}).get("outcome")
    return f"{row.state}:{answer}" if isinstance(answer, str) and answer else row.state


def _requisitions(conn: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(requisitions.c.state, func.count(),
               func.coalesce(func.sum(requisitions.c.amount), 0))
        .where(requisitions.c.created_at >= start, requisitions.c.created_at < end)
        .group_by(requisitions.c.state).order_by(requisitions.c.state))
    return [{"state": s, "count": int(n), "amount": float(a)} for s, n, a in rows]


def _days(rows: list[Any], start: datetime, end: datetime, tz: tzinfo) -> list[dict[str, Any]]:
    """Per local day: alerts opened, and SKU×warehouse pairs that ran out (available ≤ 0)."""
    first, last = start.astimezone(tz).date(), (end - timedelta(microseconds=1)).astimezone(
        tz).date()
    opened: Counter[date] = Counter()
    out: dict[date, set[tuple[int, int]]] = defaultdict(set)
    for r in rows:
        day = r.opened_at.astimezone(tz).date()
        opened[day] += 1
        if r.available is not None and r.available <= 0:
            out[day].add((r.sku_id, r.warehouse_id))
    days = []
    day = first
    while day <= last:
        days.append({"day": day.isoformat(), "opened": opened.get(day, 0),
                     "stockouts": len(out.get(day, ()))})
        day += timedelta(days=1)
    return days


def trend(conn: Connection, now: datetime, tz: tzinfo, days: int = 14) -> list[dict[str, Any]]:
    """The dashboard's trend: per local day of the last ``days``, alerts opened and stock-outs."""
    end_day = now.astimezone(tz).date() + timedelta(days=1)
    start = datetime.combine(end_day - timedelta(days=days), datetime.min.time(), tz)
    rows = list(conn.execute(select(
        alerts.c.sku_id, alerts.c.warehouse_id, alerts.c.opened_at,
        cast(alerts.c.facts["stock"]["available"].as_float(), Float).label("available"),
    ).where(alerts.c.opened_at >= start)))
    return _days(rows, start, datetime.combine(end_day, datetime.min.time(), tz), tz)
