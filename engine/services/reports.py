"""Read-only figures for the web pages: the dashboard's counts and a SKU×warehouse's 90 days.

Nothing here writes. The dashboard counts open work; the stock history replays the recorded
stock events of one SKU×warehouse with the engine's own ``stock.apply`` (from the last count
before the window, which fixes on_hand absolutely), so the chart shows what the engine saw.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal_column, or_, select

from engine.errors import NotFound
from engine.rules.compiled import SEVERITIES
from engine.services.engine_cache import Snapshot
from engine.stock import StockEvent, StockLevel, apply, parse_event
from engine.storage.tables import (
    OPEN_ALERT_STATES,
    alerts,
    demand_days,
    requisitions,
    skus,
    stock_events,
    stock_levels,
    tasks,
    warehouses,
)

NO_GROUP = ""  # the key under which alerts of SKUs in no group are counted


def dashboard(
    conn: Connection, snap: Snapshot, now: datetime, roles: Iterable[str],
    out_of_stock_limit: int = 12,
) -> dict[str, Any]:
    """Open alerts by severity and SKU group, tasks, requisitions waiting and SKUs out of stock.

    ``roles`` are the viewer's business roles: the "mine" figures count only their work.
    """
    mine = sorted(set(roles))
    by_severity, by_group = _open_alerts(conn, snap)
    return {
        "alerts_by_severity": by_severity,
        "alerts_by_group": by_group,
        "tasks": _task_counts(conn, now, mine),
        "requisitions": _requisition_counts(conn, mine),
        "out_of_stock": _out_of_stock(conn, out_of_stock_limit),
    }


def _open_alerts(
    conn: Connection, snap: Snapshot
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    is_open = alerts.c.state.in_(OPEN_ALERT_STATES)
    sku_ids: list[int] = []
    wh_ids: list[int] = []
    severities: list[str] = []
    if conn.dialect.name == "postgresql":
        # the SKU ids as one array per warehouse × severity: 20-odd rows, not 50k
        for wh_id, severity, ids in conn.execute(
                select(alerts.c.warehouse_id, alerts.c.severity, func.array_agg(alerts.c.sku_id))
                .where(is_open).group_by(alerts.c.warehouse_id, alerts.c.severity)):
            sku_ids += ids
            wh_ids += [wh_id] * len(ids)
            severities += [severity] * len(ids)
    else:
        rows = conn.execute(select(alerts.c.sku_id, alerts.c.warehouse_id, alerts.c.severity)
                            .where(is_open)).all()
        if rows:
            sku_ids, wh_ids, severities = (list(c) for c in zip(*rows))
    # counted per SKU profile × warehouse × severity over the columns, groups looked up per cell
    tally = snap.tally_by_groups(sku_ids, wh_ids, severities)
    by_severity: Counter[str] = Counter()
    by_group: dict[str, Counter[str]] = {}
    for (groups, severity), n in tally.items():
        by_severity[severity] += n
        for group in groups or (NO_GROUP,):  # a SKU in several groups counts in each
            by_group.setdefault(group, Counter())[severity] += n
    ordered = {s: by_severity.get(s, 0) for s in reversed(SEVERITIES)}
    return ordered, {g: dict(c) for g, c in sorted(by_group.items())}


def _task_counts(conn: Connection, now: datetime, roles: list[str]) -> dict[str, int]:
    still_open = tasks.c.closed.is_(False)
    late = and_(still_open, tasks.c.due_at.is_not(None), tasks.c.due_at < now)
    of_mine = tasks.c.role.in_(roles)

    def count(where: Any) -> Any:
        return func.coalesce(func.sum(case((where, 1), else_=0)), 0)

    # one pass over the open tasks for the four figures (each read 50k open tasks before)
    mine = [count(of_mine), count(and_(late, of_mine))] if roles else []
    found = conn.execute(select(func.count(), count(late), *mine).select_from(tasks)
                         .where(still_open)).one()
    return {
        "open": int(found[0]),
        "overdue": int(found[1]),
        "mine_open": int(found[2]) if roles else 0,
        "mine_overdue": int(found[3]) if roles else 0,
    }


def _requisition_counts(conn: Connection, roles: list[str]) -> dict[str, Any]:
    rows = conn.execute(
        select(requisitions.c.state, func.count(),
               func.coalesce(func.sum(requisitions.c.amount), 0))
        .where(requisitions.c.state.in_(("pending_approval", "approved")))
        .group_by(requisitions.c.state)
    )
    found = {state: (int(n), float(amount)) for state, n, amount in rows}
    mine = 0
    if roles:
        mine = int(conn.execute(
            select(func.count()).select_from(requisitions).where(
                requisitions.c.state == "pending_approval", requisitions.c.approval_role.in_(roles))
        ).scalar_one())
    return {
        "pending_approval": found.get("pending_approval", (0, 0.0))[0],
        "pending_amount": found.get("pending_approval", (0, 0.0))[1],
        "approved": found.get("approved", (0, 0.0))[0],
        "awaiting_me": mine,
    }


def _out_of_stock(conn: Connection, limit: int) -> dict[str, Any]:
    available = stock_levels.c.on_hand - stock_levels.c.reserved
    # written as the partial index ix_stock_levels_empty's predicate (a literal, not a
    # parameter), so that both databases read the few empty levels, not 1M rows
    empty = available <= literal_column("0")
    total_pairs = conn.execute(
        select(func.count()).select_from(stock_levels).where(empty)
    ).scalar_one()
    total_skus = conn.execute(
        select(func.count(func.distinct(stock_levels.c.sku_id))).where(empty)
    ).scalar_one()
    # the first ``limit`` empty levels, their codes looked up per level (a few thousand index
    # lookups: joined, the planner hashed all 100k SKUs for them), then the page's names
    sku_code = select(skus.c.code).where(skus.c.id == stock_levels.c.sku_id).scalar_subquery()
    wh_code = (select(warehouses.c.code).where(warehouses.c.id == stock_levels.c.warehouse_id)
               .scalar_subquery())
    first = (select(stock_levels.c.sku_id, stock_levels.c.warehouse_id,
                    available.label("available"), stock_levels.c.last_event_at,
                    sku_code.label("sku_code"), wh_code.label("wh_code"))
             .where(empty).order_by(available, sku_code, wh_code).limit(limit).subquery())
    rows = conn.execute(
        select(skus.c.code, skus.c.name, warehouses.c.code.label("warehouse"),
               first.c.available, first.c.last_event_at)
        .select_from(first.join(skus, skus.c.id == first.c.sku_id)
                     .join(warehouses, warehouses.c.id == first.c.warehouse_id))
        .order_by(first.c.available, first.c.sku_code, first.c.wh_code)
    )
    return {"skus": int(total_skus), "pairs": int(total_pairs),
            "items": [dict(r._mapping) for r in rows]}


def alert_origin(conn: Connection, alert_id: int) -> dict[str, Any] | None:
    """The rule version an alert was raised under, when and how often its condition held."""
    row = conn.execute(
        select(alerts.c.rule, alerts.c.rule_version, alerts.c.opened_at, alerts.c.last_hit_at,
               alerts.c.hits, alerts.c.owner).where(alerts.c.id == alert_id)
    ).first()
    return dict(row._mapping) if row is not None else None


# -- one SKU×warehouse over time ------------------------------------------------------------
def stock_history(
    conn: Connection, sku_code: str, warehouse_code: str, now: datetime, tz: tzinfo,
    days: int = 90,
) -> dict[str, Any]:
    """On-hand and available stock after each event, and demand per local day, over ``days``.

    ``stock`` starts with the level at the window's start and ends with the stored level now;
    ``demand`` has one entry per day (zero days included) as ``{"day", "qty"}``.
    """
    sku_id, wh_id = _ids(conn, sku_code, warehouse_code)
    start = now - timedelta(days=days)
    points = _replay(conn, sku_id, wh_id, warehouse_code, start)
    stored = conn.execute(
        select(stock_levels.c.on_hand, stock_levels.c.reserved).where(
            stock_levels.c.sku_id == sku_id, stock_levels.c.warehouse_id == wh_id)
    ).first()
    if stored is not None:
        points.append(_point(now, StockLevel(stored.on_hand, stored.reserved)))
    first_day = start.astimezone(tz).date() + timedelta(days=1)
    return {
        "sku": sku_code,
        "warehouse": warehouse_code,
        "start": start,
        "end": now,
        "stock": points,
        "demand": _daily_demand(conn, sku_id, wh_id, first_day, now.astimezone(tz).date(), tz),
    }


def _ids(conn: Connection, sku_code: str, warehouse_code: str) -> tuple[int, int]:
    sku_id = conn.execute(select(skus.c.id).where(skus.c.code == sku_code)).scalar()
    if sku_id is None:
        raise NotFound("SKU", sku_code)
    wh_id = conn.execute(
        select(warehouses.c.id).where(warehouses.c.code == warehouse_code)
    ).scalar()
    if wh_id is None:
        raise NotFound("warehouse", warehouse_code)
    return sku_id, wh_id


def _replay(
    conn: Connection, sku_id: int, wh_id: int, warehouse_code: str, start: datetime
) -> list[dict[str, Any]]:
    """Apply the pair's events from the last count at or before ``start`` (else from the first)."""
    anchor = conn.execute(
        select(func.max(stock_events.c.at)).where(
            stock_events.c.sku_id == sku_id, stock_events.c.warehouse_id == wh_id,
            stock_events.c.type == "count", stock_events.c.qty.is_not(None),
            stock_events.c.at <= start)
    ).scalar()
    here_or_transfer = or_(stock_events.c.warehouse_id == wh_id, stock_events.c.type == "transfer")
    query = (
        select(stock_events.c.at, stock_events.c.payload)
        .where(stock_events.c.sku_id == sku_id, here_or_transfer)
        .order_by(stock_events.c.at, stock_events.c.id)
    )
    if anchor is not None:
        query = query.where(stock_events.c.at >= anchor)
    level = StockLevel()
    points: list[dict[str, Any]] = []
    started = False
    for row in conn.execute(query):
        event = parse_event(row.payload)
        if not isinstance(event, StockEvent):
            continue  # it was valid when recorded; a changed rule must not break the chart
        side = _side(event, warehouse_code)
        if side is None:
            continue
        if row.at >= start and not started:
            points.append(_point(start, level))  # the level the window starts with
            started = True
        apply(level, event, side)
        if row.at >= start:
            points.append(_point(row.at, level, event.type))
    if not started:
        points.append(_point(start, level))
    return points


def _side(event: StockEvent, warehouse_code: str) -> str | None:
    if event.warehouse == warehouse_code:
        return "from"
    if event.type == "transfer" and event.to_warehouse == warehouse_code:
        return "to"
    return None


def _point(at: datetime, level: StockLevel, event_type: str | None = None) -> dict[str, Any]:
    return {"at": at, "on_hand": level.on_hand, "available": level.available, "event": event_type}


def _daily_demand(
    conn: Connection, sku_id: int, wh_id: int, first: date, last: date, tz: tzinfo
) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(demand_days.c.day, demand_days.c.qty).where(
            demand_days.c.sku_id == sku_id, demand_days.c.warehouse_id == wh_id,
            demand_days.c.day >= first, demand_days.c.day <= last)
    )
    qty = {r.day: r.qty for r in rows}
    out = []
    day = first
    while day <= last:
        noon = datetime.combine(day, time(12), tz)  # where a day's bar is drawn
        out.append({"day": day.isoformat(), "at": noon, "qty": qty.get(day, 0.0)})
        day += timedelta(days=1)
    return out
