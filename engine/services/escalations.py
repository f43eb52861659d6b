"""Escalations: fire each due level once, moving the alert's open tasks to the target role.

Driven by the database (due rows with ``fired_at IS NULL``), so a lost scheduler never loses an
escalation; ``UNIQUE(alert_id, level)`` and the ``fired_at`` guard make firing idempotent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from engine.storage.tables import alerts, escalations, notifications, task_history, tasks


def run_due(conn: Connection, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Fire every escalation due at ``now`` whose alert is still open; return what fired."""
    query = (select(escalations, alerts.c.state.label("alert_state"), alerts.c.rule)
             .join(alerts, alerts.c.id == escalations.c.alert_id)
             .where(escalations.c.fired_at.is_(None), escalations.c.cancelled_at.is_(None),
                    escalations.c.due_at <= now)
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
    open_tasks = list(conn.execute(select(tasks.c.id, tasks.c.role, tasks.c.state)
                                   .where(tasks.c.alert_id == alert_id, tasks.c.closed.is_(False))))
    for t in open_tasks:
        conn.execute(update(tasks).where(tasks.c.id == t.id)
                     .values(role=role, updated_at=now, version=tasks.c.version + 1))
        conn.execute(insert(task_history).values(
            task_id=t.id, at=now, actor="system", transition="escalate", from_state=t.state,
            to_state=t.state, data={"from_role": t.role, "to_role": role, "level": level}))
    return [t.id for t in open_tasks]
