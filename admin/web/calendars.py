"""Calendars (/admin/calendars): named periods — 双11, 618, seasons, 春节 closures — with their
dates, the SKU groups they apply to, a demand multiplier and a lead-time change (issue #16).
They raise the forecast over the lead time (a promotion inside it raises the reorder point
before it starts) and feed the ``calendar.*`` facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.web.editor import (
    as_list,
    bp,
    editing,
    flash_saved,
    index_of,
    item_of,
    listed,
    new_id,
    number_or_text,
    options,
    place_problems,
    posted_revision,
    save,
)
from admin.web.session import login_required
from engine.rules.editing import delete, upsert

KEYS = {"id", "name", "kind", "from", "to", "groups", "demand_multiplier",
        "lead_time_change_days", "yearly"}
KINDS = {"promotion": _l("Promotion (促销)"), "season": _l("Season"),
         "closure": _l("Closure (e.g. 春节)")}


@bp.get("/calendars")
@login_required(admin=True)
def calendar_list() -> Any:
    ed = editing()
    groups = dict(options(ed.document, "sku_groups"))
    rows = []
    for cal in ed.document.get("calendars") or []:
        if isinstance(cal, Mapping):
            rows.append(dict(_model(cal), kind_label=KINDS.get(str(cal.get("kind") or "promotion")),
                             group_names=[groups.get(g, g) for g in as_list(cal.get("groups"))]))
    return render_template("calendars/index.html", rows=rows, revision=ed.revision)


@bp.route("/calendars/new", methods=["GET", "POST"])
@login_required(admin=True)
def calendar_new() -> Any:
    return _edit(None)


@bp.route("/calendars/<calendar_id>/edit", methods=["GET", "POST"])
@login_required(admin=True)
def calendar_edit(calendar_id: str) -> Any:
    return _edit(calendar_id)


def _model(cal: Mapping[str, Any] | None) -> dict[str, Any]:
    cal = cal or {}
    return {
        "id": str(cal.get("id") or ""), "name": str(cal.get("name") or ""),
        "kind": str(cal.get("kind") or "promotion"),
        "from": _text(cal.get("from")), "to": _text(cal.get("to")),
        "groups": [str(g) for g in as_list(cal.get("groups"))],
        "demand_multiplier": _text(cal.get("demand_multiplier")),
        "lead_time_change_days": _text(cal.get("lead_time_change_days")),
        "yearly": bool(cal.get("yearly")),
    }


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _calendar(model: Mapping[str, Any], doc: Mapping[str, Any]) -> dict[str, Any]:
    cal: dict[str, Any] = {"id": model["id"] or new_id(doc, "calendar", model["name"], "period"),
                           "name": model["name"], "kind": model["kind"],
                           "from": model["from"], "to": model["to"]}
    if model["groups"]:
        cal["groups"] = model["groups"]
    for key in ("demand_multiplier", "lead_time_change_days"):
        if model[key]:
            cal[key] = number_or_text(model[key])
    if model["yearly"]:
        cal["yearly"] = True
    return cal


def _edit(calendar_id: str | None) -> Any:
    ed = editing()
    existing = item_of(ed.document, "calendar", calendar_id) if calendar_id else None
    if calendar_id and existing is None:
        abort(404)
    if request.method == "GET":
        return _render(_model(existing), ed.document, ed.revision, calendar_id)
    form = request.form
    model = {k: form.get(k, "").strip() for k in ("id", "name", "kind", "from", "to",
                                                   "demand_multiplier", "lead_time_change_days")}
    model.update(groups=listed(form.getlist("groups")), yearly=form.get("yearly") == "on")
    revision = posted_revision()
    if not model["name"]:
        return _render(model, ed.document, revision, calendar_id,
                       {"name": [_("Give the period a name.")]})
    doc = upsert(ed.document, "calendar", _calendar(model, ed.document), old_id=calendar_id)
    position = (index_of(doc, "calendar", calendar_id) if calendar_id
                else len(doc["calendars"]) - 1)
    saved = save(doc, _("Calendar period “%(name)s” saved in the editor", name=model["name"]),
                 revision)
    if saved.conflict:
        return _render(model, ed.document, revision, calendar_id, conflict=True), 409
    if not saved.ok:
        errors, top = place_problems(saved.problems, doc, [(("calendars", position), None)], KEYS)
        return _render(model, ed.document, revision, calendar_id, errors, top)
    flash(_("Calendar period “%(name)s” saved: version %(n)s is now active.", name=model["name"],
            n=saved.version), "success")
    return redirect(url_for("rules.calendar_list"), 303)


def _render(model: Mapping[str, Any], doc: Mapping[str, Any], revision: int | None,
            calendar_id: str | None, errors: dict[str, list[str]] | None = None,
            top: list[dict[str, Any]] | None = None, conflict: bool = False) -> Any:
    return render_template("calendars/edit.html", model=model, calendar_id=calendar_id,
                           revision=revision, errors=errors or {}, top_errors=top or [],
                           conflict=conflict, kinds=KINDS, groups=options(doc, "sku_groups"))


@bp.post("/calendars/<calendar_id>/delete")
@login_required(admin=True)
def calendar_delete(calendar_id: str) -> Any:
    ed = editing()
    found = item_of(ed.document, "calendar", calendar_id)
    if found is None:
        abort(404)
    name = found.get("name") or calendar_id
    saved = save(delete(ed.document, "calendar", calendar_id),
                 _("Calendar period “%(name)s” deleted in the editor", name=name),
                 posted_revision())
    flash_saved(saved, lambda n: _("Calendar period “%(name)s” deleted: version %(n)s is now "
                                   "active.", name=name, n=n))
    return redirect(url_for("rules.calendar_list"), 303)
