"""Transfer use cases (issue #19): list, show one, request one by hand, take a step.

A step that moves stock records its stock events and applies them through the one event
handler (``engine.services.events.take``) in the step's transaction: if the source would go
below zero, or an event is refused, nothing is written (the caller's transaction is rolled
back by the error). The source's stock level is locked first, as ingest locks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import aliased

from engine.errors import InputInvalid, NotFound, PermissionDenied
from engine.policy import Identity, may_take_transfer_step
from engine.services import events as event_service
from engine.snapshot import Snapshot
from engine.storage import transfer_store
from engine.storage.tables import alerts, skus, stock_levels, transfers, warehouses
from engine.workflows import transfers as flow
from engine.workflows.tasks import HistoryEntry

_from = aliased(warehouses, name="from_wh")
_to = aliased(warehouses, name="to_wh")
MAX_PAGE = 200


def _select() -> Any:
    return (select(transfers, skus.c.code.label("sku"), skus.c.name.label("sku_name"),
                   _from.c.code.label("from_warehouse"), _to.c.code.label("to_warehouse"),
                   alerts.c.rule.label("rule"))
            .join(skus, skus.c.id == transfers.c.sku_id)
            .join(_from, _from.c.id == transfers.c.from_warehouse_id)
            .join(_to, _to.c.id == transfers.c.to_warehouse_id)
            .outerjoin(alerts, alerts.c.id == transfers.c.alert_id))


def _row(r: Any) -> dict[str, Any]:
    return {"id": r.id, "alert": r.alert_id, "rule": r.rule, "sku": r.sku,
            "sku_name": r.sku_name, "from_warehouse": r.from_warehouse,
            "to_warehouse": r.to_warehouse, "quantity": r.quantity, "state": r.state,
            "ship_role": r.ship_role, "receive_role": r.receive_role,
            "explanation": r.explanation or {}, "created_by": r.created_by,
            "created_at": r.created_at.isoformat(), "updated_at": r.updated_at.isoformat()}


def list_transfers(conn: Connection, filters: Mapping[str, Any], limit: int = 50,
                   offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """Transfers, newest first; ``filters``: state, open (bool), sku, warehouse (either end),
    alert (the alert that proposed them)."""
    where = []
    if filters.get("state"):
        where.append(transfers.c.state == filters["state"])
    if filters.get("open") is not None:
        is_open = transfers.c.state.in_(flow.OPEN_STATES)
        where.append(is_open if filters["open"] else ~is_open)
    if filters.get("sku"):
        where.append(skus.c.code == filters["sku"])
    if filters.get("alert"):
        where.append(transfers.c.alert_id == filters["alert"])
    if filters.get("warehouse"):
        where.append((_from.c.code == filters["warehouse"]) | (_to.c.code == filters["warehouse"]))
    query = _select().where(*where)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(transfers.c.created_at.desc(), transfers.c.id.desc())
                        .limit(min(limit, MAX_PAGE)).offset(offset))
    return int(total), [_row(r) for r in rows]


def get_transfer(conn: Connection, transfer_id: int, who: Identity) -> dict[str, Any]:
    """One transfer with its history and the steps ``who`` may take now."""
    row = conn.execute(_select().where(transfers.c.id == transfer_id)).first()
    if row is None:
        raise NotFound("transfer", transfer_id)
    out = _row(row)
    out["history"] = transfer_store.history(conn, transfer_id)
    out["transitions"] = flow.allowed_transitions(_domain(out), who)
    return out


def _domain(t: Mapping[str, Any]) -> flow.Transfer:
    return flow.Transfer(t["id"], t["sku"], t["from_warehouse"], t["to_warehouse"],
                         t["quantity"], t["state"], t["ship_role"], t["receive_role"])


def _ids(conn: Connection, sku: str, *codes: str) -> tuple[int, list[int]]:
    errors: list[dict[str, object]] = []
    sku_id = conn.execute(select(skus.c.id).where(skus.c.code == sku)).scalar()
    if sku_id is None:
        errors.append({"field": "sku", "message": f"no SKU '{sku}'"})
    wh_ids = []
    for field, code in zip(("from_warehouse", "to_warehouse"), codes, strict=True):
        wh_id = conn.execute(select(warehouses.c.id).where(warehouses.c.code == code)).scalar()
        if wh_id is None:
            errors.append({"field": field, "message": f"no warehouse '{code}'"})
        wh_ids.append(wh_id)
    if errors or sku_id is None:
        raise InputInvalid(errors)
    return int(sku_id), [int(w) for w in wh_ids if w is not None]


def _available(conn: Connection, sku_id: int, wh_id: int, lock: bool = False) -> float:
    query = select(stock_levels.c.on_hand, stock_levels.c.reserved).where(
        stock_levels.c.sku_id == sku_id, stock_levels.c.warehouse_id == wh_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return float(row.on_hand - row.reserved) if row is not None else 0.0


def _committed(conn: Connection, sku_id: int, wh_id: int, but: int | None = None) -> float:
    """What open transfers not yet shipped will take from a pair (shipped ones are reserved)."""
    query = select(func.coalesce(func.sum(transfers.c.quantity), 0.0)).where(
        transfers.c.sku_id == sku_id, transfers.c.from_warehouse_id == wh_id,
        transfers.c.state == "requested")
    if but is not None:
        query = query.where(transfers.c.id != but)
    return float(conn.execute(query).scalar_one())


def request_transfer(conn: Connection, body: Mapping[str, Any], who: Identity,
                     now: datetime) -> int:
    """A transfer asked for by hand: ``sku, from_warehouse, to_warehouse, quantity`` and the
    roles that ship and receive it. Refused (``InputInvalid``) to its own warehouse, of
    nothing, or of more than the source has available less what open transfers will take."""
    sku, source, dest = str(body.get("sku", "")), str(body.get("from_warehouse", "")), str(
        body.get("to_warehouse", ""))
    quantity = body.get("quantity")
    flow.check_new(sku, source, dest, quantity, None)
    sku_id, (from_id, to_id) = _ids(conn, sku, source, dest)
    ship, receive = body.get("ship_role") or None, body.get("receive_role") or None
    if not may_take_transfer_step(who, "request", ship, receive):
        raise PermissionDenied("a transfer is requested by its receiving role or an admin")
    free = _available(conn, sku_id, from_id, lock=True) - _committed(conn, sku_id, from_id)
    flow.check_new(sku, source, dest, quantity, free)
    note = str(body.get("note") or "")[:2000]
    return transfer_store.add_one(conn, dict(
        alert_id=None, action_key=None, sku_id=sku_id, from_warehouse_id=from_id,
        to_warehouse_id=to_id, quantity=float(quantity or 0), state="requested", ship_role=ship,
        receive_role=receive, explanation={"by_hand": True, "source_available": free},
        created_by=who.username, created_at=now, updated_at=now),
        HistoryEntry(now, who.username, "request", None, "requested",
                     {"note": note} if note else {}))


def transition_transfer(conn: Connection, snap: Snapshot, transfer_id: int, transition: str,
                        data: Mapping[str, Any], who: Identity, now: datetime,
                        ) -> list[tuple[int, str]]:
    """Take ``transition`` (ship, receive, cancel) as ``who``; the step's stock events are
    applied in this transaction. Raises NotFound, TransitionNotAllowed, RoleNotAllowed,
    FormInvalid, InputInvalid (the source would go below zero) or Conflict. The follow-up
    jobs (deliveries of notices the events raised) to dispatch after commit."""
    row = conn.execute(select(transfers).where(transfers.c.id == transfer_id)).first()
    if row is None:
        raise NotFound("transfer", transfer_id)
    current = _domain(get_transfer(conn, transfer_id, who))
    moved, entry = flow.take(current, transition, who, data, now)
    if transition in ("ship", "receive"):
        have = _available(conn, row.sku_id, row.from_warehouse_id, lock=True)
        if transition == "receive":
            have += row.quantity  # reserved when it shipped: released as it leaves
        if row.quantity > have:
            raise InputInvalid([{"field": "quantity", "message": flow.below_zero(
                current.sku, current.from_warehouse, row.quantity, have)}])
    transfer_store.save_moved(conn, row, moved.state, entry, now)
    items = flow.events_of(current, transition, now)
    if not items:
        return []
    results, stats = event_service.take(conn, items, snap, now, f"transfer:{transfer_id}",
                                    queued=False, keep_rejected=False)
    refused = [r for r in results if r.status == "rejected"]
    if refused:
        raise InputInvalid([{"field": "events", "message": "; ".join(
            e["message"] for e in r.errors)} for r in refused])
    return stats.follow_ups
