"""Purchase orders: approved requisitions of one supplier merged into one order (issue #18).

A draft order groups requisitions that are approved and in no other order; it is exported in
the layout an ERP's importer reads (engine/services/po_export.py), sent to the supplier's
contact through the notification channels, and marked ordered with the ERP's number, which
takes each of its requisitions through ``order`` with that ``ref`` (SPEC §5).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from engine.errors import Conflict, EngineError, NotFound
from engine.services.requisitions import transition_requisition
from engine.storage import requisition_store
from engine.storage.tables import (
    notifications,
    outbox,
    purchase_orders,
    requisitions,
    skus,
    suppliers,
    warehouses,
)
from engine.workflows.tasks import HistoryEntry

STATES = ("draft", "sent", "ordered", "cancelled")


class MergeRefused(EngineError):
    """Requisitions that cannot go into one order; ``reasons`` maps each id to why."""

    def __init__(self, reasons: dict[int, str]) -> None:
        super().__init__(f"{len(reasons)} requisition(s) cannot be merged")
        self.reasons = reasons


def merge(conn: Connection, req_ids: Sequence[int], actor: str, now: datetime) -> int:
    """A new draft order of ``req_ids`` (approved, in no order, one supplier); its id."""
    ids = list(dict.fromkeys(req_ids))
    rows = {r.id: r for r in conn.execute(select(requisitions).where(requisitions.c.id.in_(ids)))}
    reasons: dict[int, str] = {}
    for req_id in ids:
        row = rows.get(req_id)
        if row is None:
            reasons[req_id] = "no such requisition"
        elif row.state != "approved":
            reasons[req_id] = f"it is {row.state}, not approved"
        elif row.purchase_order_id is not None:
            reasons[req_id] = f"it is already in purchase order {row.purchase_order_id}"
        elif row.supplier_id is None:
            reasons[req_id] = "it has no supplier"
    found = {r.supplier_id for r in rows.values() if r.supplier_id is not None}
    if not reasons and len(found) > 1:
        reasons = dict.fromkeys(ids, "the requisitions are of different suppliers")
    if reasons or not ids:
        raise MergeRefused(reasons or {0: "no requisition chosen"})
    po_id = conn.execute(insert(purchase_orders).values(
        supplier_id=found.pop(), state="draft", created_by=actor, created_at=now,
        updated_at=now).returning(purchase_orders.c.id)).scalar_one()
    done = conn.execute(update(requisitions).where(
        requisitions.c.id.in_(ids), requisitions.c.purchase_order_id.is_(None),
        requisitions.c.state == "approved").values(
        purchase_order_id=po_id, updated_at=now, version=requisitions.c.version + 1))
    if done.rowcount != len(ids):
        raise Conflict("a requisition changed meanwhile; reload and try again")
    requisition_store.write_history(conn, [
        (i, HistoryEntry(now, actor, "merge", "approved", "approved", {"purchase_order": po_id}))
        for i in ids])
    return int(po_id)


def load(conn: Connection, po_id: int) -> dict[str, Any]:
    """The order with its supplier and lines (SKU and warehouse codes and names); NotFound."""
    head = conn.execute(
        select(purchase_orders, suppliers.c.code.label("supplier"),
               suppliers.c.name.label("supplier_name"), suppliers.c.contact,
               suppliers.c.lead_time_days)
        .join(suppliers, suppliers.c.id == purchase_orders.c.supplier_id)
        .where(purchase_orders.c.id == po_id)).first()
    if head is None:
        raise NotFound("purchase order", po_id)
    order = dict(head._mapping)
    order["lines"] = [dict(r._mapping) for r in conn.execute(
        select(requisitions.c.id, requisitions.c.quantity, requisitions.c.unit_price,
               requisitions.c.amount, requisitions.c.state, requisitions.c.ref,
               skus.c.code.label("sku"), skus.c.name.label("sku_name"), skus.c.unit,
               warehouses.c.code.label("warehouse"), warehouses.c.name.label("warehouse_name"))
        .join(skus, skus.c.id == requisitions.c.sku_id)
        .join(warehouses, warehouses.c.id == requisitions.c.warehouse_id)
        .where(requisitions.c.purchase_order_id == po_id).order_by(requisitions.c.id))]
    order["total"] = round(sum(line["amount"] or 0 for line in order["lines"]), 2)
    order["contact"] = order["contact"] or {}
    return order


def list_orders(conn: Connection, limit: int = 50, offset: int = 0) -> tuple[int, list[Any]]:
    """Orders, newest first, with their supplier, number of lines and total."""
    lines = (select(requisitions.c.purchase_order_id, func.count().label("n"),
                    func.coalesce(func.sum(requisitions.c.amount), 0).label("total"))
             .group_by(requisitions.c.purchase_order_id).subquery())
    total = conn.execute(select(func.count()).select_from(purchase_orders)).scalar_one()
    rows = conn.execute(
        select(purchase_orders, suppliers.c.code.label("supplier"),
               suppliers.c.name.label("supplier_name"), lines.c.n, lines.c.total)
        .join(suppliers, suppliers.c.id == purchase_orders.c.supplier_id)
        .outerjoin(lines, lines.c.purchase_order_id == purchase_orders.c.id)
        .order_by(purchase_orders.c.id.desc()).limit(limit).offset(offset))
    return int(total), [dict(r._mapping) for r in rows]


def send(conn: Connection, po_id: int, text: str, subject: str, actor: str, now: datetime,
         channel: str = "email") -> tuple[int, int]:
    """Queue the order to the supplier's contact (a notification and its delivery job); the
    notification and outbox ids. The order becomes ``sent``."""
    order = load(conn, po_id)
    if order["state"] not in ("draft", "sent"):
        raise Conflict(f"purchase order {po_id} is {order['state']}")
    address = (order["contact"] or {}).get("email" if channel == "email" else "phone")
    if not address:
        raise Conflict(f"supplier {order['supplier']} has no {channel} contact")
    sent_before = conn.execute(select(func.count()).select_from(notifications).where(
        notifications.c.dedupe_key.like(f"po:{po_id}:%"))).scalar_one()
    note_id = conn.execute(insert(notifications).values(
        dedupe_key=f"po:{po_id}:{sent_before + 1}", channel=channel, recipients=[address],
        subject=subject[:512], message=text, state="pending", created_at=now
    ).returning(notifications.c.id)).scalar_one()
    outbox_id = conn.execute(insert(outbox).values(
        kind="deliver", payload={"notification": note_id}, status="pending", available_at=now,
        created_at=now).returning(outbox.c.id)).scalar_one()
    conn.execute(update(purchase_orders).where(purchase_orders.c.id == po_id).values(
        state="sent", sent_at=now, updated_at=now))
    return int(note_id), int(outbox_id)


def mark_ordered(conn: Connection, po_id: int, ref: str, actor: str, roles: Iterable[str],
                 now: datetime) -> int:
    """Every approved line of the order goes through ``order`` with the ERP's ``ref``."""
    order = load(conn, po_id)
    count = 0
    for line in order["lines"]:
        if line["state"] == "approved":
            transition_requisition(conn, line["id"], "order", {"ref": ref}, actor, roles, now)
            count += 1
    conn.execute(update(purchase_orders).where(purchase_orders.c.id == po_id).values(
        state="ordered", updated_at=now))
    return count
