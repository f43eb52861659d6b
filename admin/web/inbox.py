"""The task inbox: the tasks of my roles, one task with its explanation, chart and forms.

A business user sees the tasks of their roles (and those assigned to them); an admin sees all.
A task outside the viewer's scope answers 404, as if it did not exist (RELIABILITY §1.3).
Transitions are the workflow service's: the page shows the ones the viewer may take, and a
refused one (state, role, form answers) changes nothing.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from admin.auth import services
from admin.web import explain, inbox_query, task_actions, task_view
from admin.web.i18n import field_message, language
from admin.web.pages import web_blueprint
from admin.web.session import (
    active_ruleset,
    current_roles,
    current_user,
    login_required,
    web_identity,
)
from engine.errors import Conflict, NotFound
from engine.policy import Right, may_see_task
from engine.rules.compiled import CompiledRuleset, Rule
from engine.services import (
    alert_view,
    inbox,
    noise_control,
    pair_now,
    queries,
    reports,
    task_batches,
)
from engine.services import tasks as task_service
from engine.services import transfers as transfer_service
from engine.services.task_batches import BatchRefused
from engine.workflows.definition import allowed_transitions, may_take
from engine.workflows.errors import FormInvalid, TransitionNotAllowed

bp = web_blueprint("inbox", __name__)

PAGE_SIZE = 50
CHART_DAYS = 90


def _int_arg(name: str, default: int) -> int:
    try:
        return max(int(request.args.get(name, default)), 1)
    except ValueError:
        return default


@bp.get("/tasks")
@login_required()
def index() -> Any:
    args = inbox_query.args_of(request.args)
    query, group = inbox_query.build(args)
    page = _int_arg("page", 1)
    svc = services()
    with svc.uow() as uow:
        total, items = inbox.search(uow.conn, query, PAGE_SIZE, (page - 1) * PAGE_SIZE,
                                    svc.clock.now(), inbox_query.in_group(uow.conn, group))
        choices = inbox_query.choices(uow.conn)
    active = active_ruleset()
    return render_template(
        "tasks/index.html", items=items, total=total, page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), args=args, query=query,
        group=group, choices=choices, inbox_qs=inbox_query.query_string(args),
        bulk_actions=bulk_actions(active.compiled if active else None, items))


def bulk_actions(compiled: CompiledRuleset | None, items: list[dict[str, Any]]) -> list[Any]:
    """The workflow transitions the viewer may take on some task of the page, by id and label."""
    roles = current_roles()
    seen: dict[str, str] = {}
    for item in items:
        workflow = compiled.workflows.get(item["workflow"]) if compiled else None
        if workflow is None or item["closed"]:
            continue
        for t in allowed_transitions(workflow, item["state"], roles):
            seen.setdefault(t.id, t.label or t.id)
    return list(seen.items())


def _visible(task: dict[str, Any]) -> None:
    """404 unless the viewer may see the task (engine/policy.py, as the API): admins every
    task; others those of their roles, assigned to them, or whose workflow gives one of their
    roles a step (a manager who may cancel a buyer's task can open it)."""
    who = web_identity()
    assert who is not None
    active = active_ruleset()
    workflows = active.compiled.workflows if active else {}
    if not may_see_task(who, task["role"], task["assignee"], task["workflow"], workflows):
        raise NotFound("task", task["id"])


@bp.get("/tasks/<int:task_id>")
@login_required()
def show(task_id: int) -> Any:
    return _task_page(task_id)


def _task_page(task_id: int, errors: dict[str, str] | None = None, opened: str | None = None,
               values: dict[str, str] | None = None, status: int = 200) -> Any:
    svc = services()
    active = active_ruleset()
    compiled = active.compiled if active else None
    with svc.uow() as uow:
        task = task_service.get_task(uow.conn, task_id, compiled, current_roles(),
                                     svc.clock.now())
        _visible(task)
        alert = task["alert_summary"]
        origin = reports.alert_origin(uow.conn, alert["id"]) if alert else None
        rule = _rule(uow.conn, origin, compiled)
        linked = inbox.linked_open_tasks(uow.conn, task_id)
        raised = alert_view.requisitions_of_alert(uow.conn, alert["id"]) if alert else []
        moved = (transfer_service.list_transfers(uow.conn, {"alert": alert["id"]})[1]
                 if alert else [])
        now_facts = _facts_now(uow.conn, alert["id"]) if alert else None
        snooze = noise_control.active_snooze(uow.conn, alert["id"], svc.clock.now()) \
            if alert else None
    inbox_qs = request.values.get("inbox", "")
    linked_ids = [t["id"] for t in linked]
    facts = (alert or {}).get("facts") or {}
    explanation = {
        "sections": explain.fact_sections(facts),
        "group": explain.group_summary(facts),
        "formulas": explain.formulas(facts),
        "legend": explain.legend(),
        "condition": explain.condition(rule.when, facts) if rule else None,
        "condition_values": explain.condition(rule.when, facts, values=True) if rule else None,
        "skipped": facts.get("actions") or [],
        "then_and_now": task_view.then_and_now(facts, now_facts),
        "now_at": (now_facts or {}).get("last_event_at"),
    }
    workflow = compiled.workflows.get(task["workflow"]) if compiled else None
    role = compiled.roles.get(task["role"] or "") if compiled else None
    return render_template(
        "tasks/show.html", task=task, alert=alert, origin=origin, rule=rule,
        explanation=explanation, workflow=workflow, errors=errors or {}, opened=opened,
        values=values or {}, linked=linked, linked_ids=linked_ids, inbox_qs=inbox_qs,
        raised=raised, moved=moved, snooze=snooze,
        members=role.members if role else (), holds_role=task["role"] in current_roles(),
        linked_for={t["id"]: _linked_taking(compiled, linked, t["id"])
                    for t in task["transitions"]}), status


def _facts_now(conn: Any, alert_id: int) -> dict[str, Any] | None:
    """The alert's SKU×warehouse as the rules would see it now."""
    svc = services()
    detail = alert_view.alert_detail(conn, alert_id)
    return pair_now.facts_now(conn, svc.cache.current(conn), detail["sku_id"],
                              detail["warehouse_id"], svc.clock.now())


@bp.get("/alerts/<int:alert_id>")
@login_required()
def alert_page(alert_id: int) -> Any:
    """One alert: what it saw, its state over time, and the tasks and requisitions it raised."""
    svc = services()
    with svc.uow() as uow:
        alert = alert_view.alert_detail(uow.conn, alert_id)
        if not alert["tasks"]:
            user = current_user()
            if user is None or not user.is_admin:
                raise NotFound("alert", alert_id)
        else:
            _visible(queries.load_task(uow.conn, alert["tasks"][0]["id"]))
        origin = reports.alert_origin(uow.conn, alert_id)
        alert["transfers"] = transfer_service.list_transfers(uow.conn, {"alert": alert_id})[1]
        rule = _rule(uow.conn, origin, active_ruleset().compiled if active_ruleset() else None)
        snooze = noise_control.active_snooze(uow.conn, alert_id, svc.clock.now())
    return render_template("tasks/alert.html", alert=alert, rule=rule, snooze=snooze,
                           sections=explain.fact_sections(alert["facts"] or {}),
                           group=explain.group_summary(alert["facts"] or {}))


def _linked_taking(compiled: CompiledRuleset | None, linked: list[dict[str, Any]],
                   transition_id: str) -> list[dict[str, Any]]:
    """The linked tasks that may take ``transition_id`` from their state too."""
    roles = current_roles()
    out = []
    for t in linked:
        workflow = compiled.workflows.get(t["workflow"]) if compiled else None
        step = workflow.transition(transition_id) if workflow else None
        if step and t["state"] in step.from_states and may_take(step, roles):
            out.append(t)
    return out


def _rule(conn: Any, origin: dict[str, Any] | None, active: CompiledRuleset | None) -> Rule | None:
    """The rule as it was when the alert was raised (the active one if that version is gone)."""
    if origin is None:
        return None
    compiled: CompiledRuleset | None
    try:
        compiled = services().rulesets.get(conn, origin["rule_version"])
    except NotFound:
        compiled = active
    if compiled is None:
        return None
    return next((r for r in compiled.rules if r.id == origin["rule"]), None)


@bp.post("/tasks/<int:task_id>/transitions/<transition>")
@login_required(Right.ACT)
def take(task_id: int, transition: str) -> Any:
    """Take one step; with ``linked=1`` the same step for the other open tasks of the SKU ×
    warehouse (all or nothing). A closed task leads on to the next one of the inbox."""
    user = current_user()
    assert user is not None
    active = active_ruleset()
    compiled = active.compiled if active else None
    roles = current_roles()
    inbox_qs = request.form.get("inbox", "")
    data = {k: v for k, v in request.form.items() if k not in ("csrf_token", "inbox", "linked")}
    svc = services()
    now = svc.clock.now()
    try:
        with svc.uow() as uow:
            _visible(queries.load_task(uow.conn, task_id, now))
            ids = [task_id]
            if request.form.get("linked") == "1":
                ids = task_batches.with_linked(uow.conn, compiled, ids, transition, roles)
            if len(ids) == 1:
                task_service.transition_task(uow.conn, compiled, task_id, transition, data,
                                             user.username, roles, now)
            else:
                task_batches.transition_many(uow.conn, compiled, ids, transition, data,
                                             user.username, roles, now)
            closed = queries.load_task(uow.conn, task_id, now)["closed"]
            uow.commit()
    except FormInvalid as exc:
        errors = {k: field_message(v) for k, v in exc.fields.items()}
        return _task_page(task_id, errors, transition, data, 422)
    except BatchRefused as exc:
        if exc.form:
            errors = {k: field_message(v) for k, v in exc.form.items()}
            return _task_page(task_id, errors, transition, data, 422)
        task_actions.flash_refusals(exc)
        return _back_to(task_id, inbox_qs)
    except TransitionNotAllowed:
        flash(_("This step is not possible in the task's current state; the page shows what "
                "can be done now."), "error")
        return _back_to(task_id, inbox_qs)
    except Conflict:
        flash(_("Someone else changed this task meanwhile. Check it and try again."), "error")
        return _back_to(task_id, inbox_qs)
    if len(ids) > 1:
        flash(ngettext("Saved, with %(num)s linked task of the same SKU × warehouse.",
                       "Saved, with %(num)s linked tasks of the same SKU × warehouse.",
                       len(ids) - 1), "success")
    else:
        flash(_("Saved. The task moved on."), "success")
    if closed:
        return _navigate(task_actions.next_url(inbox_qs, ids))
    return _back_to(task_id, inbox_qs)


def _back_to(task_id: int, inbox_qs: str = "") -> Any:
    """To the task page."""
    return _navigate(url_for(".show", task_id=task_id, inbox=inbox_qs or None))


def _navigate(url: str) -> Any:
    """A redirect, or for htmx a full navigation (not a swap of a fragment)."""
    if request.headers.get("HX-Request"):
        return "", 200, {"HX-Redirect": url}
    return redirect(url, 303)


@bp.get("/tasks/<int:task_id>/chart.json")
@login_required()
def chart(task_id: int) -> Any:
    """Stock after each event and demand per day over 90 days, for the task's SKU×warehouse."""
    svc = services()
    active = active_ruleset()
    now = svc.clock.now()
    tz = _zone(active.compiled.settings.timezone if active else "UTC")
    with svc.uow() as uow:
        task = task_service.get_task(uow.conn, task_id, now=now)
        _visible(task)
        if not task["sku"] or not task["warehouse"]:
            raise NotFound("chart", task_id)
        history = reports.stock_history(uow.conn, task["sku"], task["warehouse"], now, tz,
                                        CHART_DAYS)
        alert = task["alert_summary"]
        origin = reports.alert_origin(uow.conn, alert["id"]) if alert else None
    facts = (alert or {}).get("facts") or {}
    ms = _epoch_ms
    return jsonify(
        title=_("%(sku)s @ %(warehouse)s, last %(days)s days", sku=task["sku"],
                warehouse=task["warehouse"], days=CHART_DAYS),
        timezone=str(tz), language=language(),
        labels={"on_hand": _("On hand after each event"), "available": _("Available"),
                "demand": _("Demand per day"), "reorder_point": _("Reorder point at the alert"),
                "alert": _("The alert"), "stock_axis": _("Stock"), "demand_axis": _("Demand")},
        start=ms(history["start"]), end=ms(history["end"]),
        stock=[{"x": ms(p["at"]), "on_hand": p["on_hand"], "available": p["available"]}
               for p in history["stock"]],
        demand=[{"x": ms(d["at"]), "y": d["qty"], "day": d["day"]} for d in history["demand"]],
        reorder_point=(facts.get("metrics") or {}).get("reorder_point"),
        alert={"x": ms(origin["opened_at"]), "y": (facts.get("stock") or {}).get("on_hand")}
        if origin and origin["opened_at"] >= history["start"] else None,
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def _epoch_ms(at: Any) -> int:
    return int(at.timestamp() * 1000)
