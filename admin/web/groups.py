"""SKU groups (/admin/groups): which SKUs a group holds, defined by ticking the categories, tags,
ABC classes, regions or warehouses of the master data, or by listing SKU codes, with the live
count of what it matches; and the settings a group overrides (service level, review period…).

A filter the form cannot build (written in Advanced) is shown as a sentence and kept unchanged
unless the admin chooses to replace it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.auth import services
from admin.web.editor import (
    bp,
    editing,
    flash_saved,
    friendly,
    index_of,
    item_of,
    new_id,
    number_or_text,
    options,
    place_problems,
    posted_revision,
    save,
)
from admin.web.i18n import language
from admin.web.rule_form import (
    group_model_from_form,
    group_model_from_where,
    group_where_from_model,
)
from admin.web.session import login_required
from engine.policy import Right
from engine.rules import load_ruleset
from engine.rules.advice import advice
from engine.rules.editing import (
    condition_sentence,
    delete_group,
    dump_yaml,
    upsert_group,
    usages,
)
from engine.rules.problems import RulesetInvalid
from engine.services.preview import master_choices

PARAMS = {
    "service_level": _l("Service level (0.5–0.9999)"),
    "fill_rate": _l("Fill rate target (0.5–0.9999)"),
    "forecast_method": _l("Forecast"),
    "review_period_days": _l("Review period (days)"),
    "demand_window_days": _l("Demand window (days)"),
    "default_lead_time_days": _l("Default lead time (days)"),
}
# One plain sentence each (issue #16): what the number an admin types means.
HELP = {
    "service_level": _l("Cycle service level: the chance that an order cycle ends without any "
                        "stock-out; 0.95 means 1 cycle in 20 may run short."),
    "fill_rate": _l("Fill rate: the share of demand served straight from stock; 0.98 means 2 "
                    "units in 100 go unserved. When set, it sets the safety stock instead of "
                    "the service level."),
    "forecast_method": _l("How demand over the lead time is foreseen; refitted every night."),
}
FORECASTS = {
    "": _l("Demand window mean (default)"),
    "mean": _l("Demand window mean"),
    "ses": _l("Exponential smoothing"),
    "holt": _l("Holt (with trend)"),
    "seasonal": _l("Seasonal (weekday × yearly)"),
}
KEYS = {"id", "name", "description", "where", "owner", "params", *(f"params.{k}" for k in PARAMS)}


@bp.get("/groups")
@login_required(Right.ADMIN)
def group_list() -> Any:
    ed = editing()
    svc = services()
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
    index = snap.group_index
    lang = language()
    rules = dict(options(ed.document, "rules"))
    roles = dict(options(ed.document, "roles"))
    rows = []
    for group in ed.document.get("sku_groups") or []:
        if not isinstance(group, Mapping):
            continue
        gid = str(group.get("id"))
        where = group.get("where")
        rows.append({
            "id": gid, "name": group.get("name") or gid,
            "sentence": condition_sentence(where, lang) if where is not None else None,
            "count": len(index.skus_in((gid,))) if index is not None and snap.ruleset
            and gid in snap.ruleset.compiled.groups else None,
            "used_by": [rules.get(u, u) for u in usages(ed.document, "group", gid)],
            "params": group.get("params") or {},
            "owner": roles.get(group.get("owner"), group.get("owner")) if group.get("owner")
            else None,
        })
    return render_template("groups/index.html", rows=rows, revision=ed.revision,
                           total=len(snap.sku_facts))


@bp.route("/groups/new", methods=["GET", "POST"])
@login_required(Right.ADMIN)
def group_new() -> Any:
    return _edit(None)


@bp.route("/groups/<group_id>/edit", methods=["GET", "POST"])
@login_required(Right.ADMIN)
def group_edit(group_id: str) -> Any:
    return _edit(group_id)


def _model(group: Mapping[str, Any] | None) -> dict[str, Any]:
    group = group or {}
    where = group.get("where")
    selection = group_model_from_where(where)
    params = group.get("params") if isinstance(group.get("params"), Mapping) else {}
    model = {
        "id": str(group.get("id") or ""), "name": str(group.get("name") or ""),
        "description": str(group.get("description") or ""),
        "owner": str(group.get("owner") or ""),
        "mode": "form" if selection is not None else "keep",
        "raw": json.dumps(where, ensure_ascii=False) if selection is None else "",
        "params": {k: _text(params.get(k)) for k in PARAMS},
        "extra": {k: v for k, v in params.items() if k not in PARAMS},
    }
    # The filter's inputs only: a blank "id" and "name" of theirs must not wipe the group's own
    # (editing "beverages" opened with both blank, and saving renamed it "group-6").
    chosen = selection or group_model_from_where(None) or {}
    model.update({k: v for k, v in chosen.items() if k not in ("id", "name")})
    return model


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _model_from_form(existing: Mapping[str, Any] | None) -> dict[str, Any]:
    form = request.form
    model = _model(existing)
    model.update(group_model_from_form(form))
    model.update(
        id=form.get("id", "").strip(), name=form.get("name", "").strip(),
        description=form.get("description", "").strip(),
        owner=form.get("owner", "").strip(),
        mode="keep" if form.get("mode") == "keep" and model["raw"] else "form",
        params={k: form.get(f"p_{k}", "").strip() for k in PARAMS},
    )
    return model


def _group(model: Mapping[str, Any], doc: Mapping[str, Any],
           ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    if not model["name"]:
        errors["name"] = [_("Give the group a name.")]
    group: dict[str, Any] = {"id": model["id"] or new_id(doc, "group", model["name"], "group"),
                             "name": model["name"]}
    if model["description"]:
        group["description"] = model["description"]
    where = json.loads(model["raw"]) if model["mode"] == "keep" else group_where_from_model(model)
    if where is not None:
        group["where"] = where
    if model.get("owner"):
        group["owner"] = model["owner"]
    params = {k: number_or_text(v) for k, v in model["params"].items() if v}
    params.update(model["extra"])
    if params:
        group["params"] = params
    return group, errors


def _edit(group_id: str | None) -> Any:
    ed = editing()
    existing = item_of(ed.document, "group", group_id) if group_id else None
    if group_id and existing is None:
        abort(404)
    if request.method == "GET":
        return _render(_model(existing), ed.revision, group_id)
    model = _model_from_form(existing)
    revision = posted_revision()
    group, local = _group(model, ed.document)
    doc = upsert_group(ed.document, group, old_id=group_id)
    position = index_of(doc, "group", group_id) if group_id else len(doc["sku_groups"]) - 1
    places = [(("sku_groups", position), None)]
    if local:
        return _render(model, revision, group_id, local)
    name = model["name"]
    saved = save(doc, _("SKU group “%(name)s” saved in the editor", name=name), revision)
    if saved.conflict:
        return _render(model, revision, group_id, conflict=True), 409
    if not saved.ok:
        errors, top = place_problems(saved.problems, doc, places, KEYS)
        return _render(model, revision, group_id, errors, top)
    flash(_("SKU group “%(name)s” saved: version %(n)s is now active.", name=name,
            n=saved.version), "success")
    flash_advice(doc)
    return redirect(url_for("rules.group_list"), 303)


def flash_advice(doc: Mapping[str, Any]) -> None:
    """The saved document's warnings (likely overstock, deprecated settings), one flash each."""
    try:
        compiled = load_ruleset(dump_yaml(dict(doc)))
    except RulesetInvalid:
        return
    for warning in advice(compiled, services().deliverable_channels()):
        flash(_("Warning: %(path)s: %(message)s", path=warning.path, message=friendly(warning)),
              "warning")


