"""Saving what a batch changed (``engine.pipeline.state.Changes``) in the caller's transaction:
levels, demand, alert hits and resolutions, then each new alert with every effect of its
actions — one statement per table for the whole batch, each guarded by its unique key, so a
replayed batch adds nothing. Tasks and requisitions go through their stores (one history
writer each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, insert, update

from engine.actions.context import (
    EscalationDraft,
    NotificationDraft,
    RequisitionDraft,
    TaskDraft,
    TransferDraft,
)
from engine.pipeline.state import Changes, NewAlert
from engine.snapshot import Snapshot
from engine.storage import bulk, requisition_store, supply_store, task_store, transfer_store
from engine.storage.requisition_store import NewRequisition
from engine.storage.stock_state import LEVEL_KEY
from engine.storage.tables import (
    OPEN_ALERT_PREDICATE,
    alerts,
    demand_days,
    escalations,
    notifications,
    stock_levels,
)
from engine.storage.tables import (
    outbox as outbox_table,
)
from engine.storage.upsert import insert_for
from engine.workflows import requisitions as requisition_flow
from engine.workflows.tasks import open_task

LEVEL_COLUMNS = ("on_hand", "reserved", "on_order_erp", "on_order_local", "erp_on_order_at",
                 "last_event_at", "last_sale_day", "demand_window", "demand_packed")
ALERT_COLUMNS = ("rule", "rule_version", "sku_id", "warehouse_id", "severity", "owner", "state",
                 "opened_at", "last_hit_at", "resolved_at", "resolution", "hits", "facts")
GROUP_ALERT_COLUMNS = (*ALERT_COLUMNS, "scope_key")  # a group rule's alert names its group
# What tells apart two alerts opened and resolved in one batch (see _write_closed_alerts)
CLOSED_KEY = ("rule", "sku_id", "warehouse_id", "opened_at", "last_hit_at", "resolved_at", "hits")
_closed_key = itemgetter(*(ALERT_COLUMNS.index(c) for c in CLOSED_KEY))


@dataclass
class Saved:
    """What was written: counts, and the outbox rows to hand to the jobs port after commit."""

    alerts_opened: int = 0
    tasks: int = 0
    requisitions: int = 0
    follow_ups: list[tuple[int, str]] = field(default_factory=list)


def save(conn: Connection, changes: Changes, snap: Snapshot, now: datetime,
         deliverable: frozenset[str] | None = None) -> Saved:
    """Write ``changes``. ``deliverable``: the configured channels (None: try every channel)."""
    saved = Saved()
    requisition_store.save_ordered(conn, changes.ordered, now)
    supply_store.record_observations(conn, changes.ordered.observed)  # issue #19
    _write_levels(conn, changes)
    _write_demand(conn, changes)
    _write_alert_changes(conn, changes, now)
    if changes.new_alerts:
        _write_new_alerts(conn, changes.new_alerts, snap, now, deliverable, saved)
    return saved


def _write_levels(conn: Connection, changes: Changes) -> None:
    """Every pair's level; its demand window only when demand changed it (most of a batch's
    pairs: the others skip the window's encoding)."""
    if not changes.pairs:
        return
    changed, same = [], []
    for p in changes.pairs.values():
        lv = p.level
        row = (lv.on_hand, lv.reserved, lv.on_order_erp, lv.on_order_local, p.erp_on_order_at,
               p.last_event_at, p.last_sale_day)
        if p.window_changed:
            window = p.window
            changed.append((*row, window.to_dict(), window.to_packed(), p.sku_id, p.wh_id))
        else:
            same.append((*row, p.sku_id, p.wh_id))
    bulk.update_many(conn, stock_levels, LEVEL_COLUMNS, LEVEL_KEY, changed,
                     also="version = version + 1")
    bulk.update_many(conn, stock_levels, LEVEL_COLUMNS[:-2], LEVEL_KEY, same,
                     also="version = version + 1")


def _write_demand(conn: Connection, changes: Changes) -> None:
    if changes.demand:
        bulk.insert_many(conn, demand_days, ("sku_id", "warehouse_id", "day", "qty"),
                         [(s, w, d, q) for (s, w, d), q in changes.demand.items()],
                         "ON CONFLICT (sku_id, warehouse_id, day) "
                         "DO UPDATE SET qty = demand_days.qty + excluded.qty")


