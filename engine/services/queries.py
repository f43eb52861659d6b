"""Read side of the work the engine creates: alerts, tasks and requisitions, filtered and paged.

Rows are plain dicts shaped as SPEC §5 (codes, never internal ids, for SKUs, warehouses and
suppliers). Every listing answers ``(total, rows)`` so that callers can page with limit/offset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import ColumnElement, Connection, Select, and_, case, false, func, or_, select

from engine.errors import NotFound
from engine.policy import TaskScope
from engine.rules.compiled import SEVERITIES
from engine.storage.tables import (
    OPEN_ALERT_STATES,
    alerts,
    requisition_history,
    requisitions,
    skus,
    suppliers,
    task_history,
    tasks,
    warehouses,
)
from engine.workflows.requisitions import CLOSED as CLOSED_REQUISITION_STATES

# Critical first (SPEC §3 lists severities from info to critical).
SEVERITY_RANK = {s: rank for rank, s in enumerate(reversed(SEVERITIES))}


class AlertFilters(TypedDict, total=False):
    state: str
    sku: str  # code
    warehouse: str  # code
    rule: str
    severity: str
    role: str  # the alert's owner


class TaskFilters(TypedDict, total=False):
    state: str
    sku: str
    warehouse: str
    rule: str
    role: str
    roles: Sequence[str]  # any of these roles (an inbox of several roles)
    assignee: str
    open: bool  # True: not closed; False: closed only
    overdue: bool  # True: past due and not closed
    visible: TaskScope  # only the tasks a non-admin may see (engine/policy.py)


class RequisitionFilters(TypedDict, total=False):
    state: str
    sku: str
    warehouse: str
    supplier: str
    rule: str  # of the alert that raised it
    role: str  # the approval role
    roles: Sequence[str]
    open: bool  # True: not received, rejected or cancelled


# -- alerts ---------------------------------------------------------------------------------
def _alert_select() -> Select[Any]:
    return (
        select(alerts, skus.c.code.label("sku_code"), warehouses.c.code.label("warehouse_code"))
        .join(skus, skus.c.id == alerts.c.sku_id)
        .join(warehouses, warehouses.c.id == alerts.c.warehouse_id)
    )


def alert_row(r: Any) -> dict[str, Any]:
    """An alert as SPEC §5 shows it, plus owner, acknowledgement and resolution."""
    return {
        "id": r.id,
        "rule": r.rule,
        "rule_version": r.rule_version,
        "sku": r.sku_code,
        "warehouse": r.warehouse_code,
        "severity": r.severity,
        "state": r.state,
        "owner": r.owner,
        "opened_at": r.opened_at,
        "last_hit_at": r.last_hit_at,
        "acknowledged_at": r.acknowledged_at,
        "resolved_at": r.resolved_at,
        "resolution": r.resolution,
        "hits": r.hits,
        "facts": r.facts,
    }


def list_alerts(
    conn: Connection, filters: AlertFilters, limit: int, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """Alerts matching ``filters``, newest first."""
    where = _common(filters, alerts.c.state, alerts.c.rule)
    if "severity" in filters:
        where.append(alerts.c.severity == filters["severity"])
    if "role" in filters:
        where.append(alerts.c.owner == filters["role"])
    query = _alert_select().where(*where).order_by(alerts.c.opened_at.desc(), alerts.c.id.desc())
    return _page(conn, query, limit, offset, alert_row)


def open_alerts_of_sku(conn: Connection, sku_id: int) -> list[dict[str, Any]]:
    """The open (or acknowledged) alerts of one SKU in every warehouse, most severe first."""
    query = _alert_select().where(
        alerts.c.sku_id == sku_id, alerts.c.state.in_(OPEN_ALERT_STATES)
    )
    rows = [alert_row(r) for r in conn.execute(query.order_by(alerts.c.opened_at, alerts.c.id))]
    return sorted(rows, key=lambda a: SEVERITY_RANK.get(a["severity"], len(SEVERITIES)))


# -- tasks ----------------------------------------------------------------------------------
def _task_select() -> Select[Any]:
    return (
        select(
            tasks,
            alerts.c.rule,
            skus.c.code.label("sku_code"),
            warehouses.c.code.label("warehouse_code"),
        )
        .outerjoin(alerts, alerts.c.id == tasks.c.alert_id)
        .outerjoin(skus, skus.c.id == alerts.c.sku_id)
        .outerjoin(warehouses, warehouses.c.id == alerts.c.warehouse_id)
    )


def task_row(r: Any, now: datetime | None = None) -> dict[str, Any]:
    """A task as SPEC §5 shows it (without history), plus what the inbox sorts and marks by."""
    return {
        "id": r.id,
        "alert": r.alert_id,
        "rule": r.rule,
        "sku": r.sku_code,
        "warehouse": r.warehouse_code,
        "title": r.title,
        "workflow": r.workflow,
        "state": r.state,
        "closed": bool(r.closed),
        "role": r.role,
        "assignee": r.assignee,
        "severity": r.severity,
        "due_at": r.due_at,
        "overdue": bool(now and r.due_at and not r.closed and r.due_at < now),
        "data": r.data or {},
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "version": r.version,
    }


def list_tasks(
    conn: Connection,
    filters: TaskFilters,
    limit: int,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """Tasks matching ``filters``: open ones before closed ones (what is left to do first),
    then most severe, then soonest due (undated last).

    ``now`` marks overdue tasks and is required by the ``overdue`` filter.
    """
    where = _common(filters, tasks.c.state, alerts.c.rule)
    where += _role_filter(tasks.c.role, filters)
    if "assignee" in filters:
        where.append(tasks.c.assignee == filters["assignee"])
    if "open" in filters:
        where.append(tasks.c.closed.is_(not filters["open"]))
    if "overdue" in filters:
        where.append(_overdue(filters["overdue"], now))
    if "visible" in filters:
        scope = filters["visible"]
        where.append(or_(tasks.c.role.in_(sorted(scope.roles)),
                         tasks.c.assignee == scope.assignee,
                         tasks.c.workflow.in_(sorted(scope.workflows))))
    rank = case(SEVERITY_RANK, value=tasks.c.severity, else_=len(SEVERITIES))
    query = _task_select().where(*where).order_by(
        tasks.c.closed, rank, tasks.c.due_at.is_(None), tasks.c.due_at, tasks.c.id
    )
    return _page(conn, query, limit, offset, lambda r: task_row(r, now))


def _overdue(wanted: bool, now: datetime | None) -> ColumnElement[bool]:
    if now is None:
        raise ValueError("the overdue filter needs the current time")
    late = and_(tasks.c.closed.is_(False), tasks.c.due_at.is_not(None), tasks.c.due_at < now)
    return late if wanted else ~late


def load_task(conn: Connection, task_id: int, now: datetime | None = None) -> dict[str, Any]:
    """One task row (no history) or ``NotFound``."""
    row = conn.execute(_task_select().where(tasks.c.id == task_id)).first()
    if row is None:
        raise NotFound("task", task_id)
    return task_row(row, now)


def task_history_of(conn: Connection, task_id: int) -> list[dict[str, Any]]:
    return _history(conn, task_history, task_history.c.task_id, task_id)


# -- requisitions ---------------------------------------------------------------------------
def _requisition_select() -> Select[Any]:
    return (
        select(
            requisitions,
            alerts.c.rule,
            alerts.c.owner,
            skus.c.code.label("sku_code"),
            warehouses.c.code.label("warehouse_code"),
            suppliers.c.code.label("supplier_code"),
        )
        .join(skus, skus.c.id == requisitions.c.sku_id)
        .join(warehouses, warehouses.c.id == requisitions.c.warehouse_id)
        .outerjoin(suppliers, suppliers.c.id == requisitions.c.supplier_id)
        .outerjoin(alerts, alerts.c.id == requisitions.c.alert_id)
    )


def requisition_row(r: Any) -> dict[str, Any]:
    """A requisition as SPEC §5 shows it (without history)."""
    return {
        "id": r.id,
        "alert": r.alert_id,
        "rule": r.rule,
        "sku": r.sku_code,
        "warehouse": r.warehouse_code,
        "supplier": r.supplier_code,
        "quantity": r.quantity,
        "unit_price": r.unit_price,
        "amount": r.amount,
        "state": r.state,
        "approval_role": r.approval_role,
        "owner": r.owner,  # the role responsible: the owner of the rule that raised it
        "ref": r.ref,
        "ordered_at": r.ordered_at,
        "eta": r.eta,  # set by a supplier_delay (issue #19); None: not announced
        "counted_by_erp": bool(r.counted_by_erp),
        "reason": r.reason,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "version": r.version,
    }


def list_requisitions(
    conn: Connection, filters: RequisitionFilters, limit: int, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """Requisitions matching ``filters``, newest first."""
    where = _common(filters, requisitions.c.state, alerts.c.rule)
    where += _role_filter(requisitions.c.approval_role, filters)
    if "supplier" in filters:
        where.append(suppliers.c.code == filters["supplier"])
    if "open" in filters:
        closed = requisitions.c.state.in_(sorted(CLOSED_REQUISITION_STATES))
        where.append(~closed if filters["open"] else closed)
    query = (
        _requisition_select()
        .where(*where)
        .order_by(requisitions.c.created_at.desc(), requisitions.c.id.desc())
    )
    return _page(conn, query, limit, offset, requisition_row)


def load_requisition(conn: Connection, req_id: int) -> dict[str, Any]:
    """One requisition row (no history) or ``NotFound``."""
    row = conn.execute(_requisition_select().where(requisitions.c.id == req_id)).first()
    if row is None:
        raise NotFound("requisition", req_id)
    return requisition_row(row)


def requisition_history_of(conn: Connection, req_id: int) -> list[dict[str, Any]]:
    return _history(conn, requisition_history, requisition_history.c.requisition_id, req_id)


# -- shared ---------------------------------------------------------------------------------
def _common(filters: Mapping[str, Any], state: Any, rule: Any) -> list[ColumnElement[bool]]:
    """The filters every listing has: state, SKU and warehouse codes, rule."""
    where: list[ColumnElement[bool]] = []
    if "state" in filters:
        where.append(state == filters["state"])
    if "sku" in filters:
        where.append(skus.c.code == filters["sku"])
    if "warehouse" in filters:
        where.append(warehouses.c.code == filters["warehouse"])
    if "rule" in filters:
        where.append(rule == filters["rule"])
    return where


def _role_filter(column: Any, filters: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if "role" in filters:
        where.append(column == filters["role"])
    if "roles" in filters:
        roles = sorted(set(filters["roles"]))
        where.append(column.in_(roles) if roles else false())  # no role: nothing
    return where


def _page(
    conn: Connection, query: Select[Any], limit: int, offset: int, shape: Any
) -> tuple[int, list[dict[str, Any]]]:
    count = select(func.count()).select_from(query.order_by(None).subquery())
    total = conn.execute(count).scalar_one()
    rows = conn.execute(query.limit(max(limit, 0)).offset(max(offset, 0)))
    return total, [shape(r) for r in rows]


def _history(conn: Connection, table: Any, key: Any, value: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(table).where(key == value).order_by(table.c.at, table.c.id))
    return [history_entry(r) for r in rows]


def history_entry(r: Any) -> dict[str, Any]:
    """One history line in the shape of ``HistoryEntry.as_dict`` (``from``/``to``)."""
    return {
        "at": r.at,
        "actor": r.actor,
        "transition": r.transition,
        "from": r.from_state,
        "to": r.to_state,
        "data": r.data or {},
    }

