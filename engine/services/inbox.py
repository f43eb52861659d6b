"""The task inbox's query: search, filters, sort and the tasks linked by SKU×warehouse (issue #18).

A buyer works through tasks by warehouse, group or rule, searches a SKU by code or name, and
handles a SKU×warehouse once even when several rules raised a task for it: every row carries
the other open tasks of its pair (``linked``), so a page or a bulk action can close them with
it. SKU groups are JsonLogic over master data, not stored per task: the group filter is given
the group's SKU ids per warehouse (``InGroup``, from the engine cache's snapshot, which a
catalogue or ruleset change replaces) and passes them to the database as one parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, false, func, or_, select
from sqlalchemy.sql.util import find_tables

from engine.rules.compiled import SEVERITIES
from engine.services import group_sql
from engine.services.noise_control import snoozed
from engine.services.queries import SEVERITY_RANK, task_row
from engine.storage.tables import alerts, skus, tasks, warehouses

SORTS = ("urgency", "due", "newest", "sku")
SHOWS = ("open", "closed", "all", "snoozed")  # open: not snoozed (issue #17)
MAX_GROUP_SCAN = 200_000  # rows the group filter reads at most (then it says so)
UNASSIGNED = "-"  # the assignee filter's value for "nobody yet"

@dataclass(frozen=True)
class InGroup:
    """A SKU group's members: the ids of its SKUs per warehouse id (``Snapshot.group_members``)."""

    members: Mapping[int, Sequence[int]]


@dataclass(frozen=True)
class InboxQuery:
    """What the inbox shows: ``roles`` None means every role (an admin's view)."""

    roles: tuple[str, ...] | None = None
    viewer: str | None = None  # tasks assigned to the viewer show whatever their role
    role: str | None = None
    q: str = ""
    warehouse: str | None = None
    severity: str | None = None
    rule: str | None = None
    overdue: bool = False
    show: str = "open"
    assignee: str | None = None  # a username, or UNASSIGNED
    sort: str = "urgency"
    by_pair: bool = True  # open tasks: one row per SKU×warehouse, the others as ``linked``


def _select() -> Any:
    return (
        select(tasks, alerts.c.rule,
               skus.c.code.label("sku_code"), skus.c.name.label("sku_name"),
               warehouses.c.code.label("warehouse_code"),
               warehouses.c.name.label("warehouse_name"))
        .select_from(_joined())
    )


