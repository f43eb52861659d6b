"""Task use cases: show a task with what its viewer may do, and take a workflow transition.

Transitions follow the workflow of the ACTIVE ruleset (roles come from its role members; an
admin has no implicit right here). The write is guarded by the task's ``version``: a task
changed by someone else in the meantime answers ``Conflict`` and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from engine.errors import NotFound
from engine.rules.compiled import CompiledRuleset, Transition, Workflow
from engine.services.queries import load_task, task_history_of
from engine.storage import task_store
from engine.storage.tables import alerts, skus, tasks, warehouses
from engine.workflows.definition import allowed_transitions, is_terminal
from engine.workflows.errors import TransitionNotAllowed
from engine.workflows.tasks import Task, apply_transition
from forms.widgets import widgets


def get_task(
    conn: Connection,
    task_id: int,
    ruleset: CompiledRuleset | None = None,
    user_roles: Iterable[str] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    """A task with its history, its alert's summary and the transitions this user may take."""
    task = load_task(conn, task_id, now)
    task["history"] = task_history_of(conn, task_id)
    task["alert_summary"] = _alert_summary(conn, task["alert"])
    workflow = ruleset.workflows.get(task["workflow"]) if ruleset else None
    task["transitions"] = (
        [transition_view(t) for t in allowed_transitions(workflow, task["state"], user_roles)]
        if workflow is not None
        else []
    )
    return task


def transition_view(transition: Transition) -> dict[str, Any]:
    """What a client needs to offer a transition: id, label, target state and its form."""
    return {
        "id": transition.id,
        "label": transition.label or transition.id,
        "to": transition.to,
        "form": widgets(transition.form),
    }


def _alert_summary(conn: Connection, alert_id: int | None) -> dict[str, Any] | None:
    if alert_id is None:
        return None
    row = conn.execute(
        select(
            alerts.c.id, alerts.c.rule, alerts.c.state, alerts.c.severity, alerts.c.facts,
            skus.c.code.label("sku"), warehouses.c.code.label("warehouse"),
        )
        .join(skus, skus.c.id == alerts.c.sku_id)
        .join(warehouses, warehouses.c.id == alerts.c.warehouse_id)
        .where(alerts.c.id == alert_id)
    ).first()
    return dict(row._mapping) if row is not None else None


def transition_task(
    conn: Connection,
    ruleset: CompiledRuleset | None,
    task_id: int,
    transition_id: str,
    data: Mapping[str, Any],
    actor_username: str,
    actor_roles: Iterable[str],
    now: datetime,
) -> dict[str, Any]:
    """Take ``transition_id`` on the task as ``actor_username``; the task row after it.

    Raises ``NotFound``, ``TransitionNotAllowed`` (unknown transition, wrong state, workflow
    gone from the active ruleset), ``RoleNotAllowed``, ``FormInvalid`` (per field) or
    ``Conflict`` (changed concurrently). Leaving the initial state acknowledges an open alert.
    """
    row = conn.execute(select(tasks).where(tasks.c.id == task_id)).first()
    if row is None:
        raise NotFound("task", task_id)
    workflow = _workflow(ruleset, row.workflow, transition_id, row.state)
    task = Task(str(row.id), None, row.title, row.workflow, row.state, row.role, row.assignee,
                row.due_at, dict(row.data or {}))
    moved = apply_transition(task, workflow, transition_id, actor_username, actor_roles, data, now)
    task_store.save_moved(conn, row, moved, is_terminal(workflow, moved.state), actor_username, now)
    if row.alert_id is not None and row.state == workflow.initial and moved.state != row.state:
        _acknowledge(conn, row.alert_id, now)
    return load_task(conn, task_id, now)


def _workflow(
    ruleset: CompiledRuleset | None, workflow_id: str, transition_id: str, state: str
) -> Workflow:
    workflow = ruleset.workflows.get(workflow_id) if ruleset is not None else None
    if workflow is None:
        reason = (f"its workflow '{workflow_id}' is not in the active ruleset any more; "
                  "an admin must restore it or the task stays as it is")
        raise TransitionNotAllowed(transition_id, state, reason)
    return workflow


def _acknowledge(conn: Connection, alert_id: int, now: datetime) -> None:
    """Someone is on it: an open alert becomes ``acknowledged`` (never resolved from here)."""
    conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.state == "open")
        .values(state="acknowledged", acknowledged_at=now)
    )
