"""The audit trail (/admin/audit, admins): who changed what and when — ruleset versions and
activations, master data, users (created, roles, admin right, disabled, password set), API tokens
(created, revoked) and ERP import sources (added, changed, secret changed — never the secret —,
removed) — newest first, filtered by person and area. Written by the use cases in the
transaction of each change (``engine.services.audit``)."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.auth import services
from admin.web.pages import web_blueprint
from admin.web.session import login_required
from engine.policy import Right
from engine.services import audit

bp = web_blueprint("audit", __name__, url_prefix="/admin/audit")
PAGE_SIZE = 100
ACTIONS = {  # action: what it says to a reader
    "ruleset.put": _l("saved a ruleset version"),
    "ruleset.activate": _l("activated a ruleset version"),
    "skus.put": _l("imported or changed SKUs"),
    "warehouses.put": _l("imported or changed warehouses"),
    "suppliers.put": _l("imported or changed suppliers"),
    "abc.recompute": _l("recomputed ABC classes"),
    "ruleset.evaluate": _l("checked the changed rules against the current stock"),
    "daily.run": _l("ran the daily rules"),
    "forecast.recompute": _l("refitted the demand forecasts"),
    "user.create": _l("created a user"),
    "user.password": _l("set a new password"),
    "user.disable": _l("disabled a user"),
    "user.enable": _l("enabled a user"),
    "user.admin": _l("changed whether a user is an admin"),
    "user.roles": _l("changed a user's roles (role members in the rules)"),
    "token.create": _l("created an API token"),
    "token.revoke": _l("revoked an API token"),
    "source.create": _l("added an ERP import source"),
    "source.change": _l("changed an ERP import source"),
    "source.secret": _l("changed a secret of an ERP import source (the value is never recorded)"),
    "source.delete": _l("removed an ERP import source"),
    "supplier.unavailable": _l("marked a supplier unavailable"),
    "supplier.available": _l("marked a supplier available again"),
    "noise.snooze": _l("snoozed an alert"),
    "noise.unsnooze": _l("ended an alert's snooze"),
    "noise.mute": _l("muted a rule"),
    "noise.unmute": _l("unmuted a rule"),
}
AREAS = {"ruleset": _l("Rules"), "skus": _l("SKUs"), "warehouses": _l("Warehouses"),
         "suppliers": _l("Suppliers"), "user": _l("Users"), "token": _l("API tokens"),
         "source": _l("ERP import sources"), "import": _l("Imports"), "abc": _l("ABC classes"),
         "daily": _l("Daily rules"), "forecast": _l("Demand forecasts"),
         "supplier": _l("Supplier availability"), "noise": _l("Snoozes and mutes")}
DETAILS = {  # a detail's key as the reader sees it
    "admin": _l("admin"), "added": _l("added"), "removed": _l("removed"),
    "label": _l("label"), "scope": _l("scope"), "plugin": _l("importer"),
    "options": _l("options"), "every_minutes": _l("every (minutes)"),
    "opened": _l("alerts raised"), "resolved": _l("resolved"), "rules": _l("rules"),
    "comment": _l("comment"), "previous": _l("previous version"), "name": _l("name"),
    "pairs": _l("SKU × warehouse"), "candidates": _l("candidates"), "tasks": _l("tasks"),
    "requisitions": _l("requisitions"), "run": _l("run"),
    "created": _l("created"), "updated": _l("updated"), "password": _l("password"),
    # the forecasts refitted, by method
    "mean": _l("window mean"), "ses": _l("exponential smoothing"), "holt": _l("Holt"),
    "seasonal": _l("seasonal"), "weekday": _l("weekday profile"),
    "reason": _l("reason"), "until": _l("until"), "until_stock_change": _l("until the stock changes"),
    "sku": _l("SKU"), "warehouse": _l("warehouse"), "mute": _l("mute"),
}
TARGETS = (  # a target the engine writes in a fixed English form, as the reader sees it
    (re.compile(r"version (\d+)"), lambda m: _("version %(number)s", number=m[1])),
    (re.compile(r"(\d+) rows"), lambda m: _("%(count)s rows", count=m[1])),
    (re.compile(r"(\d+) days"), lambda m: _("last %(days)s days", days=m[1])),
    (re.compile(r"alert (\d+)"), lambda m: _("alert #%(id)s", id=m[1])),
)


def _target(target: str) -> str:
    """The target in the reader's language when it is one of the engine's fixed forms."""
    for pattern, say in TARGETS:
        if found := pattern.fullmatch(target or ""):
            return str(say(found))
    return target


def _value(value: Any) -> str:
    """A detail's value in plain words: lists joined, yes/no, nothing as a dash."""
    if value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


@bp.get("")
@login_required(Right.READ_PRIVATE)  # who changed what: admins
def index() -> Any:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    actor = request.args.get("actor", "").strip() or None
    area = request.args.get("area", "").strip() or None
    with services().uow() as uow:
        total = audit.count(uow.conn, actor, area)
        items = audit.entries(uow.conn, PAGE_SIZE, (page - 1) * PAGE_SIZE, actor, area)
        present = audit.areas(uow.conn)
    for item in items:
        item["said"] = ACTIONS.get(item["action"], item["action"])
        item["target"] = _target(item["target"])
        detail = item.get("detail") or {}
        item["details"] = "; ".join(f"{DETAILS.get(k, k)}: {_value(v)}" for k, v in detail.items())
    return render_template("audit/index.html", items=items, total=total, page=page,
                           pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), actor=actor or "",
                           area=area or "",
                           areas=[(a, AREAS.get(a, a)) for a in sorted({*AREAS, *present})])
