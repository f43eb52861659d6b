"""Several tasks in one go: one transition (one form) or one claim for a selection (issue #18).

All or nothing: every task is tried, every refusal is collected, and when there is any the
caller's transaction is not committed, so a selection is never half-resolved. The tasks linked
by SKU×warehouse (several rules on one pair) can be taken along when they may take the same
transition from their state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from engine.errors import Conflict, EngineError, InputInvalid, NotFound, PermissionDenied
from engine.rules.compiled import CompiledRuleset
from engine.services import assignment
from engine.services.inbox import open_tasks_of_pairs
from engine.services.tasks import transition_task
from engine.storage.tables import alerts, tasks
from engine.workflows.definition import may_take
from engine.workflows.errors import FormInvalid

MAX_BATCH = 500


class BatchRefused(EngineError):
    """Some tasks of a batch refused; ``errors`` maps each task id to why. Nothing was kept."""

    def __init__(self, errors: Mapping[int, str], form: Mapping[str, str] | None = None,
                 causes: Mapping[int, Exception] | None = None) -> None:
        super().__init__(f"{len(errors)} task(s) refused")
        self.errors = dict(errors)
        self.form = dict(form or {})  # the form's own errors, the same for every task
        self.causes = dict(causes or {})  # the exception behind each refusal


def with_linked(conn: Connection, ruleset: CompiledRuleset | None, task_ids: Sequence[int],
                transition_id: str, roles: Iterable[str]) -> list[int]:
    """``task_ids`` plus the open tasks of their SKU×warehouse pairs that this user may move by
    ``transition_id`` from their current state (the same work, raised by another rule)."""
    held = frozenset(roles)
    chosen = list(dict.fromkeys(task_ids))
    pairs = {(r.sku_id, r.warehouse_id) for r in conn.execute(
        select(alerts.c.sku_id, alerts.c.warehouse_id).join(tasks, tasks.c.alert_id == alerts.c.id)
        .where(tasks.c.id.in_(chosen)))}
    if not pairs:
        return chosen
    for linked in open_tasks_of_pairs(conn, pairs).values():
        for task in linked:
            if task["id"] in chosen:
                continue
            workflow = ruleset.workflows.get(task["workflow"]) if ruleset else None
            step = workflow.transition(transition_id) if workflow else None
            if step and task["state"] in step.from_states and may_take(step, held):
                chosen.append(task["id"])
    return chosen


def transition_many(conn: Connection, ruleset: CompiledRuleset | None, task_ids: Sequence[int],
                    transition_id: str, data: Mapping[str, Any], actor: str,
                    actor_roles: Iterable[str], now: datetime) -> list[int]:
    """Take ``transition_id`` with the same answers on every task; their ids, or BatchRefused."""
    ids = _bounded(task_ids)
    roles = frozenset(actor_roles)
    errors: dict[int, str] = {}
    causes: dict[int, Exception] = {}
    form: dict[str, str] = {}
    for task_id in ids:
        try:
            transition_task(conn, ruleset, task_id, transition_id, data, actor, roles, now)
        except FormInvalid as exc:
            form = exc.fields
            errors[task_id] = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
            causes[task_id] = exc
        except (NotFound, Conflict, PermissionDenied) as exc:
            errors[task_id] = str(exc)
            causes[task_id] = exc
    if errors:
        raise BatchRefused(errors, form, causes)
    return ids


def assign_many(conn: Connection, action: str, task_ids: Sequence[int], actor: str,
                actor_roles: Iterable[str], is_admin: bool, now: datetime,
                assignee: str | None = None,
                members: Mapping[str, Iterable[str]] | None = None) -> list[int]:
    """Claim, release or assign (to ``assignee``, a member by ``members[role]``) every task;
    their ids, or BatchRefused."""
    ids = _bounded(task_ids)
    roles = frozenset(actor_roles)
    errors: dict[int, str] = {}
    causes: dict[int, Exception] = {}
    for task_id in ids:
        try:
            if action == "claim":
                assignment.claim(conn, task_id, actor, roles, now)
            elif action == "assign" and assignee:
                role = conn.execute(select(tasks.c.role).where(tasks.c.id == task_id)).scalar()
                assignment.assign(conn, task_id, assignee, (members or {}).get(role or "", ()),
                                  actor, roles, is_admin, now)
            else:
                assignment.release(conn, task_id, actor, roles, is_admin, now)
        except InputInvalid as exc:
            errors[task_id] = "; ".join(str(e["message"]) for e in exc.errors)
            causes[task_id] = exc
        except (NotFound, Conflict, PermissionDenied) as exc:
            errors[task_id] = str(exc)
            causes[task_id] = exc
    if errors:
        raise BatchRefused(errors, causes=causes)
    return ids


def _bounded(task_ids: Sequence[int]) -> list[int]:
    ids = list(dict.fromkeys(task_ids))
    if len(ids) > MAX_BATCH:
        raise BatchRefused({ids[MAX_BATCH]: f"at most {MAX_BATCH} tasks at once"})
    return ids
