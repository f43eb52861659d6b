"""The demo's simulated colleagues: over 90 days of history someone worked the tasks.

Without this the demo would show every task ever raised as still open. Tasks whose alert has
resolved are closed through their own workflow by a member of the task's role (the first
transition to a state with no way out, its form filled with the first option of each select);
requisitions of resolved alerts are approved, ordered and received the same way. Everything goes
through the real use cases, so the history the demo shows is one the engine could have made.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from engine.errors import EngineError
from engine.rules.compiled import CompiledRuleset, Transition
from engine.services.requisitions import transition_requisition
from engine.services.tasks import transition_task
from engine.storage.tables import alerts, requisitions, tasks
from engine.workflows.definition import is_terminal


def work_resolved(conn: Connection, ruleset: CompiledRuleset, now: datetime) -> dict[str, int]:
    done = {"tasks": 0, "requisitions": 0}
    resolved = select(alerts.c.id).where(alerts.c.state == "resolved")
    for task in list(conn.execute(select(tasks).where(tasks.c.closed.is_(False),
                                                      tasks.c.alert_id.in_(resolved)))):
        workflow = ruleset.workflows.get(task.workflow)
        role = ruleset.roles.get(task.role or "")
        if workflow is None or role is None or not role.members:
            continue
        step = _closing_step(workflow.transitions, task.state, task.role, workflow)
        if step is None:
            continue
        try:
            transition_task(conn, ruleset, task.id, step.id, _answers(step), role.members[0],
                            {task.role}, now)
            done["tasks"] += 1
        except EngineError:
            continue
    for req in list(conn.execute(select(requisitions).where(
            requisitions.c.state.in_(("pending_approval", "approved")), requisitions.c.alert_id.in_(resolved)))):
        steps = (["approve"] if req.state == "pending_approval" else []) + ["order", "receive"]
        approver = ruleset.roles.get(req.approval_role or "")
        try:
            for move in steps:
                # the demo's purchasing desk orders and receives as an admin may
                actor, roles, admin = "demo", set(), True
                if move == "approve" and approver is not None and approver.members:
                    actor, roles, admin = approver.members[0], {approver.id}, False
                data = {"ref": f"PO-DEMO-{req.id}"} if move == "order" else {}
                transition_requisition(conn, req.id, move, data, actor, roles, now, admin)
            done["requisitions"] += 1
        except EngineError:
            continue
    return done


def _closing_step(transitions: tuple[Transition, ...], state: str, role: str | None,
                  workflow: Any) -> Transition | None:
    for t in transitions:
        if state in t.from_states and (not t.roles or role in t.roles) and is_terminal(workflow, t.to):
            return t
    return None


def _answers(step: Transition) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for f in step.form:
        if f.type == "select" and f.options:
            answers[f.name] = f.options[0]
        elif f.required and f.type in ("number", "integer"):
            answers[f.name] = f.min if f.min is not None else 0
        elif f.required and f.type == "boolean":
            answers[f.name] = True
        elif f.required:
            answers[f.name] = "demo"
    return answers
