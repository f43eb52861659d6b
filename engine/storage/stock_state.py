"""Loading what a batch of events touches: its pairs' stock levels (locked), open alerts, last
resolutions, ordered requisitions and, when a rule reads ``stock.total_available``, the other
warehouses' stock of the same SKUs. Bulk statements (``engine.storage.bulk``), a few per batch.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from engine.alerts import OpenAlert
from engine.metrics import DemandWindow
from engine.pipeline.state import Pair, StockState
from engine.snapshot import Snapshot
from engine.stock import StockLevel
from engine.storage import bulk, transfer_state
from engine.storage.requisition_store import load_ordered
from engine.storage.supply_store import load_open_orders
from engine.storage.tables import OPEN_ALERT_PREDICATE, alerts, requisitions, stock_levels
from engine.workflows.requisitions import CLOSED, STATES

# Open: raised and not yet received, rejected or cancelled, whether counted here or by the ERP
OPEN_STATES = tuple(s for s in STATES if s not in CLOSED)

LEVEL_KEY = ("sku_id", "warehouse_id")
LOAD_COLUMNS = ("sku_id", "warehouse_id", "on_hand", "reserved", "on_order_erp", "on_order_local",
                "erp_on_order_at", "last_event_at", "last_sale_day", "demand_window")


def load(conn: Connection, snap: Snapshot, keys: Iterable[tuple[int, int]],
         requisition_keys: Iterable[tuple[int, int]] = ()) -> StockState:
    """Lock and read the stock levels of ``keys`` (created when missing) with their open
    alerts; then the ordered requisitions of ``requisition_keys``."""
    state = StockState()
    keys = sorted(set(keys))
    if not keys:
        return state
    bulk.insert_many(conn, stock_levels, LEVEL_KEY, keys,
                     "ON CONFLICT (sku_id, warehouse_id) DO NOTHING")
    rows = bulk.select_by_pairs(conn, stock_levels, LOAD_COLUMNS, keys, lock=True)
    rows.sort(key=lambda r: (r[0], r[1]))  # pairs in key order, whatever the plan
    pairs = state.pairs
    for (sku_id, wh_id, on_hand, reserved, on_order_erp, on_order_local, erp_on_order_at,
         last_event_at, last_sale_day, window) in rows:
        pairs[(sku_id, wh_id)] = Pair(
            sku_id, wh_id, StockLevel(on_hand, reserved, on_order_erp, on_order_local),
            DemandWindow.from_dict(window) if window else DemandWindow(),
            last_event_at, last_sale_day,
            open_requisitions=1 if on_order_local > 0 else 0, erp_on_order_at=erp_on_order_at,
            window_changed=not window)  # a new pair's empty window is written once
    open_alerts = bulk.select_by_pairs(conn, alerts, ("id", "rule", "sku_id", "warehouse_id", "hits"),
                                       keys,
                                       where=f"t.{OPEN_ALERT_PREDICATE} AND t.scope_key IS NULL")
    open_alerts.sort(key=lambda a: a[1])  # each pair's open alerts in rule id order
    for alert_id, rule, sku_id, wh_id, hits in open_alerts:
        pairs[(sku_id, wh_id)].open_alerts[rule] = OpenAlert(alert_id, rule, hits)
    rs = snap.ruleset
    if rs is not None and any(r.cooldown for r in rs.compiled.rules):
        for rule, sku_id, wh_id, at in bulk.select_by_pairs(
                conn, alerts, ("rule", "sku_id", "warehouse_id"), keys,
                where="t.resolved_at IS NOT NULL AND t.scope_key IS NULL", max_of="resolved_at"):
            pairs[(sku_id, wh_id)].last_resolved[rule] = at
    if snap.needs_total:
        state.others_available = _others_available(conn, snap, keys)
    raises = rs is not None and snap.raises_requisitions
    if raises:
        _count_open_requisitions(conn, pairs)
    if snap.suggests_transfers or snap.group_rules:  # issue #19
        transfer_state.load(conn, snap, state, keys)
    # issue #19: the open orders' arrival, for the coverage check and the ``order.*`` facts
    if rs is not None and (raises or snap.reads_orders):
        found = load_open_orders(conn, pairs, rs.compiled.settings.default_lead_time_days)
        for key, orders in found.items():
            pairs[key].open_orders = orders
    state.ordered = load_ordered(conn, requisition_keys)  # after the levels are locked
    return state


def _count_open_requisitions(conn: Connection, pairs: dict[tuple[int, int], Pair]) -> None:
    """Pairs with nothing on order here may still have open requisitions (an ordered one the
    ERP's on_order already counts): one covers the shortage for every rule. Read after the
    pairs' levels are locked, which every requisition transition locks first."""
    empty = [key for key, p in pairs.items() if not p.open_requisitions]
    if not empty:
        return
    for sku_id, wh_id in bulk.select_by_pairs(
            conn, requisitions, ("sku_id", "warehouse_id"), empty,
            where=f"t.state IN ({', '.join(repr(s) for s in OPEN_STATES)})"):
        pairs[(sku_id, wh_id)].open_requisitions += 1


def _others_available(conn: Connection, snap: Snapshot,
                      keys: list[tuple[int, int]]) -> dict[int, float]:
    """Per SKU of ``keys``: the available stock of its warehouses not in ``keys``. Not locked:
    only events change on hand and reserved, and the events of one SKU are applied by one
    applier at a time (``engine.services.apply``), so these do not move meanwhile."""
    loaded = set(keys)
    skus = sorted({s for s, _ in keys})
    others = [(s, w) for s in skus for w in snap.warehouse_facts if (s, w) not in loaded]
    out: dict[int, float] = {}
    for sku_id, _wh_id, on_hand, reserved in bulk.select_by_pairs(
            conn, stock_levels, ("sku_id", "warehouse_id", "on_hand", "reserved"), others):
        out[sku_id] = out.get(sku_id, 0.0) + StockLevel(on_hand, reserved).available
    return out
