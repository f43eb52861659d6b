"""The workflow task: a unit of owned work moved through its workflow by form-backed transitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from engine.rules.compiled import Workflow
from engine.workflows.definition import check_transition, is_terminal
from engine.workflows.errors import FormInvalid, TransitionNotAllowed
from forms.validation import validate_form


@dataclass(frozen=True)
class HistoryEntry:
    """One transition taken: when, by whom, from which state to which, with the form's answers."""

    at: datetime
    actor: str
    transition: str
    from_state: str | None  # None: the entry that created it
    to_state: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "actor": self.actor,
            "transition": self.transition,
            "from": self.from_state,
            "to": self.to_state,
            "data": dict(self.data),
        }


@dataclass
class Task:
    id: str
    alert_id: str | None
    title: str
    workflow: str  # the workflow's id
    state: str
    role: str | None = None  # the role whose inbox shows the task
    assignee: str | None = None
    due_at: datetime | None = None
    data: dict[str, Any] = field(default_factory=dict)  # form answers, latest value per field
    history: list[HistoryEntry] = field(default_factory=list)
    severity: str | None = None
    action_key: str | None = None  # the alert's action that created it (unique per alert)


SYSTEM = "system"  # the actor of what the engine does by itself


def open_task(alert_id: int, rule_id: str, action_key: str, title: str, workflow: str,
              state: str, role: str | None, due_at: datetime | None, severity: str,
              now: datetime) -> Task:
    """A new task of an alert's ``create_task`` action, its creation as the first history entry."""
    entry = HistoryEntry(now, SYSTEM, "create", None, state, {"alert": alert_id, "rule": rule_id})
    return Task("", str(alert_id), title, workflow, state, role, None, due_at, {}, [entry],
                severity, action_key)


def escalate(task: Task, to_role: str, level: int, now: datetime,
             reason: str | None = None) -> Task:
    """The task moved to ``to_role``'s inbox by escalation ``level`` (``reason``: why, when
    not a rule's own level, e.g. ``overdue``); ``task`` is left unchanged."""
    data: dict[str, Any] = {"from_role": task.role, "to_role": to_role, "level": level}
    if reason is not None:
        data["reason"] = reason
    entry = HistoryEntry(now, SYSTEM, "escalate", task.state, task.state, data)
    return replace(task, role=to_role, history=[*task.history, entry])


def apply_transition(
    task: Task,
    workflow: Workflow,
    transition_id: str,
    actor: str,
    actor_roles: Iterable[str],
    data: Mapping[str, Any],
    now: datetime,
) -> Task:
    """The task after ``actor`` takes ``transition_id`` with ``data``; ``task`` is left unchanged.

    Raises ``TransitionNotAllowed``, ``RoleNotAllowed`` or ``FormInvalid`` (one message per field).
    """
    if workflow.id != task.workflow:
        reason = f"the task follows workflow '{task.workflow}', not '{workflow.id}'"
        raise TransitionNotAllowed(transition_id, task.state, reason)
    transition = check_transition(workflow, task.state, transition_id, actor_roles)
    clean, errors = validate_form(transition.form, data)
    if errors:
        raise FormInvalid(errors)
    entry = HistoryEntry(now, actor, transition.id, task.state, transition.to, clean)
    return replace(
        task,
        state=transition.to,
        data={**task.data, **clean},
        history=[*task.history, entry],
    )


def is_overdue(task: Task, now: datetime, workflow: Workflow | None = None) -> bool:
    """Past its due time and, when the workflow is given, not yet in a terminal state."""
    if task.due_at is None or now <= task.due_at:
        return False
    return workflow is None or not is_terminal(workflow, task.state)
