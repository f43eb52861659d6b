"""Snoozes and mutes (issue #17 item 4): stored, listed, ended and removed.

The rules of what they mean are in ``engine.noise`` (pure); this module keeps their rows, in
the caller's transaction. A snooze ends by time, by the first stock event of its SKU×warehouse
dated after it (both read where a snooze matters, and written down by the periodic sweep's
``end_expired``), or by hand; when it ends, the notifications it held go out (follow-up outbox
rows for the caller to dispatch).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    exists,
    insert,
    or_,
    select,
    update,
)

from engine.errors import Conflict, NotFound
from engine.noise import Mute, Mutes, NoiseInvalid, check_mute, check_snooze
from engine.rules.problems import did_you_mean
from engine.services import audit
from engine.storage.bulk import in_ids
from engine.storage.tables import (
    OPEN_ALERT_STATES,
    alert_snoozes,
    alerts,
    notifications,
    outbox,
    rule_mutes,
    skus,
    stock_levels,
    tasks,
    warehouses,
)

FollowUps = list[tuple[int, str]]
MAX_FILTER_IDS = 5000  # a batch touching more SKUs reads every mute and snooze instead


# -- snoozes -----------------------------------------------------------------------------------
def _stock_changed() -> ColumnElement[bool]:
    """SQL: the snooze's SKU×warehouse had a stock event dated after the snooze was made."""
    return exists().where(stock_levels.c.sku_id == alert_snoozes.c.sku_id,
                          stock_levels.c.warehouse_id == alert_snoozes.c.warehouse_id,
                          stock_levels.c.last_event_at > alert_snoozes.c.created_at)


def _active(now: datetime) -> ColumnElement[bool]:
    """In force at ``now``: not ended, its time not up, and — "until the stock changes" — no
    stock event of its pair dated after it. Read where it matters (escalations, deliveries,
    the inbox, digests), so the apply step needs no query of its own; the periodic sweep
    writes the end down (``end_expired``)."""
    return and_(alert_snoozes.c.ended_at.is_(None),
                or_(alert_snoozes.c.until.is_(None), alert_snoozes.c.until > now),
                or_(alert_snoozes.c.until_stock_change.is_(False), ~_stock_changed()))


def snoozed(alert_id: Any, now: datetime) -> ColumnElement[bool]:
    """SQL: the alert ``alert_id`` (a column) has a snooze in force at ``now``."""
    return exists().where(alert_snoozes.c.alert_id == alert_id, _active(now))


def alert_tasks(conn: Connection, alert_id: int) -> list[tuple[str | None, str | None, str]]:
    """The alert's tasks as (role, assignee, workflow), for ``policy.may_snooze_alert``;
    NotFound when there is no such alert."""
    if conn.execute(select(alerts.c.id).where(alerts.c.id == alert_id)).first() is None:
        raise NotFound("alert", alert_id)
    rows = conn.execute(select(tasks.c.role, tasks.c.assignee, tasks.c.workflow)
                        .where(tasks.c.alert_id == alert_id))
    return [(r.role, r.assignee, r.workflow) for r in rows]


def snooze(conn: Connection, alert_id: int, *, until: datetime | None, until_stock_change: bool,
           reason: str, actor: str, now: datetime) -> dict[str, Any]:
    """Snooze an open alert (a snooze in force is replaced); NoiseInvalid when the snooze
    cannot be, Conflict when the alert is resolved; nothing is written then."""
    alert = conn.execute(select(alerts.c.id, alerts.c.state, alerts.c.sku_id,
                                alerts.c.warehouse_id).where(alerts.c.id == alert_id)).first()
    if alert is None:
        raise NotFound("alert", alert_id)
    if alert.state not in OPEN_ALERT_STATES:
        raise Conflict(f"alert {alert_id} is {alert.state}: only an open alert can be snoozed")
    check_snooze(until, until_stock_change, reason, now)
    conn.execute(update(alert_snoozes).where(alert_snoozes.c.alert_id == alert_id, _active(now))
                 .values(ended_at=now, ended_by=actor, end_reason="replaced"))
    conn.execute(insert(alert_snoozes).values(
        alert_id=alert_id, sku_id=alert.sku_id, warehouse_id=alert.warehouse_id, until=until,
        until_stock_change=until_stock_change,
        reason=reason.strip(), created_by=actor, created_at=now))
    found = active_snooze(conn, alert_id, now)
    assert found is not None
    audit.record(conn, now, actor, "noise.snooze", f"alert {alert_id}", reason=reason.strip(),
                 until=until.isoformat() if until else None,
                 until_stock_change=until_stock_change)
    return found


