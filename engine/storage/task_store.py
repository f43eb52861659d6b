"""Tasks in the database: the rows and their history, written here and nowhere else.

The ``Task`` aggregate (``engine.workflows.tasks``) decides every change — created by an
alert's action, escalated, moved by a transition — and records it as a history entry; this
store writes the row and the new entries, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from engine.errors import Conflict
from engine.storage import bulk
from engine.storage.tables import alerts, task_history, tasks
from engine.workflows.tasks import HistoryEntry, Task

TASK_COLUMNS = ("alert_id", "action_key", "title", "workflow", "state", "closed", "role", "severity",
                "due_at", "data", "created_at", "updated_at", "sku_id", "warehouse_id")
HISTORY_COLUMNS = ("task_id", "at", "actor", "transition", "from_state", "to_state", "data")


def write_history(conn: Connection, entries: Sequence[tuple[int, HistoryEntry]]) -> None:
    """The one writer of task history: each ``(task id, entry)``."""
    bulk.insert_many(conn, task_history, HISTORY_COLUMNS, [
        (task_id, e.at, e.actor, e.transition, e.from_state, e.to_state, dict(e.data))
        for task_id, e in entries])


def add_new(conn: Connection, new: Sequence[Task], now: datetime) -> list[int]:
    """Insert new tasks (one statement for the batch) and their history; their ids, in order."""
    if not new:
        return []
    alert_ids = sorted({int(t.alert_id) for t in new if t.alert_id})
    pairs = {r.id: (r.sku_id, r.warehouse_id) for r in conn.execute(
        select(alerts.c.id, alerts.c.sku_id, alerts.c.warehouse_id)
        .where(alerts.c.id.in_(alert_ids)))} if alert_ids else {}
    made = bulk.insert_returning(conn, tasks, TASK_COLUMNS, [
        (int(t.alert_id) if t.alert_id else None, t.action_key, t.title, t.workflow, t.state,
         False, t.role, t.severity, t.due_at, t.data, now, now,
         *pairs.get(int(t.alert_id) if t.alert_id else 0, (None, None))) for t in new],
        ("id", "alert_id", "action_key"))
    by_key = {(alert_id, action_key): task_id for task_id, alert_id, action_key in made}
    ids = [by_key[(int(t.alert_id) if t.alert_id else None, t.action_key)] for t in new]
    write_history(conn, [(i, e) for i, t in zip(ids, new, strict=True) for e in t.history])
    return ids


def save_moved(conn: Connection, row: Any, moved: Task, closed: bool, actor: str,
               now: datetime) -> None:
    """Write a transition's new state with the optimistic ``version`` check, and its entry."""
    done = conn.execute(
        update(tasks)
        .where(tasks.c.id == row.id, tasks.c.version == row.version)
        .values(state=moved.state, data=moved.data, closed=closed, updated_at=now,
                # the first person to act on an unassigned task takes it, as in an inbox
                assignee=row.assignee or actor, version=row.version + 1)
    )
    if done.rowcount != 1:
        raise Conflict(f"task {row.id} was changed by someone else meanwhile; reload it")
    write_history(conn, [(row.id, moved.history[-1])])


def open_tasks_of(conn: Connection, alert_id: int) -> list[Task]:
    """The tasks of an alert not yet in a terminal state (for escalation)."""
    rows = conn.execute(select(tasks.c.id, tasks.c.alert_id, tasks.c.title, tasks.c.workflow,
                               tasks.c.state, tasks.c.role)
                        .where(tasks.c.alert_id == alert_id, tasks.c.closed.is_(False)))
    return [Task(str(r.id), str(r.alert_id), r.title, r.workflow, r.state, r.role) for r in rows]


def save_escalated(conn: Connection, moved: Sequence[Task], now: datetime) -> None:
    """Write escalated tasks: their role, and the escalation's history entry."""
    for t in moved:
        conn.execute(update(tasks).where(tasks.c.id == int(t.id))
                     .values(role=t.role, updated_at=now, version=tasks.c.version + 1))
    write_history(conn, [(int(t.id), t.history[-1]) for t in moved])
