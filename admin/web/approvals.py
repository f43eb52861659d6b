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
from flask_babel import ngettext

from admin.auth import services
from admin.web.i18n import field_message, requisition_state_label
from admin.web.pages import web_blueprint
from admin.web.session import (
    current_roles,
    current_user,
    login_required,
    role_names,
    safe_next,
)
from engine.errors import Conflict, NotFound
from engine.policy import Right
from engine.services import (
    approval_chain,
    purchase_orders,
    queries,
    requisition_context,
    requisition_edits,
)
from engine.services import requisitions as requisition_service
from engine.workflows.errors import FormInvalid, RoleNotAllowed, TransitionNotAllowed
from engine.workflows.requisitions import Requisition, allowed_requisition_transitions

bp = web_blueprint("approvals", __name__)

PAGE_SIZE = 50
STATES = ("open", "pending_approval", "approved", "ordered", "received", "rejected",
          "cancelled", "all")
FIELD_LABELS = {"ref": _l("ERP purchase order number"), "note": _l("Note"),
                "reason": _l("Reason"), "quantity": _l("Quantity"), "supplier": _l("Supplier")}


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
        found = requisition_context.names(uow.conn, items)
    for item in items:
        item["actions"] = allowed(item, roles)
    return render_template("requisitions/index.html", items=items, total=total, state=state,
                           states=STATES, mine=mine, page=page, names=found,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1))


@bp.get("/requisitions/<int:req_id>")
@login_required()
def show(req_id: int) -> Any:
    roles = current_roles()
    svc = services()
    with svc.uow() as uow:
        req = requisition_service.get_requisition(uow.conn, req_id, roles)
        found = requisition_context.names(uow.conn, [req])
        context = requisition_context.context(uow.conn, svc.cache.current(uow.conn), req,
                                              svc.clock.now())
        editable = requisition_edits.may_edit(uow.conn, req_id, roles)
        chain = _chain(uow.conn, req_id)
    req["actions"] = allowed(req, roles)
    return render_template("requisitions/show.html", req=req, names=found, context=context,
                           editable=editable, chain=chain)


def _chain(conn: Any, req_id: int) -> dict[str, Any]:
    """The approval levels of a requisition and how far it went."""
    from sqlalchemy import select

    from engine.storage.tables import requisitions

    row = conn.execute(select(requisitions).where(requisitions.c.id == req_id)).first()
    roles = approval_chain.chain_of(conn, row, rulesets=services().rulesets) if row else ()
    return {"roles": list(roles), "done": row.approval_level if row else 0,
            "approved": bool(row) and row.state in ("approved", "ordered", "received")}


@bp.post("/requisitions/<int:req_id>/edit")
@login_required(Right.ACT)
def edit(req_id: int) -> Any:
    """Change quantity and supplier before approval; back to the requisition."""
    user = current_user()
    assert user is not None
    svc = services()
    try:
        with svc.uow() as uow:
            requisition_edits.edit_requisition(
                uow.conn, req_id, request.form.get("quantity", ""),
                request.form.get("supplier") or None, user.username, current_roles(),
                svc.clock.now(), request.form.get("note", ""))
            uow.commit()
    except FormInvalid as exc:
        for name, message in exc.fields.items():
            flash(f"{FIELD_LABELS.get(name, name)}: {field_message(message)}", "error")
    except TransitionNotAllowed:
        flash(_("Only a draft or a requisition waiting for approval can be changed."), "error")
    except RoleNotAllowed:
        flash(_("Only the buyer or the role approving next may change this requisition."),
              "error")
    except Conflict:
        flash(_("Someone else changed requisition %(id)s meanwhile. Check it and try again.",
                id=req_id), "error")
    else:
        flash(_("Requisition %(id)s changed; its approval starts again from the first level.",
                id=req_id), "success")
    return redirect(url_for(".show", req_id=req_id), 303)


@bp.post("/requisitions/bulk")
@login_required(Right.ACT)
def bulk() -> Any:
    """Approve the selected requisitions (all or nothing), or merge them into a purchase order."""
    user = current_user()
    assert user is not None
    back = safe_next(request.form.get("next"), url_for(".index"))
    ids = [int(v) for v in request.form.getlist("ids") if v.isdigit()]
    action = request.form.get("action", "")
    if not ids:
        flash(_("Select at least one requisition first."), "error")
        return redirect(back, 303)
    svc = services()
    if action == "merge":
        try:
            with svc.uow() as uow:
                po_id = purchase_orders.merge(uow.conn, ids, user.username, svc.clock.now())
                uow.commit()
        except purchase_orders.MergeRefused as exc:
            flash(_("Nothing was merged: only approved requisitions of one supplier, in no "
                    "other order, go into one purchase order."), "error")
            for req_id, reason in list(exc.reasons.items())[:10]:
                flash(_("Requisition %(id)s: %(reason)s", id=req_id, reason=reason), "error")
            return redirect(back, 303)
        flash(_("Purchase order %(id)s drafted from %(n)s requisitions.", id=po_id, n=len(ids)),
              "success")
        return redirect(url_for("purchase_orders.show", po_id=po_id), 303)
    roles = current_roles()
    refused: dict[int, str] = {}
    with svc.uow() as uow:
        for req_id in ids:
            try:
                requisition_service.transition_requisition(
                    uow.conn, req_id, "approve", {}, user.username, roles, svc.clock.now())
            except (TransitionNotAllowed, RoleNotAllowed, Conflict, NotFound) as exc:
                refused[req_id] = _refusal(exc)
        if not refused:
            uow.commit()
    if refused:
        flash(_("Nothing was approved: %(n)s of the selected requisitions cannot be approved "
                "by you now.", n=len(refused)), "error")
        for req_id, reason in list(refused.items())[:10]:
            flash(_("Requisition %(id)s: %(reason)s", id=req_id, reason=reason), "error")
    else:
        flash(ngettext("%(num)s requisition approved.", "%(num)s requisitions approved.",
                       len(ids)), "success")
    return redirect(back, 303)


def _refusal(exc: Exception) -> str:
    if isinstance(exc, RoleNotAllowed):
        return _("it waits for %(role)s", role=" / ".join(
            role_names().get(r, r) for r in exc.required))
    if isinstance(exc, TransitionNotAllowed):
        return _("it is not waiting for approval")
    if isinstance(exc, NotFound):
        return _("there is no such requisition")
    return _("it changed meanwhile")


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