def _render(model: dict[str, Any], revision: int | None, group_id: str | None,
            errors: dict[str, list[str]] | None = None, top: list[dict[str, Any]] | None = None,
            conflict: bool = False) -> Any:
    svc = services()
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
    raw_sentence = ""
    if model["raw"]:
        raw_sentence = condition_sentence(json.loads(model["raw"]), language())
    ed = editing()
    return render_template("groups/edit.html", model=model, group_id=group_id,
                           roles=options(ed.document, "roles"),
                           revision=revision, errors=errors or {}, top_errors=top or [],
                           conflict=conflict, master=master_choices(snap), params=PARAMS,
                           param_help=HELP, forecasts=FORECASTS,
                           raw_sentence=raw_sentence)


@bp.post("/groups/<group_id>/delete")
@login_required(Right.ADMIN)
def group_delete(group_id: str) -> Any:
    ed = editing()
    found = item_of(ed.document, "group", group_id)
    if found is None:
        abort(404)
    name = found.get("name") or group_id
    users = usages(ed.document, "group", group_id)
    if users:
        rules = dict(options(ed.document, "rules"))
        flash(_("“%(name)s” is used by these rules; change them first: %(rules)s", name=name,
                rules="、".join(rules.get(u, u) for u in users)), "error")
        return redirect(url_for("rules.group_list"), 303)
    saved = save(delete_group(ed.document, group_id),
                 _("SKU group “%(name)s” deleted in the editor", name=name), posted_revision())
    flash_saved(saved, lambda n: _("SKU group “%(name)s” deleted: version %(n)s is now active.",
                                   name=name, n=n))
    return redirect(url_for("rules.group_list"), 303)