def _write_alert_changes(conn: Connection, changes: Changes, now: datetime) -> None:
    if changes.hits:
        bulk.update_many(conn, alerts, ("hits", "last_hit_at"), ("id",),
                         [(h, at, i) for i, (h, at) in changes.hits.items()])
    if changes.resolved:
        reasons = changes.reasons
        bulk.update_many(conn, alerts, ("resolved_at",), ("id",),
                         [(at, i) for i, at in changes.resolved.items() if i not in reasons],
                         also="state = 'resolved', resolution = 'auto'")
        if reasons:
            bulk.update_many(conn, alerts, ("resolved_at", "resolution"), ("id",),
                             [(at, reasons[i], i) for i, at in changes.resolved.items()
                              if i in reasons], also="state = 'resolved'")
        conn.execute(
            update(escalations)
            .where(escalations.c.alert_id.in_(list(changes.resolved)),
                   escalations.c.fired_at.is_(None), escalations.c.cancelled_at.is_(None))
            .values(cancelled_at=now))


def _write_new_alerts(conn: Connection, new_alerts: list[NewAlert], snap: Snapshot,
                      now: datetime, deliverable: frozenset[str] | None, saved: Saved) -> None:
    """Every alert opened in this batch and every effect of its actions."""
    assert snap.ruleset is not None
    version = snap.ruleset.version
    rows = [(a.rule.id, version, a.pair.sku_id, a.pair.wh_id, a.rule.severity, a.rule.owner,
             "resolved" if a.resolved_at else "open", a.at, a.last_hit_at or a.at, a.resolved_at,
             "auto" if a.resolved_at else None, a.hits, a.facts)
            for a in new_alerts]
    # Open ones may meet an alert another process opened first (the partial unique index);
    # an alert opened and resolved within the batch cannot conflict with anything.
    open_rows = [r for a, r in zip(new_alerts, rows, strict=True)
                 if not a.resolved_at and a.scope_key is None]
    group_rows = [(*r, a.scope_key) for a, r in zip(new_alerts, rows, strict=True)
                  if not a.resolved_at and a.scope_key is not None]
    if group_rows:  # a group rule's: one open per rule+warehouse+group (issue #19)
        returned = bulk.insert_returning(
            conn, alerts, GROUP_ALERT_COLUMNS, group_rows,
            ("id", "rule", "scope_key", "warehouse_id"),
            "ON CONFLICT (rule, warehouse_id, scope_key) "
            f"WHERE {OPEN_ALERT_PREDICATE} DO NOTHING")
        group_ids = {(rule, key, wh): i for i, rule, key, wh in returned}
        for a in new_alerts:
            if not a.resolved_at and a.scope_key is not None:
                a.id = group_ids.get((a.rule.id, a.scope_key, a.pair.wh_id))
    closed = [(a, r) for a, r in zip(new_alerts, rows, strict=True)
              if a.resolved_at and a.scope_key is None]
    for a, r in zip(new_alerts, rows, strict=True):  # a group's, opened and resolved: rare
        if a.resolved_at and a.scope_key is not None:
            a.id = conn.execute(insert(alerts).returning(alerts.c.id), dict(
                zip(GROUP_ALERT_COLUMNS, (*r, a.scope_key), strict=True))).scalar_one()
    if open_rows:
        # The predicate is literal SQL: see OPEN_ALERT_PREDICATE.
        returned = bulk.insert_returning(
            conn, alerts, ALERT_COLUMNS, open_rows, ("id", "rule", "sku_id", "warehouse_id"),
            f"ON CONFLICT (rule, sku_id, warehouse_id) WHERE {OPEN_ALERT_PREDICATE} DO NOTHING")
        ids = {(rule, sku, wh): i for i, rule, sku, wh in returned}
        for a in new_alerts:
            if not a.resolved_at and a.scope_key is None:
                a.id = ids.get((a.rule.id, a.pair.sku_id, a.pair.wh_id))
    _write_closed_alerts(conn, closed)
    written = [a for a in new_alerts if a.id is not None]
    saved.alerts_opened += len(written)
    saved.tasks += len(task_store.add_new(conn, [
        open_task(a.id, a.rule.id, d.action_key, d.title, d.workflow, d.state, d.role, d.due_at,
                  d.severity, now)
        for a, d in _drafts(written, TaskDraft) if a.id is not None], now))  # all are: written
    supplier_ids = snap.supplier_ids
    saved.requisitions += len(requisition_store.add_new(conn, [
        NewRequisition(a.id, d.action_key, a.pair.sku_id, a.pair.wh_id,
                       supplier_ids.get(d.supplier or ""), d.quantity, d.unit_price, d.amount,
                       d.state, d.approval_role, d.reason,
                       requisition_flow.raised(a.id, d.state, d.reason, now))
        for a, d in _drafts(written, RequisitionDraft) if a.id is not None], now))
    transfer_store.add_new(conn, _drafts(written, TransferDraft), snap, now)
    _write_notifications(conn, written, now, deliverable, saved)
    _write_escalations(conn, [a for a in written if not a.resolved_at])


