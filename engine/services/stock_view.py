"""One SKU's stock picture per warehouse: levels, metrics, groups and open alerts (SPEC §6).

The metrics are the ones a rule would see right now: the facts are built exactly as for an
evaluation, from the stored level and demand window, with a synthetic ``view`` event at ``now``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from engine.errors import NotFound
from engine.facts import FactInputs, build_facts
from engine.metrics import DemandWindow
from engine.services.engine_cache import Snapshot
from engine.services.queries import open_alerts_of_sku
from engine.stock import StockEvent, StockLevel
from engine.storage.tables import stock_levels, warehouses


def stock_view(conn: Connection, snap: Snapshot, sku_code: str, now: datetime) -> dict[str, Any]:
    """The stock of ``sku_code`` in every warehouse that has a level for it; ``NotFound``."""
    sku_id = snap.sku_ids.get(sku_code)
    if sku_id is None:
        raise NotFound("SKU", sku_code)
    rows = list(conn.execute(
        select(stock_levels, warehouses.c.code.label("warehouse_code"))
        .join(warehouses, warehouses.c.id == stock_levels.c.warehouse_id)
        .where(stock_levels.c.sku_id == sku_id)
        .order_by(warehouses.c.code)
    ))
    levels = {r.warehouse_id: _level(r) for r in rows}
    total_available = sum(level.available for level in levels.values())
    alerts_by_wh: dict[str, list[dict[str, Any]]] = {}
    for alert in open_alerts_of_sku(conn, sku_id):
        alerts_by_wh.setdefault(alert["warehouse"], []).append(alert)
    sku = snap.sku_facts[sku_id]
    return {
        "sku": sku_code,
        "name": sku.get("name"),
        "unit": sku.get("unit"),
        "total_available": total_available,
        "warehouses": [
            _warehouse(snap, sku_id, r, levels[r.warehouse_id], total_available, now,
                       alerts_by_wh.get(r.warehouse_code, []))
            for r in rows
        ],
    }


def _level(row: Any) -> StockLevel:
    return StockLevel(row.on_hand, row.reserved, row.on_order_erp, row.on_order_local)


def _warehouse(
    snap: Snapshot,
    sku_id: int,
    row: Any,
    level: StockLevel,
    total_available: float,
    now: datetime,
    open_alerts: list[dict[str, Any]],
) -> dict[str, Any]:
    sku = snap.sku_facts[sku_id]
    wh = snap.warehouse_facts.get(row.warehouse_id, {"code": row.warehouse_code})
    groups = snap.groups_for(sku["code"], wh["code"])
    event = StockEvent(id="view", type="view", sku=sku["code"], warehouse=wh["code"], at=now)
    window = DemandWindow.from_dict(row.demand_window) if row.demand_window else DemandWindow()
    facts, metrics = build_facts(FactInputs(
        event, sku, wh, level, window, snap.links.get(sku_id, ()), snap.params(groups),
        snap.tz or UTC, total_available, snap.promotion_days, snap.calendar_view(groups),
        snap.forecasts.get((sku["code"], wh["code"]))))
    return {
        "warehouse": wh["code"],
        "name": wh.get("name"),
        "levels": dict(facts["stock"], on_order_erp=level.on_order_erp,
                       on_order_local=level.on_order_local),
        "metrics": asdict(metrics),  # with the nulls a condition would not see
        "supplier": facts.get("supplier"),
        "groups": list(groups),
        "last_event_at": row.last_event_at,
        "alerts": open_alerts,
    }
