"""REST: the task inbox (SPEC §5/§6): list, show one with what the caller may do, transition.

The caller's business roles and the workflow both come from the active ruleset, read in the
same transaction as the task, so a transition is checked against one consistent version.
A caller sees the tasks the page would show them (engine/policy.py): an admin every task,
others those of their roles, assigned to them or whose workflow gives them a step; any other
task answers 404, as on the page.
"""

from __future__ import annotations

from typing import Any, cast

from flask import g
from flask.views import MethodView
from sqlalchemy import Connection

from admin.api import schemas
from admin.api.body import json_body
from admin.api.work_schemas import (
    FieldErrorsSchema,
    TaskArgsSchema,
    TaskDetailSchema,
    TaskPageSchema,
    TransitionRequestSchema,
    WorkBlueprint,
    load_body,
    split_page,
)
from admin.auth import caller, require, services
from engine.errors import NotFound
from engine.policy import Identity, Right, may_see_task, task_scope
from engine.rules.compiled import CompiledRuleset
from engine.services import queries
from engine.services import tasks as task_service

blp = WorkBlueprint("tasks", __name__, url_prefix="/api/v1/tasks",
                description="Tasks: owned work moved through form-backed workflows")


def caller_ruleset(conn: Connection) -> tuple[CompiledRuleset | None, frozenset[str]]:
    """The active ruleset and the caller's roles in it (admins have no implicit role)."""
    active = services().rulesets.active(conn)
    if active is None:
        return None, frozenset()
    return active.compiled, active.compiled.roles_of(g.user.username)


def _check_visible(conn: Connection, task_id: int, who: Identity,
                   ruleset: CompiledRuleset | None) -> None:
    """404 for a task this caller may not see, exactly as for one that does not exist."""
    task = queries.load_task(conn, task_id)
    workflows = ruleset.workflows if ruleset else {}
    if not may_see_task(who, task["role"], task["assignee"], task["workflow"], workflows):
        raise NotFound("task", task_id)


@blp.route("")
class Tasks(MethodView):
    @require(Right.READ)
    @blp.arguments(TaskArgsSchema, location="query")
    @blp.response(200, TaskPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The tasks the caller may see: open ones first, then most severe, then soonest due.
        ``mine=true``: the caller's roles only."""
        filters, limit, offset = split_page(args)
        svc = services()
        with svc.uow() as uow:
            ruleset, roles = caller_ruleset(uow.conn)
            if filters.pop("mine", False):
                filters["roles"] = sorted(roles)
            scope = task_scope(caller(roles), ruleset.workflows if ruleset else {})
            if scope is not None:
                filters["visible"] = scope
            total, items = queries.list_tasks(uow.conn, cast(queries.TaskFilters, filters),
                                              limit, offset, svc.clock.now())
        return {"total": total, "items": items}


@blp.route("/<int:task_id>")
class Task(MethodView):
    @require(Right.READ)
    @blp.response(200, TaskDetailSchema)
    @blp.alt_response(404, schema=schemas.MessageSchema,
                      description="no such task, or not one the caller may see")
    def get(self, task_id: int) -> dict[str, Any]:
        """One task with its history, its alert and the transitions the caller may take."""
        svc = services()
        with svc.uow() as uow:
            ruleset, roles = caller_ruleset(uow.conn)
            _check_visible(uow.conn, task_id, caller(roles), ruleset)
            return task_service.get_task(uow.conn, task_id, ruleset, roles, svc.clock.now())


@blp.route("/<int:task_id>/transitions")
class TaskTransitions(MethodView):
    @require(Right.ACT)
    @blp.doc(requestBody={"required": True, "content": {
        "application/json": {"schema": TransitionRequestSchema}}})
    @blp.response(200, TaskDetailSchema)
    @blp.alt_response(422, schema=FieldErrorsSchema, description="form answers invalid, by field")
    @blp.alt_response(403, schema=schemas.MessageSchema, description="caller lacks the role")
    @blp.alt_response(409, schema=schemas.MessageSchema,
                      description="not allowed from the current state, or changed meanwhile")
    @blp.alt_response(404, schema=schemas.MessageSchema)
    def post(self, task_id: int) -> dict[str, Any]:
        """Take a transition, e.g. ``{"transition": "resolve", "data": {"outcome": "..."}}``."""
        body = load_body(TransitionRequestSchema(), json_body())
        svc = services()
        now = svc.clock.now()
        with svc.uow() as uow:
            ruleset, roles = caller_ruleset(uow.conn)
            _check_visible(uow.conn, task_id, caller(roles), ruleset)
            task_service.transition_task(uow.conn, ruleset, task_id, body["transition"],
                                         body["data"], g.user.username, roles, now)
            uow.commit()
            return task_service.get_task(uow.conn, task_id, ruleset, roles, now)
