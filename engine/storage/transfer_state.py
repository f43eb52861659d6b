"""What suggest_transfer and group rules read besides a batch's own pairs (issue #19): the
levels and demand of the SKU's other warehouses and of a group's other members, the open
transfers into and out of the batch's SKUs, and the group alerts open in its warehouses.

Not locked, as ``stock_state._others_available``: a pair of another SKU may be changed by
another applier meanwhile; a group's sums are then as of the start of this batch.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, func, select

from engine.alerts import OpenAlert
from engine.metrics import DemandWindow
from engine.pipeline.groups import reads_all
from engine.pipeline.state import StockState
from engine.snapshot import Snapshot
from engine.stock import StockLevel
from engine.storage import bulk
from engine.storage.tables import OPEN_ALERT_PREDICATE, alerts, stock_levels, transfers

OPEN_TRANSFER_STATES = ("requested", "shipped")
COLUMNS = ("sku_id", "warehouse_id", "on_hand", "reserved", "on_order_erp", "on_order_local",
           "demand_window")


def load(conn: Connection, snap: Snapshot, state: StockState,
         keys: Iterable[tuple[int, int]]) -> None:
    keys = sorted(set(keys))
    wanted: set[tuple[int, int]] = set()
    skus = sorted({s for s, _ in keys})
    if snap.suggests_transfers:
        wanted |= {(s, w) for s in skus for w in snap.warehouse_facts}
    group_whs: set[int] = set()
    for sku_id, wh_id in keys:
        if not snap.group_rules:
            break
        groups = snap.select(sku_id, wh_id, "count")[0]
        for rule in snap.group_rules:
            for gid in (g for g in rule.groups if g in groups):
                members = snap.group_members(gid)
                spread = members if reads_all(rule) else {wh_id: members.get(wh_id, ())}
                for w, member_skus in spread.items():
                    wanted.update((s, w) for s in member_skus)
                group_whs.add(wh_id)
    others = sorted(wanted.difference(keys))
    for sku_id, wh_id, on_hand, reserved, erp, local, window in bulk.select_by_pairs(
            conn, stock_levels, COLUMNS, others):
        state.elsewhere[(sku_id, wh_id)] = (
            StockLevel(on_hand, reserved, erp, local),
            DemandWindow.from_dict(window) if window else DemandWindow())
    if snap.suggests_transfers and skus:
        _open_transfers(conn, state, skus)
    if group_whs:
        _group_alerts(conn, snap, state, sorted(group_whs))


def _open_transfers(conn: Connection, state: StockState, skus: list[int]) -> None:
    rows = conn.execute(
        select(transfers.c.sku_id, transfers.c.from_warehouse_id, transfers.c.to_warehouse_id,
               transfers.c.state, transfers.c.quantity)
        .where(bulk.in_ids(conn, transfers.c.sku_id, skus),
               transfers.c.state.in_(OPEN_TRANSFER_STATES)))
    for sku_id, source, dest, st, qty in rows:
        state.inbound[(sku_id, dest)] = state.inbound.get((sku_id, dest), 0.0) + qty
        if st == "requested":  # a shipped one is reserved at the source already
            state.outgoing[(sku_id, source)] = state.outgoing.get((sku_id, source), 0.0) + qty


def _group_alerts(conn: Connection, snap: Snapshot, state: StockState, whs: list[int]) -> None:
    rule_ids = [r.id for r in snap.group_rules]
    base = (alerts.c.rule.in_(rule_ids), alerts.c.scope_key.is_not(None),
            bulk.in_ids(conn, alerts.c.warehouse_id, whs))
    for alert_id, rule, key, wh_id, hits in conn.execute(
            select(alerts.c.id, alerts.c.rule, alerts.c.scope_key, alerts.c.warehouse_id,
                   alerts.c.hits)
            .where(*base, alerts.c.state.in_(("open", "acknowledged")))):
        state.group_alerts[(rule, key, wh_id)] = OpenAlert(alert_id, rule, hits)
    if any(r.cooldown for r in snap.group_rules):
        for rule, key, wh_id, at in conn.execute(
                select(alerts.c.rule, alerts.c.scope_key, alerts.c.warehouse_id,
                       func.max(alerts.c.resolved_at))
                .where(*base, alerts.c.resolved_at.is_not(None))
                .group_by(alerts.c.rule, alerts.c.scope_key, alerts.c.warehouse_id)):
            state.group_resolved[(rule, key, wh_id)] = at


assert OPEN_ALERT_PREDICATE == "state IN ('open', 'acknowledged')"  # the states read above
