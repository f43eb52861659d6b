"""Acting on tasks beyond one transition: claim, assign, release; a selection in one go; go next.

A bulk transition with a form is two steps: the selection and the transition are posted from
the inbox, the page asks for the form's answers once, and the same answers go to every task
(all or nothing). After tasks are closed the buyer lands on the next open task of the inbox
they were working through (its filters travel as ``inbox``).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from admin.auth import services
from admin.web import inbox_query
from admin.web.i18n import field_message
from admin.web.pages import web_blueprint
from admin.web.session import (
    active_ruleset,
    current_roles,
    current_user,
    login_required,
    role_names,
)
from engine.errors import Conflict, InputInvalid, NotFound, PermissionDenied
from engine.policy import Right
from engine.rules.compiled import CompiledRuleset, Transition
from engine.services import assignment, inbox, queries, task_batches
from engine.services.task_batches import BatchRefused
from engine.workflows.errors import RoleNotAllowed, TransitionNotAllowed
from forms.widgets import widgets

bp = web_blueprint("task_actions", __name__)


def _ids(values: list[str]) -> list[int]:
    out = []
    for value in values:
        try:
            out.append(int(value))
        except ValueError:
            continue
    return out


def _members(compiled: CompiledRuleset | None) -> dict[str, tuple[str, ...]]:
    return {r.id: r.members for r in compiled.roles.values()} if compiled else {}


def next_url(inbox_qs: str, handled: list[int]) -> str:
    """The next open task of the inbox the user came from, or that inbox when none is left."""
    args = inbox_query.args_from_query_string(inbox_qs)
    query, group = inbox_query.build(args)
    svc = services()
    with svc.uow() as uow:
        found = inbox.next_task(uow.conn, query, svc.clock.now(), handled,
                                inbox_query.in_group(uow.conn, group))
    qs = inbox_query.query_string(args)
    if found is None:
        flash(_("That was the last open task of this list."), "message")
        return url_for("inbox.index") + (f"?{qs}" if qs else "")
    return url_for("inbox.show", task_id=found, inbox=qs or None)


def _back_to_inbox(inbox_qs: str) -> Any:
    qs = inbox_query.query_string(inbox_query.args_from_query_string(inbox_qs))
    return redirect(url_for("inbox.index") + (f"?{qs}" if qs else ""), 303)


@bp.post("/tasks/bulk")
@login_required(Right.ACT)
def bulk() -> Any:
    user = current_user()
    assert user is not None
    inbox_qs = request.form.get("inbox", "")
    ids = _ids(request.form.getlist("ids"))
    action = request.form.get("action", "")
    if not ids:
        flash(_("Select at least one task first."), "error")
        return _back_to_inbox(inbox_qs)
    if action.startswith("transition:"):
        return _bulk_transition(action.removeprefix("transition:"), ids, inbox_qs)
    kind, _sep, who = action.partition(":")
    if kind not in assignment.ACTIONS:
        flash(_("Choose what to do with the selected tasks."), "error")
        return _back_to_inbox(inbox_qs)
    active = active_ruleset()
    svc = services()
    try:
        with svc.uow() as uow:
            done = task_batches.assign_many(
                uow.conn, kind, ids, user.username, current_roles(), user.is_admin,
                svc.clock.now(), who or None, _members(active.compiled if active else None))
            uow.commit()
    except BatchRefused as exc:
        flash_refusals(exc)
        return _back_to_inbox(inbox_qs)
    messages = {"claim": ngettext("You took %(num)s task.", "You took %(num)s tasks.", len(done)),
                "release": ngettext("%(num)s task released.", "%(num)s tasks released.",
                                    len(done)),
                "assign": ngettext("%(num)s task assigned to %(name)s.",
                                   "%(num)s tasks assigned to %(name)s.", len(done), name=who)}
    flash(messages[kind], "success")
    return _back_to_inbox(inbox_qs)


def assignment_message(exc: Exception) -> str:
    """Why a claim, assignment or release was refused, in the viewer's language."""
    if isinstance(exc, assignment.AlreadyTaken):
        return _("This task is already taken by %(name)s.", name=exc.assignee)
    if isinstance(exc, assignment.NotOfRole):
        return _("Only people of the role %(role)s may do this.",
                 role=role_names().get(exc.role or "", exc.role or "—"))
    if isinstance(exc, assignment.NotAMember):
        return _("%(name)s is not a member of the role %(role)s.", name=exc.assignee,
                 role=role_names().get(exc.role or "", exc.role or "—"))
    if isinstance(exc, RoleNotAllowed):
        names = [role_names().get(r, r) for r in exc.required]
        return _("Only people of the role %(role)s may do this.", role=" / ".join(names))
    if isinstance(exc, TransitionNotAllowed):
        return _("This step is not possible in the task's current state.")
    if isinstance(exc, NotFound):
        return _("There is no such task.")
    if isinstance(exc, Conflict) and "closed" in exc.message:
        return _("This task is closed.")
    return _("Someone else changed this task meanwhile. Check it and try again.")


