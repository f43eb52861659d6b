"""Escalations: fire each due level once, moving the alert's open tasks to the target role.

Driven by the database (due rows with ``fired_at IS NULL``), so a lost scheduler never loses an
escalation; ``UNIQUE(alert_id, level)`` and the ``fired_at`` guard make firing idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, update

from engine.services.noise_control import snoozed
from engine.storage import task_store
from engine.storage.tables import alerts, escalations, notifications, tasks
from engine.storage.upsert import insert_ignore
from engine.workflows.tasks import Task, escalate

if TYPE_CHECKING:
    from engine.rules.compiled import CompiledRuleset

# The level of the escalation a task's lateness fires (a rule's own ``escalate`` levels are 1…n):
# one per alert, kept in the same table so that it fires once, whichever process sweeps.
OVERDUE_LEVEL = 0


def run_due(conn: Connection, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Fire every escalation due at ``now`` whose alert is still open; return what fired."""
    query = (select(escalations, alerts.c.state.label("alert_state"), alerts.c.rule)
             .join(alerts, alerts.c.id == escalations.c.alert_id)
             .where(escalations.c.fired_at.is_(None), escalations.c.cancelled_at.is_(None),
                    escalations.c.due_at <= now,
                    ~snoozed(escalations.c.alert_id, now))  # fires after the snooze ends
             .order_by(escalations.c.due_at).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=escalations)
    fired = []
    for row in list(conn.execute(query)):
        # Escalate only "after a duration without progress" (SPEC §3): an acknowledged alert
        # (someone started its task) or a resolved one cancels the pending levels.
        if row.alert_state != "open":
            conn.execute(update(escalations).where(escalations.c.id == row.id).values(cancelled_at=now))
            continue
        done = conn.execute(update(escalations)
                            .where(escalations.c.id == row.id, escalations.c.fired_at.is_(None))
                            .values(fired_at=now))
        if done.rowcount != 1:
            continue
        moved = _move_tasks(conn, row.alert_id, row.to_role, row.level, now)
        conn.execute(insert(notifications).values(
            alert_id=row.alert_id, dedupe_key=f"escalation:{row.id}", channel="inbox",
            recipients=[row.to_role], subject=f"escalated: {row.rule}",
            message=f"Alert {row.alert_id} ({row.rule}) escalated to {row.to_role} (level {row.level})",
            state="pending", created_at=now))
        fired.append({"escalation": row.id, "alert": row.alert_id, "level": row.level,
                      "to": row.to_role, "tasks": moved})
    return fired


def _move_tasks(conn: Connection, alert_id: int, role: str, level: int, now: datetime) -> list[int]:
    moved = [escalate(t, role, level, now) for t in task_store.open_tasks_of(conn, alert_id)]
    task_store.save_escalated(conn, moved, now)
    return [int(t.id) for t in moved]


def run_overdue(conn: Connection, now: datetime, escalate_to: Mapping[str, str],
                limit: int = 500) -> list[dict[str, Any]]:
    """Move each open task past its due time to its role's ``escalate_to`` (SPEC §2 role), once.

    ``escalate_to`` maps a role to its target (from the active ruleset). The escalation row
    (level ``OVERDUE_LEVEL``, unique per alert) is the guard: a second sweep, or a second
    process, finds it and does nothing. The new role is told through the inbox, as for a rule's
    own escalation.
    """
    if not escalate_to:
        return []
    due = list(conn.execute(
        select(tasks.c.id, tasks.c.alert_id, tasks.c.role, tasks.c.state, tasks.c.due_at,
               tasks.c.title)
        .where(tasks.c.closed.is_(False), tasks.c.due_at <= now, tasks.c.alert_id.is_not(None),
               tasks.c.role.in_(sorted(escalate_to)),
               ~snoozed(tasks.c.alert_id, now))  # a snoozed alert's task waits (issue #17)
        .order_by(tasks.c.due_at, tasks.c.id).limit(limit)))
    fired = []
    for t in due:
        target = escalate_to[t.role]
        row_id = insert_ignore(conn, escalations, {
            "alert_id": t.alert_id, "task_id": t.id, "level": OVERDUE_LEVEL, "to_role": target,
            "due_at": t.due_at, "fired_at": now}, ["alert_id", "level"])
        if row_id is None:
            continue  # escalated before (by this sweep's earlier pass or another process)
        task = Task(str(t.id), str(t.alert_id), t.title, "", t.state, t.role)
        task_store.save_escalated(conn, [escalate(task, target, OVERDUE_LEVEL, now, "overdue")], now)
        conn.execute(insert(notifications).values(
            alert_id=t.alert_id, dedupe_key=f"escalation:{row_id}", channel="inbox",
            recipients=[target], subject=f"overdue: {t.title}"[:200],
            message=f"Task {t.id} ({t.title}) is past its due time; escalated from {t.role} "
                    f"to {target}",
            state="pending", created_at=now))
        fired.append({"escalation": row_id, "task": t.id, "from": t.role, "to": target})
    return fired


def fire_all(conn: Connection, now: datetime, ruleset: CompiledRuleset | None) -> list[dict[str, Any]]:
    """Everything due at ``now``: the rules' escalation levels, then overdue tasks moved to their
    role's ``escalate_to`` in ``ruleset`` (the active one)."""
    targets = ({r.id: r.escalate_to for r in ruleset.roles.values() if r.escalate_to}
               if ruleset is not None else {})
    return run_due(conn, now) + run_overdue(conn, now, targets)
