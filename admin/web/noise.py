"""Noise control pages (issue #17): snooze and unsnooze an alert (from its page or its task's),
the page listing snoozes and mutes, and the admins' forms to add and remove a mute. The rules
are engine.noise's and engine.policy's; a refused form changes nothing and says why.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.auth import services
from admin.web.pages import web_blueprint
from admin.web.session import active_ruleset, current_user, login_required, safe_next, web_identity
from engine.errors import Conflict, NotFound
from engine.noise import NoiseInvalid, parse_instant
from engine.policy import Right, may_snooze_alert
from engine.services import noise_control

bp = web_blueprint("noise", __name__)

# Why a snooze or mute was refused, in the viewer's language (engine.noise's codes)
REFUSALS = {
    "past": _l("The end time is in the past: choose a later one."),
    "no_end": _l("Choose an end time, or “until the stock changes”."),
    "too_long": _l("A snooze lasts at most a year; mute the rule instead."),
    "no_tz": _l("The end time needs a time zone."),
    "bad_time": _l("The end time is not a date and time."),
    "no_reason": _l("Say why: the reason is shown to everyone who sees the alert."),
    "reason_long": _l("The reason is longer than 500 characters."),
    "no_rule": _l("Choose the rule to mute."),
    "unknown_rule": _l("There is no such rule in the active version."),
    "no_pair": _l("A mute names a SKU, a warehouse or both."),
    "unknown_sku": _l("There is no such SKU."),
    "unknown_warehouse": _l("There is no such warehouse."),
}


def refusal(exc: NoiseInvalid) -> str:
    return str(REFUSALS.get(exc.code, exc.message))


def _zone() -> ZoneInfo:
    active = active_ruleset()
    return ZoneInfo(active.compiled.settings.timezone if active else "UTC")


def _may_snooze(conn: Any, alert_id: int) -> None:
    """404 unless the viewer may snooze the alert (engine.policy, as the API)."""
    who = web_identity()
    assert who is not None
    active = active_ruleset()
    if not may_snooze_alert(who, noise_control.alert_tasks(conn, alert_id),
                            active.compiled.workflows if active else {}):
        raise NotFound("alert", alert_id)


def _back(alert_id: int) -> Any:
    return redirect(safe_next(request.form.get("next"),
                              url_for("inbox.alert_page", alert_id=alert_id)), 303)


@bp.post("/alerts/<int:alert_id>/snooze")
@login_required(Right.ACT)
def snooze(alert_id: int) -> Any:
    svc = services()
    user = current_user()
    assert user is not None
    with svc.uow() as uow:
        _may_snooze(uow.conn, alert_id)
        try:
            stock = request.form.get("until_stock_change") == "1"
            until = None if stock else parse_instant(request.form.get("until"), "until", _zone())
            noise_control.snooze(uow.conn, alert_id, until=until, until_stock_change=stock,
                                 reason=request.form.get("reason", ""), actor=user.username,
                                 now=svc.clock.now())
        except NoiseInvalid as exc:
            flash(_("Not snoozed: %(why)s", why=refusal(exc)), "error")
            return _back(alert_id)
        except Conflict:
            flash(_("Not snoozed: the alert is no longer open."), "error")
            return _back(alert_id)
        uow.commit()
    flash(_("Alert #%(id)s snoozed.", id=alert_id), "success")
    return _back(alert_id)


@bp.post("/alerts/<int:alert_id>/unsnooze")
@login_required(Right.ACT)
def unsnooze(alert_id: int) -> Any:
    svc = services()
    user = current_user()
    assert user is not None
    with svc.uow() as uow:
        _may_snooze(uow.conn, alert_id)
        try:
            follow = noise_control.unsnooze(uow.conn, alert_id, user.username, svc.clock.now())
        except Conflict:
            flash(_("The alert is not snoozed."), "info")
            return _back(alert_id)
        uow.commit()
    for row_id, kind in follow:
        svc.jobs.dispatch(row_id, kind)
    flash(_("Alert #%(id)s is back: its snooze ended.", id=alert_id), "success")
    return _back(alert_id)


@bp.get("/noise")
@login_required()
def index() -> Any:
    """Snoozes and mutes in force; admins add and remove mutes here."""
    svc = services()
    with svc.uow() as uow:
        now = svc.clock.now()
        snoozes = noise_control.list_snoozes(uow.conn, now)
        mutes = noise_control.list_mutes(uow.conn, now)
    active = active_ruleset()
    rules = [(r.id, r.name) for r in active.compiled.rules] if active else []
    user = current_user()
    return render_template("noise/index.html", snoozes=snoozes, mutes=mutes, rules=rules,
                           is_admin=bool(user and user.is_admin), form=request.args)


@bp.post("/admin/mutes")
@login_required(admin=True)
def add_mute() -> Any:
    svc = services()
    user = current_user()
    assert user is not None
    active = active_ruleset()
    form = request.form
    with svc.uow() as uow:
        try:
            noise_control.mute(
                uow.conn, rule=form.get("rule", ""), sku=form.get("sku"),
                warehouse=form.get("warehouse"),
                until=parse_instant(form.get("until"), "until", _zone()),
                reason=form.get("reason", ""), actor=user.username, now=svc.clock.now(),
                known_rules=[r.id for r in active.compiled.rules] if active else [])
        except NoiseInvalid as exc:
            flash(_("Not muted: %(why)s", why=refusal(exc)), "error")
            return redirect(url_for(".index", **{k: v for k, v in form.items()
                                                 if k in ("rule", "sku", "warehouse", "reason")}),
                            303)
        uow.commit()
    flash(_("Rule “%(rule)s” muted.", rule=form.get("rule", "")), "success")
    return redirect(url_for(".index"), 303)


@bp.post("/admin/mutes/<int:mute_id>/delete")
@login_required(admin=True)
def remove_mute(mute_id: int) -> Any:
    svc = services()
    user = current_user()
    assert user is not None
    with svc.uow() as uow:
        noise_control.unmute(uow.conn, mute_id, user.username, svc.clock.now())
        uow.commit()
    flash(_("Mute removed: the rule raises alerts there again."), "success")
    return redirect(url_for(".index"), 303)
