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
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    ARRAY,
    Connection,
    DateTime,
    Float,
    and_,
    bindparam,
    case,
    cast,
    func,
    null,
    or_,
    select,
)

from engine.storage.tables import alerts, requisitions, tasks

GroupOf = Callable[[int, int], tuple[str, ...]]
# (SKU ids, warehouse ids, keys) → how many per (groups, key): ``Snapshot.tally_by_groups``
GroupTally = Callable[[Sequence[int], Sequence[int], Sequence[Any]],
                      Counter[tuple[tuple[str, ...], Any]]]
NO_GROUP = ""


def _hours(conn: Connection, until: Any, in_period: Any) -> dict[str, float | None]:
    """Hours from opening to ``until`` (a column) of the alerts that got there."""
    pairs = conn.execute(select(alerts.c.opened_at, until).where(
        in_period, until.is_not(None), until >= alerts.c.opened_at)).all()
    values = [(b - a).total_seconds() / 3600 for a, b in pairs if a and b and b >= a]
    return {"n": len(values), "median": statistics.median(values) if values else None,
            "mean": statistics.fmean(values) if values else None}


def handling(conn: Connection, start: datetime, end: datetime, now: datetime, tz: tzinfo,
             group_of: GroupOf | None = None, tally: GroupTally | None = None
             ) -> dict[str, Any]:
    """Every figure of the report for alerts and tasks of ``[start, end)``; groups by
    ``tally`` (``Snapshot.tally_by_groups``) when given, else by ``group_of`` per task."""
    in_period = and_(alerts.c.opened_at >= start, alerts.c.opened_at < end)
    days, opened = _days(conn, in_period, start, end, tz)
    return {
        "alerts": opened,
        "acknowledge": _hours(conn, alerts.c.acknowledged_at, in_period),
        "resolve": _hours(conn, alerts.c.resolved_at, in_period),
        "tasks": _tasks(conn, start, end, now, group_of, tally),
        "requisitions": _requisitions(conn, start, end),
        "days": days,
    }


def _tasks(conn: Connection, start: datetime, end: datetime, now: datetime,
           group_of: GroupOf | None, tally: GroupTally | None) -> dict[str, Any]:
    """One narrow row per task (no task data read), counted by rule, role, outcome and the
    groups of its SKU×warehouse over the columns: per SKU profile × warehouse by ``tally``
    (``Snapshot.tally_by_groups``), else per row by ``group_of``."""
    overdue = and_(tasks.c.due_at.is_not(None), or_(
        and_(tasks.c.closed.is_(True), tasks.c.updated_at > tasks.c.due_at),
        and_(tasks.c.closed.is_(False), tasks.c.due_at < now)))
    answer = _answer(conn).label("answer")
    late_flag = case((overdue, 1), else_=0)
    joined = tasks.outerjoin(alerts, alerts.c.id == tasks.c.alert_id)
    in_period = and_(tasks.c.created_at >= start, tasks.c.created_at < end)
    sku_ids: list[int | None] = []
    wh_ids: list[int | None] = []
    keys: list[tuple[Any, ...]] = []  # (rule, role, closed, state, answer)
    late = 0
    if conn.dialect.name == "postgresql":
        # the SKU ids as one array per outcome × warehouse: hundreds of rows, not 25k
        key_columns = (alerts.c.rule, tasks.c.role, tasks.c.closed, tasks.c.state, answer)
        for row in conn.execute(
                select(alerts.c.warehouse_id, func.array_agg(alerts.c.sku_id),
                       func.sum(late_flag), *key_columns)
                .select_from(joined).where(in_period)
                .group_by(alerts.c.warehouse_id, *key_columns)):
            wh_id, ids, n_late, key = row[0], row[1], row[2], tuple(row[3:])
            sku_ids += ids
            wh_ids += [wh_id] * len(ids)
            keys += [key] * len(ids)
            late += int(n_late or 0)
    else:
        rows = conn.execute(
            select(alerts.c.sku_id, alerts.c.warehouse_id, late_flag, alerts.c.rule,
                   tasks.c.role, tasks.c.closed, tasks.c.state, answer)
            .select_from(joined).where(in_period)).all()
        for row in rows:
            sku_ids.append(row[0])
            wh_ids.append(row[1])
            late += row[2]
            keys.append(tuple(row[3:]))
    counted: Counter[tuple[tuple[str, ...], Any]]
    if tally is None:
        counted = Counter((group_of(s, w) if group_of and s and w else (), k)
                          for s, w, k in zip(sku_ids, wh_ids, keys))
    elif None in sku_ids or None in wh_ids:  # tasks without an alert: in no group
        counted = Counter(((), k) for s, w, k in zip(sku_ids, wh_ids, keys)
                          if s is None or w is None)
        paired = [(s, w, k) for s, w, k in zip(sku_ids, wh_ids, keys)
                  if s is not None and w is not None]
        counted.update(tally(*zip(*paired)) if paired else Counter())
    else:
        counted = tally(sku_ids, wh_ids, keys)  # type: ignore[arg-type]
    tally_: Counter[tuple[Any, ...]] = Counter()
    for (groups, (rule, role, is_closed, state, answer_)), n in counted.items():
        tally_[(rule, role, bool(is_closed), state, answer_, groups)] += n
    by: dict[str, dict[str, Counter[str]]] = {"rule": defaultdict(Counter),
                                              "role": defaultdict(Counter),
                                              "group": defaultdict(Counter)}
    total = closed = 0
    for (rule, role, is_closed, state, answer_, groups), n in tally_.items():
        outcome = _outcome(is_closed, state, answer_)
        total += n
        closed += n if is_closed else 0
        by["rule"][rule or ""][outcome] += n
        by["role"][role or ""][outcome] += n
        for group in groups or (NO_GROUP,):
            by["group"][group][outcome] += n
    late = int(late)
    return {"total": total, "closed": closed, "overdue": late,
            "overdue_share": late / total if total else None,
            "by": {k: {key: dict(c) for key, c in sorted(v.items())} for k, v in by.items()}}


