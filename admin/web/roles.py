"""Roles (/admin/roles): who holds each business role (users picked from the accounts), by
which channels they are told, and to which role their overdue work escalates.

Renaming a role's code renames it everywhere it is used; deleting a role that rules or
workflows still use is refused with the list of what uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin.auth import services
from admin.web.editor import (
    CHANNEL_LABELS,
    as_list,
    bp,
    editing,
    flash_saved,
    index_of,
    item_of,
    listed,
    new_id,
    options,
    place_problems,
    posted_revision,
    save,
)
from admin.web.session import login_required
from engine.policy import Right
from engine.rules.editing import delete_role, upsert_role, usages
from engine.rules.schema import CHANNELS
from engine.services import accounts

KEYS = {"id", "name", "description", "members", "channels", "escalate_to", "rate_limit",
        "quiet_hours"}


def _users() -> list[accounts.User]:
    with services().uow() as uow:
        return [u for u in accounts.list_users(uow.conn) if u.active]


@bp.get("/roles")
@login_required(Right.ADMIN)
def role_list() -> Any:
    ed = editing()
    names = dict(options(ed.document, "roles"))
    users = {u.username: u.display_name or u.username for u in _users()}
    rows = []
    for role in ed.document.get("roles") or []:
        if not isinstance(role, Mapping):
            continue
        rid = str(role.get("id"))
        members = role.get("members") or []
        rows.append({
            "id": rid, "name": role.get("name") or rid,
            "members": [(m, users.get(m)) for m in members],
            "channels": [CHANNEL_LABELS.get(c, c) for c in as_list(role.get("channels"))],
            "escalate_to": names.get(role.get("escalate_to"), role.get("escalate_to")),
            "used_by": [usage_text(ed.document, u) for u in usages(ed.document, "role", rid)],
        })
    return render_template("roles/index.html", rows=rows, revision=ed.revision)


def usage_text(doc: Mapping[str, Any], usage: str) -> str:
    """What ``editing.usages`` found, for people: a rule's, role's or workflow's name."""
    kind, _sep, item_id = usage.rpartition(":")
    section = {"role": "roles", "workflow": "workflows", "": "rules"}[kind]
    names = dict(options(doc, section))
    label = {"role": _("role"), "workflow": _("workflow"), "": _("rule")}[kind]
    return f"{label} {names.get(item_id, item_id)}"


@bp.route("/roles/new", methods=["GET", "POST"])
@login_required(Right.ADMIN)
def role_new() -> Any:
    return _edit(None)


@bp.route("/roles/<role_id>/edit", methods=["GET", "POST"])
@login_required(Right.ADMIN)
def role_edit(role_id: str) -> Any:
    return _edit(role_id)


def _model(role: Mapping[str, Any] | None) -> dict[str, Any]:
    role = role or {}
    return {
        "id": str(role.get("id") or ""), "name": str(role.get("name") or ""),
        "description": str(role.get("description") or ""),
        "members": [str(m) for m in as_list(role.get("members"))],
        "channels": [str(c) for c in as_list(role.get("channels"))],
        "escalate_to": str(role.get("escalate_to") or ""),
        "rate_limit": limit_text(role.get("rate_limit")),
        "quiet_hours": str(role.get("quiet_hours") or ""),
    }


def limit_text(limit: Any) -> str:
    """A role's rate limit as the form shows it: ``10``, or ``email=3, wecom=20``."""
    if isinstance(limit, Mapping):
        return ", ".join(f"{k}={v}" for k, v in limit.items())
    return "" if limit is None else str(limit)


def limit_value(text: str) -> Any:
    """The form's rate limit as the document holds it; what cannot be read is kept as written,
    for the schema to refuse at ``rate_limit`` with its reason."""
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    pairs = [p.split("=", 1) for p in text.replace("，", ",").split(",") if p.strip()]
    if all(len(p) == 2 and p[1].strip().isdigit() for p in pairs):
        return {k.strip(): int(v) for k, v in pairs}
    return text


