"""Transfers between warehouses (issue #19): the list, one transfer with its reasoning and
history, and its steps — ship, receive, cancel — offered only to whom the authorisation model
lets take them (engine/policy.py, the API's check); a forged post is refused (403)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.auth import services
from admin.web.i18n import field_message
from admin.web.pages import number, web_blueprint
from admin.web.session import current_roles, current_user, login_required, safe_next
from engine.errors import Conflict, InputInvalid
from engine.policy import Identity, Right
from engine.services import transfers as transfer_service
from engine.workflows.errors import FormInvalid, TransitionNotAllowed
from engine.workflows.transfers import STATES, Transfer, allowed_transitions

bp = web_blueprint("transfer_pages", __name__)

PAGE_SIZE = 50
FILTERS = ("open", *STATES, "all")
STATE_LABELS = {"requested": _l("requested"), "shipped": _l("shipped"),
                "received": _l("received"), "cancelled": _l("cancelled")}
STEP_LABELS = {"ship": _l("Ship"), "receive": _l("Receive"), "cancel": _l("Cancel"),
               "request": _l("Request")}


def _identity() -> Identity:
    user = current_user()
    return Identity(user.username if user else "", bool(user and user.is_admin), current_roles())


def reasoning(t: Mapping[str, Any]) -> list[str]:
    """Why the transfer was proposed, in the viewer's language, from the figures kept."""
    e = t.get("explanation") or {}
    if e.get("by_hand"):
        return [_("Requested by hand by %(who)s; %(from)s had %(available)s available then.",
                  who=t["created_by"], **{"from": t["from_warehouse"]},
                  available=number(e.get("source_available", 0)))]
    if "need" not in e:
        return []
    out = [_("%(to)s was short of %(need)s to reach its maximum stock.", to=e.get("to", ""),
             need=number(e["need"]))]
    if e.get("min_cover_days") is not None:
        out.append(_("%(from)s had %(available)s available, %(cover)s days of cover: more than "
                     "the %(limit)s days the rule calls a surplus.",
                     **{"from": e.get("from", "")}, available=number(e["source_available"]),
                     cover=number(e["source_days_of_cover"]) if e.get(
                         "source_days_of_cover") is not None else "∞",
                     limit=number(e["min_cover_days"])))
    else:
        out.append(_("%(from)s had %(available)s available, above its own maximum stock of "
                     "%(max)s.", **{"from": e.get("from", "")},
                     available=number(e["source_available"]), max=number(e["source_max_stock"])))
    out.append(_("%(qty)s are proposed: they leave %(from)s with %(left)s, above its reorder "
                 "point of %(rop)s.", qty=number(e["quantity"]), **{"from": e.get("from", "")},
                 left=number(e["source_left"]), rop=number(e["source_reorder_point"])))
    return out


def _domain(t: Mapping[str, Any]) -> Transfer:
    return Transfer(t["id"], t["sku"], t["from_warehouse"], t["to_warehouse"], t["quantity"],
                    t["state"], t["ship_role"], t["receive_role"])


@bp.get("/transfers")
@login_required()
def index() -> Any:
    state = request.args.get("state", "open")
    state = state if state in FILTERS else "open"
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    filters: dict[str, Any] = {}
    if state == "open":
        filters["open"] = True
    elif state != "all":
        filters["state"] = state
    who = _identity()
    with services().uow() as uow:
        total, items = transfer_service.list_transfers(uow.conn, filters, PAGE_SIZE,
                                                       (page - 1) * PAGE_SIZE)
    for item in items:
        item["actions"] = allowed_transitions(_domain(item), who)
    return render_template("transfers/index.html", items=items, total=total, state=state,
                           filters=FILTERS, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1))


@bp.get("/transfers/<int:transfer_id>")
@login_required()
def show(transfer_id: int) -> Any:
    with services().uow() as uow:
        t = transfer_service.get_transfer(uow.conn, transfer_id, _identity())
    t["actions"] = t["transitions"]
    t["created_at"] = datetime.fromisoformat(t["created_at"])
    for h in t["history"]:
        h["at"] = datetime.fromisoformat(h["at"])
    return render_template("transfers/show.html", t=t, reasons=reasoning(t))


@bp.post("/transfers/<int:transfer_id>/transitions/<transition>")
@login_required(Right.ACT)
def take(transfer_id: int, transition: str) -> Any:
    back = safe_next(request.form.get("next"), url_for(".show", transfer_id=transfer_id))
    data = {k: v for k, v in request.form.items() if k not in ("csrf_token", "next")}
    svc = services()
    try:
        with svc.uow() as uow:
            uow.transaction()
            follow_ups = transfer_service.transition_transfer(
                uow.conn, svc.cache.current(uow.conn), transfer_id, transition, data,
                _identity(), svc.clock.now())
            uow.commit()
        for row_id, kind in follow_ups:
            svc.jobs.dispatch(row_id, kind)
    except FormInvalid as exc:
        for name, message in exc.fields.items():
            flash(f"{name}: {field_message(message)}", "error")
        return redirect(back, 303)
    except InputInvalid as exc:
        flash(_("Transfer %(id)s was not changed: the source does not have the stock.",
                id=transfer_id), "error")
        for error in exc.errors:
            flash(str(error.get("message", "")), "error")
        return redirect(back, 303)
    except TransitionNotAllowed:
        flash(_("Transfer %(id)s cannot do that in its current state.", id=transfer_id), "error")
        return redirect(back, 303)
    except Conflict:
        flash(_("Someone else changed transfer %(id)s meanwhile. Check it and try again.",
                id=transfer_id), "error")
        return redirect(back, 303)
    flash(_("Transfer %(id)s: %(step)s done.", id=transfer_id,
            step=STEP_LABELS.get(transition, transition)), "success")
    return redirect(back, 303)


def init_app(app: Any) -> None:
    app.jinja_env.globals.update(
        transfer_state_label=lambda s: str(STATE_LABELS.get(s, s)),
        transfer_step_label=lambda s: str(STEP_LABELS.get(s, s)))
