"""What an approver needs beside a requisition's codes: names, stock, demand and the options
(issue #18): SKU, warehouse and supplier names; the pair's stock and demand now; the tasks its
alert raised; the suppliers linked to the SKU with their price, MOQ and pack size."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from engine.services.engine_cache import Snapshot
from engine.services.pair_now import facts_now
from engine.storage.tables import sku_suppliers, skus, suppliers, tasks, warehouses


def names(conn: Connection, items: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """``{"sku": {code: name}, "warehouse": {...}, "supplier": {...}}`` for the listed rows."""
    items = list(items)
    out: dict[str, dict[str, str]] = {}
    for key, table in (("sku", skus), ("warehouse", warehouses), ("supplier", suppliers)):
        codes = sorted({str(i[key]) for i in items if i.get(key)})
        out[key] = dict(conn.execute(select(table.c.code, table.c.name)
                                     .where(table.c.code.in_(codes))).all()) if codes else {}
    return out


def context(conn: Connection, snap: Snapshot, req: Mapping[str, Any],
            now: datetime) -> dict[str, Any]:
    """Stock and demand now, the alert's tasks and the SKU's suppliers for ``req``."""
    sku_id = snap.sku_ids.get(req["sku"])
    wh_id = snap.warehouse_ids.get(req["warehouse"])
    now_facts = facts_now(conn, snap, sku_id, wh_id, now) if sku_id and wh_id else None
    linked = []
    if sku_id:
        linked = [dict(r._mapping) for r in conn.execute(
            select(suppliers.c.code, suppliers.c.name, suppliers.c.moq, suppliers.c.pack_size,
                   suppliers.c.lead_time_days, sku_suppliers.c.price, sku_suppliers.c.preferred,
                   sku_suppliers.c.backup)
            .join(sku_suppliers, sku_suppliers.c.supplier_id == suppliers.c.id)
            .where(sku_suppliers.c.sku_id == sku_id).order_by(suppliers.c.code))]
    alert_tasks = [dict(r._mapping) for r in conn.execute(
        select(tasks.c.id, tasks.c.title, tasks.c.state, tasks.c.closed)
        .where(tasks.c.alert_id == req["alert"]).order_by(tasks.c.id))] if req["alert"] else []
    stock = (now_facts or {}).get("stock") or {}
    metrics = (now_facts or {}).get("metrics") or {}
    demand = metrics.get("avg_daily_demand") or 0
    after = stock.get("inventory_position")
    return {
        "stock": stock, "metrics": metrics, "suppliers": linked, "tasks": alert_tasks,
        "sku_name": (snap.sku_facts.get(sku_id) or {}).get("name") if sku_id else None,
        "unit": (snap.sku_facts.get(sku_id) or {}).get("unit") if sku_id else None,
        # days the stock lasts now, and with this requisition received
        "cover_now": stock["available"] / demand if demand and "available" in stock else None,
        "cover_after": (after / demand) if demand and after is not None else None,
    }
