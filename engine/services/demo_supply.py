"""The demo's supply story (issue #19), after the history: one supplier's order, its receipts,
a delay and the failover that follows — each on the pages.

The supplier with the most approved requisitions gets four of them merged into one purchase order,
ordered ``lead time + 3`` days ago. Three lines arrive (a day early, half a day late, two and a
half days late): three receipts, so its lead time is learned from them. The fourth line is
delayed by the supplier (a ``supplier_delay`` event): its requisition and the order show the new
ETA, the supplier page shows the open delay, and the demo ruleset's ``supplier-late`` rule
raises a requisition from the backup supplier with the reason. Everything goes through the
real use cases and the event handler.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from engine.errors import EngineError
from engine.services import purchase_orders
from engine.services.requisitions import transition_requisition
from engine.storage.tables import alerts, requisitions, skus, suppliers, warehouses
from engine.storage.tables import purchase_orders as po_table

LINES = 4
RECEIVED_AFTER = (-1.0, 0.5, 2.5)  # days after the promised lead time, for the first three lines


def prepare(conn: Connection, now: datetime) -> dict[str, Any] | None:
    """Merge and order the story's four requisitions; what the events need (None: the demo
    has no supplier with four approved requisitions)."""
    open_reqs = list(conn.execute(
        select(requisitions.c.id, requisitions.c.supplier_id, requisitions.c.state)
        .join(alerts, alerts.c.id == requisitions.c.alert_id)
        .where(requisitions.c.state == "approved",
               requisitions.c.purchase_order_id.is_(None),
               requisitions.c.supplier_id.is_not(None), alerts.c.state != "resolved")
        .order_by(requisitions.c.id)))
    counts = Counter(r.supplier_id for r in open_reqs)
    if not counts or counts.most_common(1)[0][1] < LINES:
        return None
    supplier_id = counts.most_common(1)[0][0]
    chosen = [r for r in open_reqs if r.supplier_id == supplier_id][:LINES]
    code, lead = conn.execute(select(suppliers.c.code, suppliers.c.lead_time_days)
                              .where(suppliers.c.id == supplier_id)).one()
    ordered_at = now - timedelta(days=lead + 3)
    ref = f"PO-DEMO-{code}"
    try:  # approved ones: the purchasing desk (an admin) merges and orders them
        po_id = purchase_orders.merge(conn, [r.id for r in chosen], "demo", ordered_at)
        for r in chosen:
            transition_requisition(conn, r.id, "order", {"ref": ref}, "demo", set(), ordered_at,
                                   is_admin=True)
    except EngineError:
        return None
    conn.execute(update(po_table).where(po_table.c.id == po_id).values(
        state="ordered", sent_at=ordered_at, updated_at=ordered_at))
    lines = list(conn.execute(
        select(requisitions.c.id, requisitions.c.quantity, skus.c.code.label("sku"),
               warehouses.c.code.label("warehouse"))
        .join(skus, skus.c.id == requisitions.c.sku_id)
        .join(warehouses, warehouses.c.id == requisitions.c.warehouse_id)
        .where(requisitions.c.id.in_([r.id for r in chosen])).order_by(requisitions.c.id)))
    return {"supplier": code, "lead": float(lead), "ref": ref, "ordered_at": ordered_at,
            "po": po_id, "lines": [dict(line._mapping) for line in lines]}


def events(story: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """The three receipts and the delay of the fourth line."""
    ordered_at, lead, ref = story["ordered_at"], story["lead"], story["ref"]
    out: list[dict[str, Any]] = []
    for line, late in zip(story["lines"], RECEIVED_AFTER):
        at = ordered_at + timedelta(days=lead + late)
        out.append({"id": f"demo-supply-receipt-{line['id']}", "type": "receipt",
                    "sku": line["sku"], "warehouse": line["warehouse"], "qty": line["quantity"],
                    "ref": ref, "at": at.isoformat()})
    last = story["lines"][-1]
    out.append({"id": f"demo-supply-delay-{last['id']}", "type": "supplier_delay",
                "supplier": story["supplier"], "ref": ref, "sku": last["sku"],
                "warehouse": last["warehouse"], "at": (now - timedelta(hours=1)).isoformat(),
                "eta": (now + timedelta(days=10)).isoformat()})
    return out
