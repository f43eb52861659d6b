"""Who works on a task: claim it, assign it to someone of its role, release it (issue #18).

The assignee is a person of the task's role; the task stays in the role's inbox either way. A
claim never takes a task from someone else (``Conflict``: they must release it, or someone of
the role assigns it). Each change is a history line (``claim``, ``assign``, ``release``) with
the state unchanged, written with the task's optimistic ``version`` check.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from engine.errors import Conflict, InputInvalid, NotFound, PermissionDenied
from engine.storage import task_store
from engine.storage.tables import tasks
from engine.workflows.tasks import HistoryEntry

ACTIONS = ("claim", "assign", "release")


class AlreadyTaken(Conflict):
    """Someone else has the task: they release it, or someone of the role reassigns it."""

    def __init__(self, task_id: int, assignee: str) -> None:
        super().__init__(f"task {task_id} is already taken by {assignee}")
        self.task_id = task_id
        self.assignee = assignee


class NotOfRole(PermissionDenied):
    """The actor does not hold the task's role."""

    def __init__(self, task_id: int, role: str | None) -> None:
        super().__init__(f"task {task_id} belongs to the role '{role}', which you do not hold")
        self.task_id = task_id
        self.role = role


class NotAMember(InputInvalid):
    """The chosen assignee is not a member of the task's role."""

    def __init__(self, assignee: str, role: str | None) -> None:
        super().__init__([{"field": "assignee",
                           "message": f"'{assignee}' is not a member of the role '{role}'"}])
        self.assignee = assignee
        self.role = role


def claim(conn: Connection, task_id: int, actor: str, actor_roles: Iterable[str],
          now: datetime) -> None:
    """``actor`` takes the task: they must hold its role; nobody else may have it."""
    row = _open_task(conn, task_id)
    if row.role not in frozenset(actor_roles):
        raise NotOfRole(task_id, row.role)
    if row.assignee == actor:
        return
    if row.assignee:
        raise AlreadyTaken(task_id, row.assignee)
    _set(conn, row, actor, "claim", actor, now)


def assign(conn: Connection, task_id: int, assignee: str, members: Iterable[str], actor: str,
           actor_roles: Iterable[str], is_admin: bool, now: datetime) -> None:
    """Give the task to ``assignee``, one of ``members`` (the people of the task's role); the
    actor holds the role or is an admin."""
    row = _open_task(conn, task_id)
    if not is_admin and row.role not in frozenset(actor_roles):
        raise NotOfRole(task_id, row.role)
    if assignee not in frozenset(members):
        raise NotAMember(assignee, row.role)
    if row.assignee != assignee:
        _set(conn, row, assignee, "assign", actor, now)


def release(conn: Connection, task_id: int, actor: str, actor_roles: Iterable[str],
            is_admin: bool, now: datetime) -> None:
    """Give the task back to its role: by its assignee, someone of its role, or an admin."""
    row = _open_task(conn, task_id)
    if row.assignee is None:
        return
    if row.assignee != actor and not is_admin and row.role not in frozenset(actor_roles):
        raise NotOfRole(task_id, row.role)
    _set(conn, row, None, "release", actor, now)


def _open_task(conn: Connection, task_id: int) -> Any:
    row = conn.execute(select(tasks).where(tasks.c.id == task_id)).first()
    if row is None:
        raise NotFound("task", task_id)
    if row.closed:
        raise Conflict(f"task {task_id} is closed")
    return row


def _set(conn: Connection, row: Any, assignee: str | None, action: str, actor: str,
         now: datetime) -> None:
    done = conn.execute(
        update(tasks).where(tasks.c.id == row.id, tasks.c.version == row.version)
        .values(assignee=assignee, updated_at=now, version=row.version + 1))
    if done.rowcount != 1:
        raise Conflict(f"task {row.id} was changed by someone else meanwhile; reload it")
    task_store.write_history(conn, [(row.id, HistoryEntry(
        now, actor, action, row.state, row.state, {"assignee": assignee, "before": row.assignee}))])
