"""Purchase requisitions: the list with amounts, approval by role, ordering and receipt.

Every step is offered only to those the authorisation model lets take it (engine/policy.py,
the same check as the API's), and the requisition service refuses it to anyone else (403 on a
forged post): approve and reject to the approval role; cancelling one that waits for approval
to the approval role or an admin; submit, order, receive and other cancels to the buying roles
(the owner of the rule that raised it, and its approval role) or an admin.
"""

from __future__ import annotations

from typing import Any, cast

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.auth import services
from admin.web.i18n import field_message, requisition_state_label
from admin.web.pages import web_blueprint
from admin.web.session import current_roles, current_user, login_required, safe_next
from engine.errors import Conflict
from engine.policy import Right
from engine.services import queries
from engine.services import requisitions as requisition_service
from engine.workflows.errors import FormInvalid, TransitionNotAllowed
from engine.workflows.requisitions import Requisition, allowed_requisition_transitions

bp = web_blueprint("approvals", __name__)

PAGE_SIZE = 50
STATES = ("open", "pending_approval", "approved", "ordered", "received", "rejected",
          "cancelled", "all")
FIELD_LABELS = {"ref": _l("ERP purchase order number"), "note": _l("Note"),
                "reason": _l("Reason")}


def allowed(row: dict[str, Any], roles: frozenset[str]) -> list[str]:
    """What the viewer may do with ``row`` now."""
    user = current_user()
    req = Requisition(
        id=str(row["id"]), alert_id=None, sku=row["sku"], warehouse=row["warehouse"],
        supplier=row["supplier"], quantity=row["quantity"], unit_price=row["unit_price"],
        amount=row["amount"], state=row["state"], approval_role=row["approval_role"],
        ref=row["ref"], owner_role=row["owner"])
    return allowed_requisition_transitions(req, roles, bool(user and user.is_admin))


@bp.get("/requisitions")
@login_required()
def index() -> Any:
    roles = current_roles()
    state = request.args.get("state", "open")
    state = state if state in STATES else "open"
    mine = request.args.get("mine") == "1"
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    filters: dict[str, Any] = {}
    if state == "open":
        filters["open"] = True
    elif state != "all":
        filters["state"] = state
    if mine:
        filters["roles"] = sorted(roles)  # the ones my roles approve
    with services().uow() as uow:
        total, items = queries.list_requisitions(
            uow.conn, cast(queries.RequisitionFilters, filters), PAGE_SIZE,
            (page - 1) * PAGE_SIZE)
    for item in items:
        item["actions"] = allowed(item, roles)
    return render_template("requisitions/index.html", items=items, total=total, state=state,
                           states=STATES, mine=mine, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1))


@bp.get("/requisitions/<int:req_id>")
@login_required()
def show(req_id: int) -> Any:
    roles = current_roles()
    with services().uow() as uow:
        req = requisition_service.get_requisition(uow.conn, req_id, roles)  # its history
    req["actions"] = allowed(req, roles)
    return render_template("requisitions/show.html", req=req)


@bp.post("/requisitions/<int:req_id>/transitions/<transition>")
@login_required(Right.ACT)
def take(req_id: int, transition: str) -> Any:
    user = current_user()
    assert user is not None
    roles = current_roles()
    back = safe_next(request.form.get("next"), url_for(".index"))
    data = {k: v for k, v in request.form.items() if k not in ("csrf_token", "next")}
    svc = services()
    try:
        with svc.uow() as uow:
            after = requisition_service.transition_requisition(
                uow.conn, req_id, transition, data, user.username, roles, svc.clock.now(),
                user.is_admin)
            uow.commit()
    except FormInvalid as exc:
        for name, message in exc.fields.items():
            label = FIELD_LABELS.get(name, name)
            flash(f"{label}: {field_message(message)}", "error")
        return redirect(back, 303)
    except TransitionNotAllowed:
        flash(_("Requisition %(id)s cannot do that in its current state.", id=req_id), "error")
        return redirect(back, 303)
    except Conflict:
        flash(_("Someone else changed requisition %(id)s meanwhile. Check it and try again.",
                id=req_id), "error")
        return redirect(back, 303)
    flash(_("Requisition %(id)s is now %(state)s.", id=req_id,
            state=requisition_state_label(after["state"])), "success")
    return redirect(back, 303)