def _edit(role_id: str | None) -> Any:
    ed = editing()
    existing = item_of(ed.document, "role", role_id) if role_id else None
    if role_id and existing is None:
        abort(404)
    if request.method == "GET":
        return _render(_model(existing), ed.document, ed.revision, role_id)
    form = request.form
    model = {
        "id": form.get("id", "").strip(), "name": form.get("name", "").strip(),
        "description": form.get("description", "").strip(),
        "members": listed(form.getlist("members")), "channels": listed(form.getlist("channels")),
        "escalate_to": form.get("escalate_to", "").strip(),
        "rate_limit": form.get("rate_limit", "").strip(),
        "quiet_hours": form.get("quiet_hours", "").strip(),
    }
    revision = posted_revision()
    local: dict[str, list[str]] = {}
    if not model["name"]:
        local["name"] = [_("Give the role a name.")]
    role: dict[str, Any] = {"id": model["id"] or new_id(ed.document, "role", model["name"],
                                                        "role"), "name": model["name"]}
    if model["description"]:
        role["description"] = model["description"]
    role["members"] = model["members"]
    if model["channels"]:
        role["channels"] = model["channels"]
    if model["escalate_to"]:
        role["escalate_to"] = model["escalate_to"]
    if model["rate_limit"]:
        role["rate_limit"] = limit_value(model["rate_limit"])
    if model["quiet_hours"]:
        role["quiet_hours"] = model["quiet_hours"]
    if local:
        return _render(model, ed.document, revision, role_id, local)
    doc = upsert_role(ed.document, role, old_id=role_id)
    position = index_of(doc, "role", role_id) if role_id else len(doc["roles"]) - 1
    saved = save(doc, _("Role “%(name)s” saved in the editor", name=model["name"]), revision)
    if saved.conflict:
        return _render(model, ed.document, revision, role_id, conflict=True), 409
    if not saved.ok:
        errors, top = place_problems(saved.problems, doc, [(("roles", position), None)], KEYS)
        return _render(model, ed.document, revision, role_id, errors, top)
    flash(_("Role “%(name)s” saved: version %(n)s is now active.", name=model["name"],
            n=saved.version), "success")
    from admin.web.groups import flash_advice

    flash_advice(doc)
    return redirect(url_for("rules.role_list"), 303)


def _render(model: dict[str, Any], doc: Mapping[str, Any], revision: int | None,
            role_id: str | None, errors: dict[str, list[str]] | None = None,
            top: list[dict[str, Any]] | None = None, conflict: bool = False) -> Any:
    others = [(rid, name) for rid, name in options(doc, "roles") if rid != role_id]
    return render_template("roles/edit.html", model=model, role_id=role_id, revision=revision,
                           errors=errors or {}, top_errors=top or [], conflict=conflict,
                           users=_users(), channels=list(CHANNELS), channel_labels=CHANNEL_LABELS,
                           others=others)


@bp.post("/roles/<role_id>/delete")
@login_required(Right.ADMIN)
def role_delete(role_id: str) -> Any:
    ed = editing()
    found = item_of(ed.document, "role", role_id)
    if found is None:
        abort(404)
    name = found.get("name") or role_id
    users = usages(ed.document, "role", role_id)
    if users:
        flash(_("“%(name)s” is still used (%(what)s); change those first.", name=name,
                what="、".join(usage_text(ed.document, u) for u in users)), "error")
        return redirect(url_for("rules.role_list"), 303)
    saved = save(delete_role(ed.document, role_id),
                 _("Role “%(name)s” deleted in the editor", name=name), posted_revision())
    flash_saved(saved, lambda n: _("Role “%(name)s” deleted: version %(n)s is now active.",
                                   name=name, n=n))
    return redirect(url_for("rules.role_list"), 303)