def unsnooze(conn: Connection, alert_id: int, actor: str, now: datetime) -> FollowUps:
    """End the alert's snooze now; Conflict when none is in force. The held notices go out."""
    done = conn.execute(update(alert_snoozes)
                        .where(alert_snoozes.c.alert_id == alert_id, _active(now))
                        .values(ended_at=now, ended_by=actor, end_reason="unsnoozed"))
    if done.rowcount == 0:
        raise Conflict(f"alert {alert_id} is not snoozed")
    audit.record(conn, now, actor, "noise.unsnooze", f"alert {alert_id}")
    return release_held(conn, [alert_id], now)


def active_snooze(conn: Connection, alert_id: int, now: datetime) -> dict[str, Any] | None:
    row = conn.execute(select(alert_snoozes).where(alert_snoozes.c.alert_id == alert_id,
                                                   _active(now))
                       .order_by(alert_snoozes.c.id.desc()).limit(1)).first()
    return _snooze_dict(row._mapping) if row is not None else None


def _snooze_dict(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "alert": row["alert_id"], "until": row["until"],
            "until_stock_change": bool(row["until_stock_change"]), "reason": row["reason"],
            "by": row["created_by"], "at": row["created_at"]}


def list_snoozes(conn: Connection, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Snoozes in force, with their alert's rule and pair, newest first."""
    query = (select(alert_snoozes, alerts.c.rule, skus.c.code.label("sku"),
                    warehouses.c.code.label("warehouse"))
             .join(alerts, alerts.c.id == alert_snoozes.c.alert_id)
             .join(skus, skus.c.id == alerts.c.sku_id)
             .join(warehouses, warehouses.c.id == alerts.c.warehouse_id)
             .where(_active(now)).order_by(alert_snoozes.c.id.desc()).limit(limit))
    return [dict(_snooze_dict(r._mapping), rule=r.rule, sku=r.sku, warehouse=r.warehouse)
            for r in conn.execute(query)]


def end_expired(conn: Connection, now: datetime) -> FollowUps:
    """Write down the end of the snoozes whose time is up or whose pair's stock changed (the
    periodic sweep); their held notices go out."""
    by_time = list(conn.execute(
        update(alert_snoozes)
        .where(alert_snoozes.c.ended_at.is_(None), alert_snoozes.c.until.is_not(None),
               alert_snoozes.c.until <= now)
        .values(ended_at=alert_snoozes.c.until, end_reason="time")
        .returning(alert_snoozes.c.alert_id)).scalars())
    by_stock = list(conn.execute(
        update(alert_snoozes)
        .where(alert_snoozes.c.ended_at.is_(None), alert_snoozes.c.until_stock_change,
               _stock_changed())
        .values(ended_at=now, end_reason="stock")
        .returning(alert_snoozes.c.alert_id)).scalars())
    ids = by_time + by_stock
    return release_held(conn, ids, now) if ids else []


def release_held(conn: Connection, alert_ids: Sequence[int], now: datetime) -> FollowUps:
    """The notices a snooze held (state ``snoozed``) of alerts no longer snoozed go out."""
    still = set(conn.execute(select(alert_snoozes.c.alert_id)
                             .where(alert_snoozes.c.alert_id.in_(list(alert_ids)),
                                    _active(now))).scalars())
    free = [a for a in alert_ids if a not in still]
    if not free:
        return []
    ids = list(conn.execute(update(notifications)
                            .where(notifications.c.alert_id.in_(free),
                                   notifications.c.state == "snoozed")
                            .values(state="pending", last_error=None)
                            .returning(notifications.c.id)).scalars())
    if not ids:
        return []
    rows = conn.execute(insert(outbox).returning(outbox.c.id), [
        dict(kind="deliver", payload={"notification": n}, status="pending", available_at=now,
             created_at=now) for n in ids]).scalars().all()
    return [(r, "deliver") for r in rows]


# -- mutes -------------------------------------------------------------------------------------
def mute(conn: Connection, *, rule: str, sku: str | None, warehouse: str | None,
         until: datetime | None, reason: str, actor: str, now: datetime,
         known_rules: Sequence[str] | None = None) -> dict[str, Any]:
    """Mute ``rule`` for a SKU, a warehouse or one pair (codes); NoiseInvalid names a wrong
    field (unknown rule, SKU or warehouse, an end in the past), nothing written then."""
    if known_rules is not None and rule not in known_rules:
        hint = did_you_mean(rule, list(known_rules)) or ""
        raise NoiseInvalid("rule", f"there is no rule '{rule}' in the active version{hint}",
                           "unknown_rule")
    sku_id = _id_of(conn, skus, "sku", sku)
    wh_id = _id_of(conn, warehouses, "warehouse", warehouse)
    check_mute(rule, sku_id, wh_id, until, reason, now)
    new_id = conn.execute(insert(rule_mutes).returning(rule_mutes.c.id).values(
        rule=rule, sku_id=sku_id, warehouse_id=wh_id, until=until, reason=reason.strip(),
        created_by=actor, created_at=now)).scalar_one()
    audit.record(conn, now, actor, "noise.mute", rule, sku=sku or None, warehouse=warehouse or None,
                 until=until.isoformat() if until else None, reason=reason.strip())
    return next(m for m in list_mutes(conn, now) if m["id"] == new_id)


def _id_of(conn: Connection, table: Any, field: str, code: str | None) -> int | None:
    if code is None or not code.strip():
        return None
    found = conn.execute(select(table.c.id).where(table.c.code == code.strip())).scalar()
    if found is None:
        raise NoiseInvalid(field, f"there is no {field.replace('sku', 'SKU')} '{code}'",
                           f"unknown_{field}")
    return int(found)


def unmute(conn: Connection, mute_id: int, actor: str, now: datetime) -> None:
    """Remove a mute (kept as history); NotFound when it is not in force."""
    done = conn.execute(update(rule_mutes)
                        .where(rule_mutes.c.id == mute_id, rule_mutes.c.removed_at.is_(None))
                        .values(removed_at=now, removed_by=actor))
    if done.rowcount == 0:
        raise NotFound("mute", mute_id)
    rule = conn.execute(select(rule_mutes.c.rule).where(rule_mutes.c.id == mute_id)).scalar_one()
    audit.record(conn, now, actor, "noise.unmute", rule, mute=mute_id)


def _mutes_in_force(now: datetime) -> ColumnElement[bool]:
    return and_(rule_mutes.c.removed_at.is_(None),
                or_(rule_mutes.c.until.is_(None), rule_mutes.c.until > now))


def list_mutes(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Mutes in force, newest first, with SKU and warehouse codes."""
    query = (select(rule_mutes, skus.c.code.label("sku"), warehouses.c.code.label("warehouse"))
             .outerjoin(skus, skus.c.id == rule_mutes.c.sku_id)
             .outerjoin(warehouses, warehouses.c.id == rule_mutes.c.warehouse_id)
             .where(_mutes_in_force(now)).order_by(rule_mutes.c.id.desc()))
    return [{"id": r.id, "rule": r.rule, "sku": r.sku, "warehouse": r.warehouse,
             "until": r.until, "reason": r.reason, "by": r.created_by, "at": r.created_at}
            for r in conn.execute(query)]


def active_mutes(conn: Connection, now: datetime,
                 sku_ids: Collection[int] | None = None) -> Mutes:
    """The mutes in force, for the pipeline's core (one query per applied batch): those of
    ``sku_ids`` and the warehouse-wide ones (all when ``sku_ids`` is None or very long)."""
    query = (select(rule_mutes.c.id, rule_mutes.c.rule, rule_mutes.c.sku_id,
                    rule_mutes.c.warehouse_id, rule_mutes.c.until)
             .where(_mutes_in_force(now)))
    if sku_ids is not None and len(sku_ids) <= MAX_FILTER_IDS:
        query = query.where(or_(rule_mutes.c.sku_id.is_(None),
                                in_ids(conn, rule_mutes.c.sku_id, sorted(sku_ids))))
    rows = conn.execute(query)
    return Mutes.of(Mute(r.id, r.rule, r.sku_id, r.warehouse_id, r.until) for r in rows)