def _write_closed_alerts(conn: Connection, closed: list[tuple[NewAlert, tuple[Any, ...]]]) -> None:
    """Alerts opened and resolved within the batch, in one multi-row statement (they cannot
    conflict with anything). Each returned id goes to its alert by the columns that tell
    two of them apart: rule, pair, opened, last hit and resolved times, hits, as stored.
    Two alike in one batch (the same rule opened twice at one instant): one statement per
    alert, as before."""
    if not closed:
        return
    stored = bulk.bind_rows(conn, alerts, CLOSED_KEY, [_closed_key(row) for _, row in closed])
    by_key = dict(zip(stored, (a for a, _ in closed)))
    if len(by_key) < len(closed):
        for a, row in closed:
            a.id = conn.execute(insert(alerts).returning(alerts.c.id),
                                dict(zip(ALERT_COLUMNS, row, strict=True))).scalar_one()
        return
    rows = [row for _, row in closed]
    for alert_id, *found in bulk.insert_returning(conn, alerts, ALERT_COLUMNS, rows,
                                                  ("id", *CLOSED_KEY)):
        by_key[tuple(found)].id = alert_id


def _drafts(alerts_: list[NewAlert], kind: type) -> list[tuple[NewAlert, Any]]:
    return [(a, d) for a in alerts_ for d in a.drafts if isinstance(d, kind)]


def _write_notifications(conn: Connection, alerts_: list[NewAlert], now: datetime,
                         ok: frozenset[str] | None, saved: Saved) -> None:
    drafts = _drafts(alerts_, NotificationDraft)
    if not drafts:
        return
    stmt = (insert_for(conn, notifications).on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(notifications.c.id, notifications.c.state))
    # A channel nobody configured cannot deliver: the message is kept, visibly undeliverable,
    # and `outbox retry` sends it once the channel is set up — no job is spent on it now.
    # A notice for a daily digest waits for it ("queued", no job); see engine.services.digests.
    made = conn.execute(stmt, [
        dict(alert_id=a.id, dedupe_key=f"alert:{a.id}:{d.action_key}", channel=d.channel,
             recipients=list(d.recipients), subject=d.subject, message=d.message,
             state="queued" if d.digest else "pending" if ok is None or d.channel in ok
             else "undeliverable",
             last_error=None if d.digest or ok is None or d.channel in ok
             else f"channel '{d.channel}' is not configured",
             role=d.role, digest=d.digest, created_at=now) for a, d in drafts]).all()
    pending = [row.id for row in made if row.state == "pending"]
    if pending:
        rows = conn.execute(insert(outbox_table).returning(outbox_table.c.id), [
            dict(kind="deliver", payload={"notification": n}, status="pending", available_at=now,
                 created_at=now) for n in pending]).scalars().all()
        saved.follow_ups.extend((row_id, "deliver") for row_id in rows)


def _write_escalations(conn: Connection, alerts_: list[NewAlert]) -> None:
    drafts = _drafts(alerts_, EscalationDraft)
    if drafts:
        stmt = insert_for(conn, escalations).on_conflict_do_nothing(index_elements=["alert_id", "level"])
        conn.execute(stmt, [dict(alert_id=a.id, level=d.level, to_role=d.to_role, due_at=d.due_at)
                            for a, d in drafts])
