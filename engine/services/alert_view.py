"""One alert with the work it raised: its tasks and requisitions, with SKU and warehouse names."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from engine.errors import NotFound
from engine.services.queries import alert_row
from engine.storage.tables import alerts, requisitions, skus, suppliers, tasks, warehouses


def alert_detail(conn: Connection, alert_id: int) -> dict[str, Any]:
    """The alert (SPEC §5 shape plus names), its tasks and its requisitions; or ``NotFound``."""
    row = conn.execute(
        select(alerts, skus.c.code.label("sku_code"), skus.c.name.label("sku_name"),
               warehouses.c.code.label("warehouse_code"),
               warehouses.c.name.label("warehouse_name"))
        .join(skus, skus.c.id == alerts.c.sku_id)
        .join(warehouses, warehouses.c.id == alerts.c.warehouse_id)
        .where(alerts.c.id == alert_id)
    ).first()
    if row is None:
        raise NotFound("alert", alert_id)
    out = alert_row(row)
    out.update(sku_name=row.sku_name, warehouse_name=row.warehouse_name,
               sku_id=row.sku_id, warehouse_id=row.warehouse_id)
    out["tasks"] = [dict(r._mapping) for r in conn.execute(
        select(tasks.c.id, tasks.c.title, tasks.c.state, tasks.c.closed, tasks.c.role,
               tasks.c.assignee, tasks.c.workflow)
        .where(tasks.c.alert_id == alert_id).order_by(tasks.c.id))]
    out["requisitions"] = requisitions_of_alert(conn, alert_id)
    return out


def requisitions_of_alert(conn: Connection, alert_id: int) -> list[dict[str, Any]]:
    """The requisitions an alert raised: id, state, quantity, amount, supplier code."""
    return [dict(r._mapping) for r in conn.execute(
        select(requisitions.c.id, requisitions.c.state, requisitions.c.quantity,
               requisitions.c.amount, suppliers.c.code.label("supplier"))
        .outerjoin(suppliers, suppliers.c.id == requisitions.c.supplier_id)
        .where(requisitions.c.alert_id == alert_id).order_by(requisitions.c.id))]