def _where(query: InboxQuery, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.roles is not None:
        mine = tasks.c.role.in_(sorted(set(query.roles))) if query.roles else false()
        where.append(or_(mine, tasks.c.assignee == query.viewer) if query.viewer else mine)
    if query.role:
        where.append(tasks.c.role == query.role)
    if query.show == "snoozed":  # the open tasks of snoozed alerts, left out of "open"
        where += [tasks.c.closed.is_(False), snoozed(tasks.c.alert_id, now)]
    elif query.show != "all":
        where.append(tasks.c.closed.is_(query.show == "closed"))
        if query.show == "open":
            where.append(~snoozed(tasks.c.alert_id, now))
    if query.q.strip():
        text = query.q.strip()
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # the matching SKUs first (one pass over the catalogue), then their tasks
        matching = select(skus.c.id).where(or_(
            skus.c.code == text, skus.c.code.ilike(pattern, escape="\\"),
            skus.c.name.ilike(pattern, escape="\\")))
        where.append(alerts.c.sku_id.in_(matching))
    if query.warehouse:
        where.append(warehouses.c.code == query.warehouse)
    if query.severity:
        where.append(tasks.c.severity == query.severity)
    if query.rule:
        where.append(alerts.c.rule == query.rule)
    if query.overdue:
        where.append(and_(tasks.c.closed.is_(False), tasks.c.due_at.is_not(None),
                          tasks.c.due_at < now))
    if query.assignee == UNASSIGNED:
        where.append(tasks.c.assignee.is_(None))
    elif query.assignee:
        where.append(tasks.c.assignee == query.assignee)
    return where


def _order(sort: str) -> list[Any]:
    rank = case(SEVERITY_RANK, value=tasks.c.severity, else_=len(SEVERITIES))
    undated = tasks.c.due_at.is_(None)
    if sort == "due":
        return [tasks.c.closed, undated, tasks.c.due_at, rank, tasks.c.id]
    if sort == "newest":
        return [tasks.c.created_at.desc(), tasks.c.id.desc()]
    if sort == "sku":
        return [skus.c.code, warehouses.c.code, rank, tasks.c.id]
    return [tasks.c.closed, rank, undated, tasks.c.due_at, tasks.c.id]


def search(
    conn: Connection,
    query: InboxQuery,
    limit: int,
    offset: int,
    now: datetime,
    in_group: InGroup | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """``(total, rows)`` of the inbox page; each row is ``queries.task_row`` plus names and the
    other open tasks of its SKU×warehouse (``linked``)."""
    where = _where(query, now)
    order = _order(query.sort if query.sort in SORTS else "urgency")
    if query.by_pair and query.show == "open" and in_group is None:
        total, rows = _search_by_pair(conn, where, order, limit, offset)
        items = [_row(r, now) for r in rows]
        _attach_linked(conn, items)
        return total, items
    if in_group is None:
        # Sort and page on the narrow rows first, then read the page's rows in full: the wide
        # join of tens of thousands of rows is never built.
        narrow = select(tasks.c.id).select_from(_joined()).where(*where)
        total = conn.execute(select(func.count()).select_from(narrow.subquery())).scalar_one()
        ids = list(conn.execute(narrow.order_by(*order).limit(max(limit, 0))
                                .offset(max(offset, 0))).scalars())
        found = {r.id: r for r in conn.execute(_select().where(tasks.c.id.in_(ids)))} \
            if ids else {}
        rows = [found[i] for i in ids if i in found]
    else:
        total, rows = _search_in_group(conn, where, order, limit, offset, in_group,
                                       query.by_pair and query.show == "open")
    items = [_row(r, now) for r in rows]
    _attach_linked(conn, items)
    return total, items


def _pair() -> tuple[Any, Any]:
    """The task's SKU×warehouse (its own, copied from its alert); a task without one is a
    pair of its own."""
    return (func.coalesce(tasks.c.sku_id, -tasks.c.id), func.coalesce(tasks.c.warehouse_id, 0))


def _search_by_pair(conn: Connection, where: list[ColumnElement[bool]], order: list[Any],
                    limit: int, offset: int) -> tuple[int, list[Any]]:
    """One row per SKU×warehouse, the first of each in the list's order (the most urgent by
    default): read the narrow rows in order until the page's pairs are found, rather than
    numbering every open task (a window over 50k rows on every page)."""
    sku, wh = _pair()
    # the distinct pairs of tasks with one (read in pair order from ix_tasks_open_pair), then
    # each task without one: the count of ``_pair()``'s distinct values, without hashing them
    source = _from(where)
    pairs = (select(tasks.c.sku_id, tasks.c.warehouse_id).select_from(source)
             .where(*where, tasks.c.sku_id.is_not(None)).distinct()
             .order_by(tasks.c.sku_id, tasks.c.warehouse_id).subquery())  # (hashed, if not)
    unpaired = select(func.count()).select_from(source).where(*where, tasks.c.sku_id.is_(None))
    total = conn.execute(select(select(func.count()).select_from(pairs).scalar_subquery()
                                + unpaired.scalar_subquery())).scalar_one()
    wanted = max(offset, 0) + max(limit, 0)
    narrow = select(tasks.c.id, sku, wh).select_from(_joined()).where(*where).order_by(*order)
    chunk = max(wanted * 2, 100)
    seen: set[tuple[Any, Any]] = set()
    leads: list[int] = []
    while True:
        rows = conn.execute(narrow.limit(chunk)).all()
        seen.clear()
        leads = []
        for task_id, s, w in rows:
            if (s, w) not in seen:
                seen.add((s, w))
                leads.append(task_id)
        if len(leads) >= wanted or len(rows) < chunk:
            break
        chunk *= 4
    ids = leads[max(offset, 0):wanted]
    found = {r.id: r for r in conn.execute(_select().where(tasks.c.id.in_(ids)))} if ids else {}
    return int(total), [found[i] for i in ids if i in found]


def _from(where: list[ColumnElement[bool]]) -> Any:
    """The tasks alone when ``where`` reads nothing else: PostgreSQL 15 leaves an unused
    outer join out but still reads ``alert_id``, so an index of the tasks' pairs could not
    answer the count from the index alone."""
    read = {t for clause in where for t in find_tables(clause, check_columns=True)}
    return tasks if read <= {tasks} else _joined()


def _joined() -> Any:
    """Tasks with their alert, SKU and warehouse (by the task's own pair: a filter on the
    warehouse or a sort by SKU needs no alert; the database leaves out a join nothing reads)."""
    return (tasks.outerjoin(alerts, alerts.c.id == tasks.c.alert_id)
            .outerjoin(skus, skus.c.id == tasks.c.sku_id)
            .outerjoin(warehouses, warehouses.c.id == tasks.c.warehouse_id))


def _search_in_group(
    conn: Connection, where: list[ColumnElement[bool]], order: list[Any], limit: int,
    offset: int, in_group: InGroup, by_pair: bool,
) -> tuple[int, list[Any]]:
    """The tasks (or, ``by_pair``, the first task — most severe, then oldest — of each
    SKU×warehouse) in the group, in the list's order.

    The database keeps the narrow rows of the group's SKUs (given as ids), read unordered; the
    first of each pair is found here; then only those ids are sorted, for the one page asked.
    Sorting every open task (50k) to keep a seventh of them was most of the page's time.
    """
    member = group_sql.in_group(conn, in_group.members, tasks.c.sku_id, tasks.c.warehouse_id,
                                "group")
    narrow = (select(tasks.c.id, tasks.c.sku_id, tasks.c.warehouse_id, tasks.c.severity)
              .select_from(_joined()).where(*where, member).limit(MAX_GROUP_SCAN))
    leads: dict[tuple[int, int], tuple[int, int]] = {}
    ids: list[int] = []
    worst = len(SEVERITIES)
    for task_id, sku_id, wh_id, severity in conn.execute(narrow):
        if not by_pair:
            ids.append(task_id)
            continue
        key = (SEVERITY_RANK.get(severity, worst), task_id)
        found = leads.get((sku_id, wh_id))
        if found is None or key < found:
            leads[(sku_id, wh_id)] = key
    if by_pair:
        ids = [task_id for _rank, task_id in leads.values()]
    if not ids or limit <= 0:
        return len(ids), []
    page = list(conn.execute(
        select(tasks.c.id).select_from(_joined())
        .where(group_sql.among(conn, tasks.c.id, ids, "page")).order_by(*order).limit(limit).offset(max(offset, 0))).scalars())
    found_rows = {r.id: r for r in conn.execute(_select().where(tasks.c.id.in_(page)))} \
        if page else {}
    return len(ids), [found_rows[i] for i in page if i in found_rows]


def _row(r: Any, now: datetime) -> dict[str, Any]:
    row = task_row(r, now)
    row.update(sku_name=r.sku_name, warehouse_name=r.warehouse_name, sku_id=r.sku_id,
               warehouse_id=r.warehouse_id, linked=[])
    return row


def _attach_linked(conn: Connection, items: list[dict[str, Any]]) -> None:
    """Fill ``linked``: the other open tasks of each row's SKU×warehouse, most severe first."""
    pairs = {(i["sku_id"], i["warehouse_id"]) for i in items if i["sku_id"] is not None}
    if not pairs:
        return
    found = open_tasks_of_pairs(conn, pairs)
    for item in items:
        key = (item["sku_id"], item["warehouse_id"])
        item["linked"] = [t for t in found.get(key, []) if t["id"] != item["id"]]


def open_tasks_of_pairs(
    conn: Connection, pairs: set[tuple[int, int]] | Sequence[tuple[int, int]]
) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """The open tasks of each SKU×warehouse pair (id, title, rule, severity, state, workflow)."""
    sku_ids = sorted({s for s, _ in pairs})
    rows = conn.execute(
        select(tasks.c.id, tasks.c.title, tasks.c.severity, tasks.c.state, tasks.c.workflow,
               tasks.c.role, tasks.c.assignee, tasks.c.version, alerts.c.rule, alerts.c.sku_id,
               alerts.c.warehouse_id)
        .join(alerts, alerts.c.id == tasks.c.alert_id)
        .where(alerts.c.sku_id.in_(sku_ids), tasks.c.closed.is_(False))
        .order_by(tasks.c.id)
    )
    wanted = set(pairs)
    out: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for r in rows:
        key = (r.sku_id, r.warehouse_id)
        if key in wanted:
            out.setdefault(key, []).append(dict(r._mapping))
    for linked in out.values():
        linked.sort(key=lambda t: SEVERITY_RANK.get(t["severity"], len(SEVERITIES)))
    return out


def linked_open_tasks(conn: Connection, task_id: int) -> list[dict[str, Any]]:
    """The other open tasks of the SKU×warehouse of ``task_id`` (none without an alert)."""
    pair = conn.execute(
        select(alerts.c.sku_id, alerts.c.warehouse_id)
        .join(tasks, tasks.c.alert_id == alerts.c.id).where(tasks.c.id == task_id)
    ).first()
    if pair is None:
        return []
    key = (pair.sku_id, pair.warehouse_id)
    return [t for t in open_tasks_of_pairs(conn, {key}).get(key, []) if t["id"] != task_id]


def next_task(
    conn: Connection, query: InboxQuery, now: datetime, skip: Sequence[int] = (),
    in_group: InGroup | None = None,
) -> int | None:
    """The first open task of the inbox ``query`` other than ``skip``: where to go next."""
    open_query = replace(query, show="open")
    if in_group is None:
        where = _where(open_query, now)
        if skip:
            where.append(tasks.c.id.not_in(list(skip)))
        row = conn.execute(select(tasks.c.id).select_from(_joined()).where(*where).order_by(*_order(open_query.sort)).limit(1)).first()
        return int(row.id) if row is not None else None
    _, rows = _search_in_group(conn, _where(open_query, now), _order(open_query.sort),
                               len(skip) + 1, 0, in_group, False)
    return next((int(r.id) for r in rows if r.id not in set(skip)), None)