def _answer(conn: Connection) -> Any:
    """The task's ``outcome`` answer when it is text, else NULL (a number or list is none)."""
    if conn.dialect.name == "postgresql":
        return case((func.jsonb_typeof(tasks.c.data["outcome"]) == "string",
                     tasks.c.data["outcome"].as_string()))
    return case((func.json_type(tasks.c.data, "$.outcome") == "text",
                 func.json_extract(tasks.c.data, "$.outcome")))


def _outcome(closed: bool, state: str, answer: str | None) -> str:
    """``open`` for an open task; ``state:answer`` when it ended with an ``outcome`` answer."""
    if not closed:
        return "open"
    return f"{state}:{answer}" if answer else state


def _requisitions(conn: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(requisitions.c.state, func.count(),
               func.coalesce(func.sum(requisitions.c.amount), 0))
        .where(requisitions.c.created_at >= start, requisitions.c.created_at < end)
        .group_by(requisitions.c.state).order_by(requisitions.c.state))
    return [{"state": s, "count": int(n), "amount": float(a)} for s, n, a in rows]


def _days(conn: Connection, where: Any, start: datetime, end: datetime,
          tz: tzinfo) -> tuple[list[dict[str, Any]], int]:
    """Per local day: alerts opened, and SKU×warehouse pairs that ran out (alerts whose facts
    saw available ≤ 0); and how many alerts ``where`` holds. The database counts them per day
    (``_day_of``: the local midnights as bounds), so no alert's time is read here: 25k of them
    in a 30-day report, 34k in the dashboard's two weeks, converted one by one before."""
    first, last = start.astimezone(tz).date(), (end - timedelta(microseconds=1)).astimezone(
        tz).date()
    n_days = (last - first).days + 1
    bucket = _day_of(conn, first, n_days, tz).label("day")
    opened: dict[int, int] = {}
    total = 0
    for day_n, n in conn.execute(select(bucket, func.count()).where(where).group_by(bucket)):
        total += int(n)
        if day_n is not None:
            opened[int(day_n)] = int(n)
    ran_out = (select(bucket, alerts.c.sku_id, alerts.c.warehouse_id)
               .where(where, saw_a_stock_out()).distinct().subquery())
    out = {int(day_n): int(n) for day_n, n in conn.execute(
        select(ran_out.c.day, func.count()).where(ran_out.c.day.is_not(None))
        .group_by(ran_out.c.day))}
    days = [{"day": (first + timedelta(days=i)).isoformat(), "opened": opened.get(i, 0),
             "stockouts": out.get(i, 0)} for i in range(n_days)]
    return days, total


def saw_a_stock_out() -> Any:
    """The alert's facts saw nothing available: on PostgreSQL, with its values bound, the
    predicate of the partial index ix_alerts_ran_out (tables.RAN_OUT_PREDICATE)."""
    return cast(alerts.c.facts["stock"]["available"].as_float(), Float) <= 0


def _day_of(conn: Connection, first: date, n_days: int, tz: tzinfo) -> Any:
    """The number (0 for ``first``) of the local day an alert was opened on, NULL outside the
    ``n_days``: its time compared with the local midnights (aware, so a DST change is where
    Python's ``astimezone`` puts it). PostgreSQL searches the sorted bounds (``width_bucket``,
    a binary search: a year's report has 367); SQLite tests them in turn."""
    bounds = [datetime.combine(first + timedelta(days=i), time.min, tz)
              for i in range(n_days + 1)]
    opened = alerts.c.opened_at
    if conn.dialect.name == "postgresql":
        found = func.width_bucket(opened, bindparam(
            "day_bounds", bounds, type_=ARRAY(DateTime(timezone=True))))
        # 0 before the first midnight, n_days + 1 from the last on: outside
        return case((and_(found >= 1, found <= n_days), found - 1))
    if not n_days:
        return null()
    return case((opened < bounds[0], null()),
                *[(opened < b, i) for i, b in enumerate(bounds[1:])], else_=null())

def trend(conn: Connection, now: datetime, tz: tzinfo, days: int = 14) -> list[dict[str, Any]]:
    """The dashboard's trend: per local day of the last ``days``, alerts opened and stock-outs."""
    end_day = now.astimezone(tz).date() + timedelta(days=1)
    start = datetime.combine(end_day - timedelta(days=days), datetime.min.time(), tz)
    return _days(conn, alerts.c.opened_at >= start, start,
                 datetime.combine(end_day, datetime.min.time(), tz), tz)[0]
