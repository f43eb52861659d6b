"""Requisition use cases: show one with its history, take a lifecycle transition (SPEC §5).

Every state change recomputes ``stock_levels.on_order_local`` of its SKU×warehouse in the same
transaction, from the requisitions themselves, so the figure the rules read is never off by a
lost increment. The stock level row is locked first, in the order ingest locks it, so that a
transition and a batch of events never deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from engine.errors import NotFound
from engine.services import approval_chain
from engine.services.queries import load_requisition, requisition_history_of
from engine.storage import requisition_store
from engine.storage.tables import requisitions, stock_levels
from engine.storage.upsert import insert_for
from engine.workflows.requisitions import (
    Requisition,
    allowed_requisition_transitions,
    apply_requisition_transition,
)

# Raised here and not yet in the ERP's own on_order: an ordered one counts until the ERP's
# snapshot includes it (``counted_by_erp``), so it is never counted twice (SPEC §4).
LOCAL_ON_ORDER_STATES = ("draft", "pending_approval", "approved", "ordered")


def get_requisition(
    conn: Connection, req_id: int, user_roles: Iterable[str] = (), is_admin: bool = False
) -> dict[str, Any]:
    """A requisition with its history and the transitions this user may take now."""
    req = load_requisition(conn, req_id)
    req["history"] = requisition_history_of(conn, req_id)
    req["transitions"] = allowed_requisition_transitions(_domain(req), user_roles, is_admin)
    return req


def transition_requisition(
    conn: Connection,
    req_id: int,
    transition: str,
    data: Mapping[str, Any],
    actor: str,
    actor_roles: Iterable[str],
    now: datetime,
    is_admin: bool = False,
) -> dict[str, Any]:
    """Take ``transition`` (submit, approve, reject, order, receive, cancel) as ``actor``.

    Raises ``NotFound``, ``TransitionNotAllowed``, ``RoleNotAllowed`` (a step the authorisation
    model does not give this actor: engine/policy.py), ``FormInvalid`` (``order`` without
    ``ref``) or ``Conflict``. The check and the write happen in one transaction, guarded by the
    requisition's version: whoever loses a race to a step changes nothing.
    """
    row = conn.execute(select(requisitions).where(requisitions.c.id == req_id)).first()
    if row is None:
        raise NotFound("requisition", req_id)
    current = load_requisition(conn, req_id)
    moved = apply_requisition_transition(_domain(current), transition, actor, actor_roles,
                                         data, now, is_admin)
    _lock_level(conn, row.sku_id, row.warehouse_id)
    requisition_store.save_moved(conn, row, moved, transition, now)
    if transition == "approve":  # levels to go: it waits for the next role (issue #18)
        approval_chain.advance(conn, req_id, now)
    recompute_on_order_local(conn, row.sku_id, row.warehouse_id)
    return load_requisition(conn, req_id)


def _domain(req: Mapping[str, Any]) -> Requisition:
    return Requisition(
        id=str(req["id"]), alert_id=str(req["alert"]) if req["alert"] else None, sku=req["sku"],
        warehouse=req["warehouse"], supplier=req["supplier"], quantity=req["quantity"],
        unit_price=req["unit_price"], amount=req["amount"], state=req["state"],
        approval_role=req["approval_role"], ref=req["ref"], owner_role=req.get("owner"),
    )


def _lock_level(conn: Connection, sku_id: int, warehouse_id: int) -> None:
    """Make sure the stock level row exists and hold it until the transaction ends."""
    conn.execute(
        insert_for(conn, stock_levels)
        .values(sku_id=sku_id, warehouse_id=warehouse_id)
        .on_conflict_do_nothing(index_elements=["sku_id", "warehouse_id"])
    )
    query = select(stock_levels.c.version).where(
        stock_levels.c.sku_id == sku_id, stock_levels.c.warehouse_id == warehouse_id
    )
    if conn.dialect.name == "postgresql":  # SQLite holds the database lock (BEGIN IMMEDIATE)
        query = query.with_for_update()
    conn.execute(query)


def recompute_on_order_local(conn: Connection, sku_id: int, warehouse_id: int) -> float:
    """Set ``on_order_local`` of one SKU×warehouse from its requisitions; return the value.

    It is the quantity of requisitions in LOCAL_ON_ORDER_STATES not yet counted by the ERP.
    The stock level row is created when missing. The sum is read after the row is locked, so
    under PostgreSQL's READ COMMITTED it sees every requisition committed before the lock.
    """
    _lock_level(conn, sku_id, warehouse_id)
    total = conn.execute(
        select(func.coalesce(func.sum(requisitions.c.quantity), 0.0)).where(
            requisitions.c.sku_id == sku_id,
            requisitions.c.warehouse_id == warehouse_id,
            requisitions.c.state.in_(LOCAL_ON_ORDER_STATES),
            requisitions.c.counted_by_erp.is_(False),
        )
    ).scalar_one()
    conn.execute(
        update(stock_levels)
        .where(stock_levels.c.sku_id == sku_id, stock_levels.c.warehouse_id == warehouse_id)
        .values(on_order_local=float(total), version=stock_levels.c.version + 1)
    )
    return float(total)
