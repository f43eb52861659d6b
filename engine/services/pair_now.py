"""One SKU×warehouse as the rules would see it now: levels and metrics, for "then and now".

A task shows the numbers its alert saw; beside them the buyer needs today's (issue #18). The
facts are built as ``stock_view`` builds them: from the stored level and demand window, with a
synthetic ``view`` event at ``now``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select

from engine.facts import FactInputs, build_facts
from engine.metrics import DemandWindow
from engine.services.engine_cache import Snapshot
from engine.stock import StockEvent, StockLevel
from engine.storage.tables import stock_levels


def facts_now(conn: Connection, snap: Snapshot, sku_id: int, warehouse_id: int,
              now: datetime) -> dict[str, Any] | None:
    """``{"stock": {...}, "metrics": {...}, "supplier": {...}, "last_event_at"}`` or None when
    the SKU or warehouse left the catalogue."""
    sku = snap.sku_facts.get(sku_id)
    wh = snap.warehouse_facts.get(warehouse_id)
    if sku is None or wh is None:
        return None
    row = conn.execute(select(stock_levels).where(
        stock_levels.c.sku_id == sku_id, stock_levels.c.warehouse_id == warehouse_id)).first()
    level = (StockLevel(row.on_hand, row.reserved, row.on_order_erp, row.on_order_local)
             if row is not None else StockLevel())
    total = conn.execute(select(func.coalesce(func.sum(
        stock_levels.c.on_hand - stock_levels.c.reserved), 0.0)).where(
        stock_levels.c.sku_id == sku_id)).scalar_one()
    window = (DemandWindow.from_dict(row.demand_window)
              if row is not None and row.demand_window else DemandWindow())
    groups = snap.groups_for(sku["code"], wh["code"])
    event = StockEvent(id="view", type="view", sku=sku["code"], warehouse=wh["code"], at=now)
    facts, metrics = build_facts(FactInputs(
        event, sku, wh, level, window, snap.links.get(sku_id, ()), snap.params(groups),
        snap.tz or UTC, float(total), snap.promotion_days))
    return {"stock": dict(facts["stock"]), "metrics": asdict(metrics),
            "supplier": facts.get("supplier"),
            "last_event_at": row.last_event_at if row is not None else None}
