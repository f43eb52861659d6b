"""Change a requisition's quantity and supplier before it is approved (issue #18).

The buyer (the alert's owner role) or the role that approves next may edit a draft or a
requisition waiting for approval. The quantity is rounded up to the chosen supplier's MOQ and
pack size, as the rule's was; the price is the SKU's price from that supplier (else its unit
cost); the amount and the approval chain follow, from the first level again (an approval given
for another amount does not carry over). Every edit is a history line with before and after.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from engine.errors import Conflict, NotFound
from engine.metrics import round_to_supplier
from engine.services import approval_chain
from engine.services.requisitions import recompute_on_order_local
from engine.storage import requisition_store
from engine.storage.tables import (
    alerts,
    requisitions,
    sku_suppliers,
    skus,
    suppliers,
)
from engine.workflows.errors import FormInvalid, RoleNotAllowed, TransitionNotAllowed
from engine.workflows.tasks import HistoryEntry

EDITABLE = ("draft", "pending_approval")
MAX_QUANTITY = 1e9


def editors(conn: Connection, row: Any) -> tuple[str, ...]:
    """The roles that may edit ``row``: the role approving next and the alert's owner."""
    owner = conn.execute(select(alerts.c.owner).where(alerts.c.id == row.alert_id)).scalar() \
        if row.alert_id is not None else None
    return tuple(r for r in dict.fromkeys((row.approval_role, owner)) if r)


def may_edit(conn: Connection, req_id: int, roles: Iterable[str]) -> bool:
    row = conn.execute(select(requisitions).where(requisitions.c.id == req_id)).first()
    return bool(row and row.state in EDITABLE and set(editors(conn, row)) & set(roles))


def edit_requisition(
    conn: Connection,
    req_id: int,
    quantity: Any,
    supplier_code: str | None,
    actor: str,
    actor_roles: Iterable[str],
    now: datetime,
    note: str = "",
) -> dict[str, Any]:
    """Set the quantity (rounded to the supplier's MOQ and pack) and the supplier; the new
    values. Raises ``NotFound``, ``TransitionNotAllowed`` (approved or later),
    ``RoleNotAllowed``, ``FormInvalid`` (by field) or ``Conflict``."""
    row = conn.execute(select(requisitions).where(requisitions.c.id == req_id)).first()
    if row is None:
        raise NotFound("requisition", req_id)
    if row.state not in EDITABLE:
        raise TransitionNotAllowed("edit", row.state, "only a draft or a requisition waiting "
                                   "for approval can be changed")
    allowed = editors(conn, row)
    held = frozenset(actor_roles)
    if not set(allowed) & held:
        raise RoleNotAllowed("edit", allowed, held)
    asked, errors = _quantity(quantity)
    supplier = _supplier(conn, supplier_code, row.supplier_id, errors)
    if errors:
        raise FormInvalid(errors)
    rounded = round_to_supplier(asked, supplier.moq if supplier else None,
                                supplier.pack_size if supplier else None)
    price = _price(conn, row.sku_id, supplier.id if supplier else None)
    amount = round(rounded * price, 2) if price is not None else None
    chain = approval_chain.chain_of(conn, row, amount)
    state = row.state if row.state == "draft" or chain else "approved"
    values = {"quantity": rounded, "supplier_id": supplier.id if supplier else None,
              "unit_price": price, "amount": amount, "approval_role": chain[0] if chain else None,
              "approval_level": 0, "state": state, "updated_at": now, "version": row.version + 1}
    done = conn.execute(update(requisitions).where(
        requisitions.c.id == req_id, requisitions.c.version == row.version).values(**values))
    if done.rowcount != 1:
        raise Conflict(f"requisition {req_id} was changed by someone else meanwhile; reload it")
    before_supplier = conn.execute(select(suppliers.c.code).where(
        suppliers.c.id == row.supplier_id)).scalar() if row.supplier_id else None
    data: dict[str, Any] = {
        "quantity": [row.quantity, rounded], "supplier": [before_supplier, supplier.code
                                                          if supplier else None],
        "amount": [row.amount, amount]}
    if rounded != asked:
        data["asked"] = asked
        data["moq"], data["pack"] = supplier.moq if supplier else 0, \
            supplier.pack_size if supplier else 1
    if note.strip():
        data["note"] = note.strip()[:1000]
    requisition_store.write_history(conn, [
        (req_id, HistoryEntry(now, actor, "edit", row.state, state, data))])
    recompute_on_order_local(conn, row.sku_id, row.warehouse_id)
    return values


def _quantity(value: Any) -> tuple[float, dict[str, str]]:
    try:
        number = float(str(value).strip())
    except ValueError:
        return 0.0, {"quantity": "'Quantity' must be a number"}
    if not math.isfinite(number) or number <= 0:
        return 0.0, {"quantity": "'Quantity' must be more than 0"}  # (issue #18)
    if number > MAX_QUANTITY:
        return 0.0, {"quantity": "'Quantity' is too large"}
    return number, {}


def _supplier(conn: Connection, code: str | None, current_id: int | None,
              errors: dict[str, str]) -> Any:
    query = select(suppliers.c.id, suppliers.c.code, suppliers.c.moq, suppliers.c.pack_size)
    if code:
        found = conn.execute(query.where(suppliers.c.code == code)).first()
        if found is None:
            errors["supplier"] = "'Supplier' is not a known supplier"
        return found
    return conn.execute(query.where(suppliers.c.id == current_id)).first() if current_id else None


def _price(conn: Connection, sku_id: int, supplier_id: int | None) -> float | None:
    if supplier_id is not None:
        price = conn.execute(select(sku_suppliers.c.price).where(
            sku_suppliers.c.sku_id == sku_id, sku_suppliers.c.supplier_id == supplier_id)).scalar()
        if price is not None:
            return float(price)
    cost = conn.execute(select(skus.c.unit_cost).where(skus.c.id == sku_id)).scalar()
    return float(cost) if cost else None
