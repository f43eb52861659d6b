"""Workflows (/admin/workflows): the states a task goes through, its transitions, the roles
allowed to take each, and the form each transition asks to fill in — a small form builder
(text, number, select with options, date…, required, min/max).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

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
    split_list,
)
from admin.web.session import login_required
from engine.policy import Right
from engine.rules.editing import delete_workflow, upsert_workflow, usages
from forms.fields import FIELD_TYPES

TYPE_LABELS = {
    "text": _l("text"), "textarea": _l("long text"), "number": _l("number"),
    "integer": _l("whole number"), "select": _l("choice from a list"), "date": _l("date"),
    "boolean": _l("yes / no"),
}
_TRANSITION = re.compile(r"^t-(\d{1,4})-id$")  # at most 4 digits: no 5,000-digit int()
_FIELD = re.compile(r"^t-(\d{1,4})-f-(\d{1,4})-name$")


@bp.get("/workflows")
@login_required(Right.ADMIN)
def workflow_list() -> Any:
    ed = editing()
    roles = dict(options(ed.document, "roles"))
    rules = dict(options(ed.document, "rules"))
    rows = []
    for workflow in ed.document.get("workflows") or []:
        if not isinstance(workflow, Mapping):
            continue
        wid = str(workflow.get("id"))
        transitions = [t for t in workflow.get("transitions") or [] if isinstance(t, Mapping)]
        rows.append({
            "id": wid, "name": workflow.get("name") or wid,
            "states": workflow.get("states") or [],
            "transitions": [{
                "label": t.get("label") or t.get("id"),
                "from": as_list(t.get("from")), "to": t.get("to"),
                "roles": [roles.get(r, r) for r in as_list(t.get("roles"))],
                "fields": len(t.get("form") or []),
            } for t in transitions],
            "used_by": [rules.get(u, u) for u in usages(ed.document, "workflow", wid)],
        })
    return render_template("workflows/index.html", rows=rows, revision=ed.revision)


@bp.route("/workflows/new", methods=["GET", "POST"])
@login_required(Right.ADMIN)
def workflow_new() -> Any:
    return _edit(None)


@bp.route("/workflows/<workflow_id>/edit", methods=["GET", "POST"])
@login_required(Right.ADMIN)
def workflow_edit(workflow_id: str) -> Any:
    return _edit(workflow_id)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _model(workflow: Mapping[str, Any] | None) -> dict[str, Any]:
    if workflow is None:
        return {"id": "", "name": "", "description": "",
                "states": "open, in_progress, done, cancelled", "initial": "open",
                "transitions": [_blank_transition()]}
    return {
        "id": str(workflow.get("id") or ""), "name": str(workflow.get("name") or ""),
        "description": str(workflow.get("description") or ""),
        "states": ", ".join(str(s) for s in as_list(workflow.get("states"))),
        "initial": str(workflow.get("initial") or ""),
        "transitions": [_transition_model(t) for t in workflow.get("transitions") or []
                        if isinstance(t, Mapping)],
    }


def _blank_transition() -> dict[str, Any]:
    return {"id": "", "label": "", "from": [], "to": "", "roles": [], "form": []}


def _transition_model(t: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(t.get("id") or ""), "label": str(t.get("label") or ""),
        "from": [str(s) for s in as_list(t.get("from"))], "to": str(t.get("to") or ""),
        "roles": [str(r) for r in as_list(t.get("roles"))],
        "form": [{
            "name": str(f.get("name") or ""), "label": str(f.get("label") or ""),
            "type": str(f.get("type") or "text"), "required": f.get("required") is True,
            "options": options_text(as_list(f.get("options"))),
            "min": _text(f.get("min")), "max": _text(f.get("max")),
            "max_length": _text(f.get("max_length")), "help": str(f.get("help") or ""),
        } for f in t.get("form") or [] if isinstance(f, Mapping)],
    }


def _model_from_form(form: MultiDict[str, str]) -> dict[str, Any]:
    transitions = []
    for i in sorted({int(m[1]) for k in form for m in [_TRANSITION.match(k)] if m}):
        p = f"t-{i}-"
        rows = sorted({int(m[2]) for k in form for m in [_FIELD.match(k)] if m and int(m[1]) == i})
        transitions.append({
            "id": form.get(p + "id", "").strip(), "label": form.get(p + "label", "").strip(),
            "from": listed(form.getlist(p + "from")), "to": form.get(p + "to", "").strip(),
            "roles": listed(form.getlist(p + "roles")),
            "form": [{
                "name": form.get(f"{p}f-{j}-name", "").strip(),
                "label": form.get(f"{p}f-{j}-label", "").strip(),
                "type": form.get(f"{p}f-{j}-type", "text"),
                "required": f"{p}f-{j}-required" in form,
                "options": form.get(f"{p}f-{j}-options", "").strip(),
                "min": form.get(f"{p}f-{j}-min", "").strip(),
                "max": form.get(f"{p}f-{j}-max", "").strip(),
                "max_length": form.get(f"{p}f-{j}-max_length", "").strip(),
                "help": form.get(f"{p}f-{j}-help", "").strip(),
            } for j in rows],
        })
    return {
        "id": form.get("id", "").strip(), "name": form.get("name", "").strip(),
        "description": form.get("description", "").strip(),
        "states": form.get("states", "").strip(), "initial": form.get("initial", "").strip(),
        "transitions": transitions,
    }


def _workflow(model: Mapping[str, Any], doc: Mapping[str, Any],
              ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    local: dict[str, list[str]] = {}
    if not model["name"]:
        local["name"] = [_("Give the workflow a name.")]
    workflow: dict[str, Any] = {
        "id": model["id"] or new_id(doc, "workflow", model["name"], "workflow"),
        "name": model["name"]}
    if model["description"]:
        workflow["description"] = model["description"]
    workflow["states"] = split_list(model["states"])
    if model["initial"]:
        workflow["initial"] = model["initial"]
    transitions = []
    for i, t in enumerate(model["transitions"]):
        for j, f in enumerate(t["form"]):
            if f["type"] == "select" and not options_from_text(f["options"]):
                local[f"transitions.{i}.form.{j}"] = [
                    _("A choice from a list needs its options, separated by commas.")]
        built: dict[str, Any] = {"id": t["id"]}
        if t["label"]:
            built["label"] = t["label"]
        built["from"] = list(t["from"])
        built["to"] = t["to"]
        if t["roles"]:
            built["roles"] = list(t["roles"])
        fields = [_field(f) for f in t["form"] if any(f[k] for k in ("name", "label", "options"))]
        if fields:
            built["form"] = fields
        transitions.append(built)
    workflow["transitions"] = transitions
    return workflow, local


def _field(f: Mapping[str, Any]) -> dict[str, Any]:
    kind = f["type"] if f["type"] in FIELD_TYPES else "text"
    out: dict[str, Any] = {"name": f["name"]}
    if f["label"]:
        out["label"] = f["label"]
    out["type"] = kind
    if f["required"]:
        out["required"] = True
    if kind == "select":
        out["options"] = options_from_text(f["options"]) if f["options"] else []
    if kind in ("number", "integer"):
        for bound in ("min", "max"):
            if f[bound]:
                out[bound] = number_or_text(f[bound])
    if kind in ("text", "textarea") and f["max_length"]:
        out["max_length"] = number_or_text(f["max_length"])
    if f["help"]:
        out["help"] = f["help"]
    return out


def _keys(model: Mapping[str, Any]) -> set[str]:
    keys = {"id", "name", "description", "states", "initial", "transitions"}
    for i, t in enumerate(model["transitions"]):
        base = f"transitions.{i}"
        keys.update({base, f"{base}.id", f"{base}.label", f"{base}.from", f"{base}.to",
                     f"{base}.roles", f"{base}.form"})
        keys.update(f"{base}.form.{j}" for j in range(len(t["form"])))
    return keys


def _edit(workflow_id: str | None) -> Any:
    ed = editing()
    existing = item_of(ed.document, "workflow", workflow_id) if workflow_id else None
    if workflow_id and existing is None:
        abort(404)
    if request.method == "GET":
        return _render(_model(existing), ed.document, ed.revision, workflow_id)
    model = _model_from_form(request.form)
    revision = posted_revision()
    workflow, local = _workflow(model, ed.document)
    if local:
        return _render(model, ed.document, revision, workflow_id, local)
    doc = upsert_workflow(ed.document, workflow, old_id=workflow_id)
    position = index_of(doc, "workflow", workflow_id) if workflow_id else len(doc["workflows"]) - 1
    saved = save(doc, _("Workflow “%(name)s” saved in the editor", name=model["name"]), revision)
    if saved.conflict:
        return _render(model, ed.document, revision, workflow_id, conflict=True), 409
    if not saved.ok:
        errors, top = place_problems(saved.problems, doc, [(("workflows", position), None)],
                                     _keys(model))
        return _render(model, ed.document, revision, workflow_id, errors, top)
    flash(_("Workflow “%(name)s” saved: version %(n)s is now active.", name=model["name"],
            n=saved.version), "success")
    return redirect(url_for("rules.workflow_list"), 303)


def _render(model: dict[str, Any], doc: Mapping[str, Any], revision: int | None,
            workflow_id: str | None, errors: dict[str, list[str]] | None = None,
            top: list[dict[str, Any]] | None = None, conflict: bool = False) -> Any:
    return render_template(
        "workflows/edit.html", model=model, workflow_id=workflow_id, revision=revision,
        errors=errors or {}, top_errors=top or [], conflict=conflict,
        roles=options(doc, "roles"), states=split_list(model["states"]),
        field_types=list(FIELD_TYPES), type_labels=TYPE_LABELS,
        blank_transition=_blank_transition(),
        blank_field={"name": "", "label": "", "type": "text", "required": False, "options": "",
                     "min": "", "max": "", "max_length": "", "help": ""})


@bp.post("/workflows/<workflow_id>/delete")
@login_required(Right.ADMIN)
def workflow_delete(workflow_id: str) -> Any:
    ed = editing()
    found = item_of(ed.document, "workflow", workflow_id)
    if found is None:
        abort(404)
    name = found.get("name") or workflow_id
    users = usages(ed.document, "workflow", workflow_id)
    if users:
        rules = dict(options(ed.document, "rules"))
        flash(_("“%(name)s” is used by these rules; change them first: %(rules)s", name=name,
                rules="、".join(rules.get(u, u) for u in users)), "error")
        return redirect(url_for("rules.workflow_list"), 303)
    saved = save(delete_workflow(ed.document, workflow_id),
                 _("Workflow “%(name)s” deleted in the editor", name=name), posted_revision())
    flash_saved(saved, lambda n: _("Workflow “%(name)s” deleted: version %(n)s is now active.",
                                   name=name, n=n))
    return redirect(url_for("rules.workflow_list"), 303)


# A select field's options as one line of text: "replenished=已补货/Replenished, false_alarm"
# (value, or value=label, or value=中文/English; issue #18), and back.
_OPTION_SEP = re.compile(r"[,，、;；\n]+")


def options_text(options: list[Any]) -> str:
    out = []
    for option in options:
        if not isinstance(option, Mapping):
            out.append(str(option))
            continue
        label = option.get("label")
        if isinstance(label, Mapping):
            label = "/".join(str(label.get(k, "")) for k in ("zh", "en")).strip("/")
        out.append(f"{option.get('value', '')}={label}" if label else str(option.get("value", "")))
    return ", ".join(out)


def options_from_text(text: str) -> list[Any]:
    out: list[Any] = []
    for item in _OPTION_SEP.split(text or ""):
        value, _sep, label = (part.strip() for part in item.partition("="))
        if not value:
            continue
        if "/" in label:
            zh, _sep, en = (part.strip() for part in label.partition("/"))
            out.append({"value": value, "label": {k: v for k, v in (("zh", zh), ("en", en)) if v}})
        elif label:
            out.append({"value": value, "label": label})
        else:
            out.append(value)
    return out