def flash_refusals(exc: BatchRefused) -> None:
    flash(_("Nothing was changed: %(n)s of the selected tasks refused.", n=len(exc.errors)),
          "error")
    for task_id, reason in list(exc.errors.items())[:10]:
        cause = exc.causes.get(task_id)
        flash(_("Task %(id)s: %(reason)s", id=task_id,
                reason=assignment_message(cause) if cause else reason), "error")


def _bulk_transition(transition_id: str, ids: list[int], inbox_qs: str) -> Any:
    user = current_user()
    assert user is not None
    active = active_ruleset()
    compiled = active.compiled if active else None
    roles = current_roles()
    svc = services()
    with svc.uow() as uow:
        if request.form.get("linked") == "1":
            ids = task_batches.with_linked(uow.conn, compiled, ids, transition_id, roles)
        rows = [queries.load_task(uow.conn, i, svc.clock.now()) for i in ids
                if _exists(uow.conn, i)]
    step = _step(compiled, rows, transition_id)
    if step is None:
        flash(_("The selected tasks do not share that step; choose tasks of one workflow."),
              "error")
        return _back_to_inbox(inbox_qs)
    data = {f.name: request.form.get(f"f-{f.name}", "") for f in step.form}
    data = {k: v for k, v in data.items() if v != ""}
    if step.form and request.form.get("confirm") != "1":
        return _bulk_page(step, rows, inbox_qs, {}, {})
    try:
        with svc.uow() as uow:
            done = task_batches.transition_many(uow.conn, compiled, ids, transition_id, data,
                                                user.username, roles, svc.clock.now())
            uow.commit()
    except BatchRefused as exc:
        if exc.form:
            errors = {k: field_message(v) for k, v in exc.form.items()}
            return _bulk_page(step, rows, inbox_qs, errors, data, 422)
        flash_refusals(exc)
        return _back_to_inbox(inbox_qs)
    flash(ngettext("%(num)s task moved on: %(label)s.", "%(num)s tasks moved on: %(label)s.",
                   len(done), label=step.label or step.id), "success")
    return redirect(next_url(inbox_qs, done), 303)


def _exists(conn: Any, task_id: int) -> bool:
    try:
        queries.load_task(conn, task_id)
    except NotFound:
        return False
    return True


def _step(compiled: CompiledRuleset | None, rows: list[dict[str, Any]],
          transition_id: str) -> Transition | None:
    """The transition of the selected tasks' workflow(s); None when they differ in form."""
    steps = []
    for row in rows:
        workflow = compiled.workflows.get(row["workflow"]) if compiled else None
        step = workflow.transition(transition_id) if workflow else None
        if step is None:
            return None
        steps.append(step)
    if not steps or any(s.form != steps[0].form for s in steps):
        return None
    return steps[0]


def _bulk_page(step: Transition, rows: list[dict[str, Any]], inbox_qs: str,
               errors: dict[str, str], values: dict[str, str], status: int = 200) -> Any:
    return render_template("tasks/bulk.html", step=step, form=widgets(step.form), rows=rows,
                           inbox_qs=inbox_qs, errors=errors, values=values), status


@bp.post("/tasks/<int:task_id>/assignee")
@login_required(Right.ACT)
def assignee(task_id: int) -> Any:
    """Claim, assign (``assignee``) or release one task, then back to its page."""
    from admin.web.inbox import _visible  # the inbox's rule: a task outside my scope is 404

    user = current_user()
    assert user is not None
    with services().uow() as uow:
        _visible(queries.load_task(uow.conn, task_id))
    action = request.form.get("action", "")
    active = active_ruleset()
    svc = services()
    now = svc.clock.now()
    roles = current_roles()
    try:
        with svc.uow() as uow:
            if action == "claim":
                assignment.claim(uow.conn, task_id, user.username, roles, now)
            elif action == "assign":
                role = queries.load_task(uow.conn, task_id)["role"]
                members = _members(active.compiled if active else None).get(role or "", ())
                assignment.assign(uow.conn, task_id, request.form.get("assignee", ""), members,
                                  user.username, roles, user.is_admin, now)
            elif action == "release":
                assignment.release(uow.conn, task_id, user.username, roles, user.is_admin, now)
            else:
                raise InputInvalid([{"field": "action", "message": "unknown action"}])
            uow.commit()
    except (Conflict, PermissionDenied, InputInvalid) as exc:
        flash(assignment_message(exc), "error")
    else:
        flash({"claim": _("The task is yours."), "assign": _("Task assigned."),
               "release": _("The task is back with its role.")}[action], "success")
    inbox_qs = request.form.get("inbox", "")
    return redirect(url_for("inbox.show", task_id=task_id, inbox=inbox_qs or None), 303)
