"""The rule editor (/admin): the list of rules, the rule form with its condition builder,
the preview of what a rule would alert on now, and the live count of a SKU group.

Admins only; every POST carries the CSRF token (checked app-wide) and the revision the form was
loaded at. The SKU groups, roles, workflows and Advanced (YAML) pages live in their own modules
on the same blueprint; importing them here registers their routes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from admin.auth import services
from admin.web import (  # noqa: F401  (their routes)
    advanced,
    calendars,
    groups,
    roles,
    settings_form,
    workflows,
)
from admin.web.editor import (
    CHANNEL_LABELS,
    bp,
    editing,
    flash_saved,
    friendly,
    index_of,
    item_of,
    location,
    options,
    place_problems,
    posted_revision,
    save,
)
from admin.web.i18n import language
from admin.web.rule_form import (
    blank_model,
    field_keys,
    group_model_from_form,
    group_where_from_model,
    model_from_form,
    model_from_rule,
    rule_from_model,
)
from admin.web.rule_runs import labels as run_labels
from admin.web.session import active_ruleset, login_required
from engine.group_advice import empty_group_rules
from engine.policy import Right
from engine.rules import load_ruleset
from engine.rules.compiled import EVENT_TYPES, SEVERITIES, STOCK_CHANGING
from engine.rules.editing import (
    condition_sentence,
    delete_rule,
    dump_yaml,
    fact_label,
    upsert,
    upsert_rule,
)
from engine.rules.problems import RulesetInvalid
from engine.rules.schema import CHANNELS
from engine.rules.variables import FACTS, GROUP_FACTS
from engine.services import rule_runs
from engine.services.preview import (
    count_group,
    empty_ruleset,
    fired_counts,
    master_choices,
    preview_rule,
    read_levels,
)
from engine.services.rule_failures import failures_of
from engine.services.title_example import example

__all__ = ["bp"]

EVENT_LABELS = {
    "receipt": _l("receipt"), "sale": _l("sale"), "issue": _l("issue"), "return": _l("return"),
    "adjustment": _l("adjustment"), "count": _l("stock count"), "transfer": _l("transfer"),
    "reserve": _l("reservation"), "release": _l("release of a reservation"),
    "supplier_delay": _l("supplier delay"),
}
ACTION_LABELS = {
    "create_task": _l("Create a task"), "create_requisition": _l("Raise a purchase requisition"),
    "notify": _l("Send a notice"), "escalate": _l("Escalate"),
    "suggest_transfer": _l("Suggest a transfer from another warehouse"),
}
SUPPLIER_LABELS = {
    "preferred": _l("the preferred supplier"), "backup": _l("the backup supplier"),
    "fastest": _l("the fastest supplier"), "cheapest": _l("the cheapest supplier"),
}
QUANTITY_LABELS = {
    "order_up_to": _l("up to the maximum stock"), "eoq": _l("economic order quantity (EOQ)"),
    "fixed": _l("a fixed quantity"), "expression": _l("a formula"),
}
UNIT_LABELS = {"m": _l("minutes"), "h": _l("hours"), "d": _l("days")}
ROOT_LABELS = {
    "stock": _l("Stock"), "metrics": _l("Demand and replenishment"), "params": _l("Parameters"),
    "sku": _l("SKU"), "warehouse": _l("Warehouse"), "supplier": _l("Supplier"),
    "calendar": _l("Calendar"), "event": _l("Event"),
    "group": _l("Group totals (rules alerting per group)"),
}
HIDDEN_FACTS = frozenset({"event.id", "event.at", "event.sku", "event.warehouse", "event.eta",
                          "sku.attributes", "calendar.date"})
TITLE_VARS = ("sku.code", "sku.name", "warehouse.code", "warehouse.name", "stock.available",
              "metrics.reorder_point", "metrics.days_of_cover", "supplier.code")
NULL_DEFAULTS = {"metrics.days_of_cover": 9999, "metrics.days_since_last_sale": 9999}


# --- the list -----------------------------------------------------------------------------------


@bp.get("")
@login_required(Right.ADMIN)
def index() -> Any:
    ed = editing()
    with services().uow() as uow:
        counts = fired_counts(uow.conn)
        failures = failures_of(uow.conn, ed.version)
        run = rule_runs.latest(uow.conn)
    inherited = {r.id: r.owner for r in ed.compiled.rules} if ed.compiled else {}
    group_names = dict(options(ed.document, "sku_groups"))
    role_names = dict(options(ed.document, "roles"))
    lang = language()
    rows = []
    for rule in ed.document.get("rules") or []:
        if not isinstance(rule, Mapping):
            continue
        gids = list(rule.get("groups") or ([rule["group"]] if rule.get("group") else []))
        total, still_open = counts.get(str(rule.get("id")), (0, 0))
        rows.append({
            "id": rule.get("id"), "name": rule.get("name") or rule.get("id"),
            "groups": [group_names.get(g, g) for g in gids],
            "sentence": condition_sentence(rule.get("when"), lang) if "when" in rule else "",
            "severity": rule.get("severity", "medium"),
            "owner": role_names.get(rule.get("owner"), rule.get("owner")) if rule.get("owner")
            else None,
            "group_owner": role_names.get(inherited.get(str(rule.get("id"))))
            if not rule.get("owner") and inherited.get(str(rule.get("id"))) else None,
            "enabled": rule.get("enabled", True) is not False,
            "fired": total, "open": still_open, "failure": failures.get(str(rule.get("id"))),
            "actions": [next(iter(a)) for a in rule.get("actions") or []
                        if isinstance(a, Mapping) and len(a) == 1],
        })
    return render_template("rules/index.html", rows=rows, revision=ed.revision,
                           version=ed.version, action_labels=ACTION_LABELS,
                           failing=[r for r in rows if r["failure"]], run=run,
                           **run_labels())


# --- the rule form ------------------------------------------------------------------------------


@bp.route("/rules/new", methods=["GET", "POST"])
@login_required(Right.ADMIN)
def new() -> Any:
    return _edit(None)


@bp.route("/rules/<rule_id>/edit", methods=["GET", "POST"])
@login_required(Right.ADMIN)
def edit(rule_id: str) -> Any:
    return _edit(rule_id)


def _edit(rule_id: str | None) -> Any:
    ed = editing()
    existing = item_of(ed.document, "rule", rule_id) if rule_id else None
    if rule_id and existing is None:
        abort(404)
    if request.method == "GET":
        model = model_from_rule(existing) if existing else blank_model()
        return _render(model, ed.document, ed.revision, rule_id)
    model = model_from_form(request.form)
    revision = posted_revision()
    doc, places, local = _edited(ed.document, model, rule_id)
    if local:
        problems = _validate(doc)
        errors, top = place_problems(problems, doc, places, field_keys(model))
        for key, messages in local.items():
            errors.setdefault(key, [])[:0] = messages
        return _render(model, ed.document, revision, rule_id, errors, top)
    name = model["name"] or model["id"]
    saved = save(doc, _("Rule “%(name)s” saved in the rule editor", name=name), revision)
    if saved.conflict:
        return _render(model, ed.document, revision, rule_id, conflict=True), 409
    if not saved.ok:
        errors, top = place_problems(saved.problems, doc, places, field_keys(model))
        return _render(model, ed.document, revision, rule_id, errors, top)
    flash(_("Rule “%(name)s” saved: version %(n)s is now active.", name=name, n=saved.version),
          "success")
    _flash_empty_groups()
    groups.flash_advice(doc)  # e.g. a daily digest on a channel nobody configured (issue #17)
    return redirect(url_for("rules.index"), 303)


def _flash_empty_groups() -> None:
    """A group rule whose group holds no SKU now: a warning (issue #19)."""
    svc = services()
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
    if snap.ruleset is None or snap.group_index is None or not snap.group_rules:
        return
    for warning in empty_group_rules(snap.ruleset.compiled, snap.group_index):
        flash(_("Warning: %(path)s: %(message)s", path=warning.path, message=warning.message),
              "warning")


def _edited(doc: dict[str, Any], model: dict[str, Any], rule_id: str | None,
            ) -> tuple[dict[str, Any], list[tuple[tuple[Any, ...], str | None]], dict[str, Any]]:
    """The document with the form's rule (and the group it defines); where each lands."""
    rule, new_group, local = rule_from_model(model, doc)
    places: list[tuple[tuple[Any, ...], str | None]] = []
    if new_group is not None:
        doc = upsert(doc, "group", new_group)
        places.append((("sku_groups", len(doc["sku_groups"]) - 1), "group"))
    old = rule_id if rule_id and index_of(doc, "rule", rule_id) is not None else None
    doc = upsert_rule(doc, rule, old_id=old)
    position = index_of(doc, "rule", old) if old else len(doc["rules"]) - 1
    places.insert(0, (("rules", position), None))
    return doc, places, local


def _validate(doc: Mapping[str, Any]) -> list[Any]:
    try:
        load_ruleset(dump_yaml(doc), "yaml")
    except RulesetInvalid as exc:
        return list(exc.problems)
    return []


def _render(model: dict[str, Any], doc: Mapping[str, Any], revision: int | None,
            rule_id: str | None, errors: dict[str, list[str]] | None = None,
            top: list[dict[str, Any]] | None = None, conflict: bool = False) -> Any:
    errors = dict(errors or {})
    if "groups" in errors:
        errors.setdefault("group", []).extend(errors.pop("groups"))
    svc = services()
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
    master = master_choices(snap)
    lang = language()
    when_sentence, when_value = "", None
    if model["when"]:
        try:
            when_value = json.loads(model["when"])
            when_sentence = condition_sentence(when_value, lang)
        except ValueError:
            when_sentence = ""
    group_counts = {}
    if snap.group_index is not None and master["sku_count"] <= 20_000:
        group_counts = {gid: len(snap.group_index.skus_in((gid,)))
                        for gid in (snap.ruleset.compiled.groups if snap.ruleset else {})}
    expressions = {i: condition_sentence(json.loads(a["expression"]), lang)
                   for i, a in enumerate(model["actions"])
                   if a["kind"] == "create_requisition" and a.get("qty") == "expression"
                   and _json_ok(a.get("expression"))}
    return render_template(
        "rules/edit.html", model=model, rule_id=rule_id, revision=revision,
        errors=errors, top_errors=top or [], conflict=conflict,
        groups=options(doc, "sku_groups"), roles=options(doc, "roles"),
        workflows=options(doc, "workflows"), group_counts=group_counts,
        severities=list(SEVERITIES), event_types=list(EVENT_TYPES),
        stock_changing=STOCK_CHANGING, event_labels=EVENT_LABELS, channels=list(CHANNELS),
        channel_labels=CHANNEL_LABELS, action_labels=ACTION_LABELS,
        supplier_labels=SUPPLIER_LABELS, quantity_labels=QUANTITY_LABELS,
        unit_labels=UNIT_LABELS, master=master, when_sentence=when_sentence,
        builder=builder_data(doc, when_value, lang), expressions=expressions,
        new_actions=_new_actions(doc),
        title_vars=[("{{ " + p + " }}", fact_label(p, lang)) for p in TITLE_VARS],
    )


def _json_ok(text: str | None) -> bool:
    try:
        json.loads(text or "")
    except ValueError:
        return False
    return True


def _new_actions(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What a newly added action block starts with."""
    workflow_options = options(doc, "workflows")
    role_ids = [r for r, _ in options(doc, "roles")]
    return {
        "create_task": {"kind": "create_task",
                        "title": _("Restock {{ sku.code }} @ {{ warehouse.code }}: "
                                   "{{ stock.available }} available"),
                        "workflow": workflow_options[0][0] if len(workflow_options) == 1 else "",
                        "due_n": "4", "due_u": "h", "role": ""},
        "create_requisition": {"kind": "create_requisition", "qty": "order_up_to", "fixed": "",
                               "expression": "", "supplier": "preferred", "approval": [],
                               "fallback": "", "fallback_days": ""},
        "notify": {"kind": "notify", "to": "owner", "channels": [], "message": ""},
        "escalate": {"kind": "escalate", "after_n": "8", "after_u": "h",
                     "to": role_ids[0] if len(role_ids) == 1 else ""},
        "suggest_transfer": {"kind": "suggest_transfer", "sources": "", "regions": [],
                             "min_cover_days": "", "ship": "", "receive": ""},
    }


def builder_data(doc: Mapping[str, Any], when: Any, lang: str) -> dict[str, Any]:
    """What the condition builder needs: the facts by section with their plain names and types,
    and its words in the viewer's language."""
    facts = []
    for path, fact in FACTS.items():
        if path in HIDDEN_FACTS or fact.type not in ("number", "string", "array", "boolean"):
            continue
        facts.append({"path": path, "label": fact_label(path, lang), "type": fact.type,
                      "nullable": fact.nullable, "root": path.split(".")[0],
                      "default": NULL_DEFAULTS.get(path, 0)})
    for path, fact in GROUP_FACTS.items():  # issue #19: read by rules alerting per group
        if fact.type == "number":
            facts.append({"path": path, "label": fact_label(path, lang), "type": fact.type,
                          "nullable": fact.nullable, "root": "group",
                          "default": 9999 if fact.nullable else 0})
    facts += _custom_params(doc, {f["path"] for f in facts})
    order = list(ROOT_LABELS)
    facts.sort(key=lambda f: order.index(f["root"]) if f["root"] in order else 99)
    return {
        "facts": facts,
        "roots": {k: str(v) for k, v in ROOT_LABELS.items()},
        "when": when,
        "lang": lang,
        "words": {
            "and": " 且 " if lang == "zh" else " and ", "or": " 或 " if lang == "zh" else " or ",
            "default": "（无值时按 {1}）" if lang == "zh" else " ({1} when empty)",
            "contains": "{0} 包含 {1}" if lang == "zh" else "{0} contains {1}",
            "one_of": "{0} 是 {1} 之一" if lang == "zh" else "{0} is one of {1}",
            "in_text": "{1} 含有 {0}" if lang == "zh" else "{1} contains {0}",
            "quote": "“{0}”" if lang == "zh" else "'{0}'",
            "sep": "、" if lang == "zh" else ", ",
            "yes": "是" if lang == "zh" else "yes", "no": "否" if lang == "zh" else "no",
        },
        "text": {
            "all": _("all of these hold (AND)"), "any": _("any of these holds (OR)"),
            "add_row": _("+ Condition"), "add_group": _("+ Group of conditions"),
            "remove": _("Remove"), "remove_group": _("Remove this group"),
            "choose_fact": _("— choose a figure —"), "value_number": _("a number"),
            "value_fact": _("another figure"), "if_empty": _("if empty, use"),
            "missing": _("?"), "incomplete": _("Complete or remove the highlighted conditions."),
            "empty": _("No condition yet: add one."),
            "ops": {"<": _("less than"), "<=": _("at most"), ">": _("more than"),
                    ">=": _("at least"), "==": _("equal to"), "!=": _("not equal to"),
                    "contains": _("contains"), "one_of": _("is one of"),
                    "has_text": _("contains the text")},
            "list_hint": _("several values: separate with commas"),
            "factor": _("times (empty: 1)"),
        },
    }


def _custom_params(doc: Mapping[str, Any], known: set[str]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    settings = doc.get("settings") if isinstance(doc.get("settings"), Mapping) else {}
    sources = [(settings, False)] + [
        (g.get("params"), True) for g in doc.get("sku_groups") or []
        if isinstance(g, Mapping) and isinstance(g.get("params"), Mapping)]
    for params, only_some in sources:
        for key, value in (params or {}).items():
            path = f"params.{key}"
            if path in known or isinstance(value, list | dict):
                continue
            kind = ("boolean" if isinstance(value, bool) else
                    "number" if isinstance(value, int | float) else "string")
            if path not in out:
                out[path] = {"path": path, "label": str(key), "type": kind,
                             "nullable": only_some, "root": "params", "default": 0}
            elif not only_some:
                out[path]["nullable"] = False
    return list(out.values())


# --- delete, preview, count ----------------------------------------------------------------------


@bp.post("/rules/<rule_id>/delete")
@login_required(Right.ADMIN)
def remove(rule_id: str) -> Any:
    ed = editing()
    try:
        doc = delete_rule(ed.document, rule_id)
    except KeyError:
        abort(404)
    found = item_of(ed.document, "rule", rule_id) or {}
    name = found.get("name") or rule_id
    saved = save(doc, _("Rule “%(name)s” deleted in the rule editor", name=name),
                 posted_revision())
    flash_saved(saved, lambda n: _("Rule “%(name)s” deleted: version %(n)s is now active.",
                                   name=name, n=n),
                lambda why: _("The rule could not be deleted: %(why)s", why=why))
    return redirect(url_for("rules.index"), 303)


@bp.post("/rules/preview")
@login_required(Right.ADMIN)
def preview() -> Any:
    """An HTML fragment: which SKU×warehouse the rule as it stands in the form would alert on."""
    ed = editing()
    model = model_from_form(request.form)
    old_id = request.form.get("old_id") or None
    doc, places, local = _edited(ed.document, model, old_id)
    local.pop("name", None)  # a preview needs no name
    problems: list[dict[str, Any]] = [{"where": _("This rule"), "message": m}
                                      for messages in local.values() for m in messages]
    compiled = None
    if not problems:
        try:
            compiled = load_ruleset(dump_yaml(doc), "yaml")
        except RulesetInvalid as exc:
            problems = [{"where": location(doc, p.segments), "message": friendly(p)}
                        for p in exc.problems]
    if compiled is None:
        return render_template("rules/_preview.html", problems=problems, result=None)
    position = places[0][0][1]
    rule = compiled.rules[position]
    svc = services()
    with svc.uow() as uow:  # a short read: the evaluation runs after it ended (issue #13)
        snap = svc.cache.current(uow.conn)
        levels = read_levels(uow.conn, snap, compiled)
    result = preview_rule(levels, snap, rule, compiled, svc.clock.now())
    lang = language()
    labels = [fact_label(p, lang) for p in result.paths]
    return render_template("rules/_preview.html", problems=[], result=result, labels=labels,
                           sentence=condition_sentence(rule.when, lang))


@bp.get("/groups/count")
@login_required(Right.ADMIN)
def group_count() -> Any:
    """The live count of a group being defined: JSON with the number and a few SKU codes."""
    group = group_model_from_form(request.args)
    where = group_where_from_model(group)
    svc = services()
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
    total = len(snap.sku_facts)
    try:
        count, sample = count_group(snap, where)
    except ValueError:
        return jsonify(count=None, total=total, sample=[], text=_("This filter is not valid."))
    if where is None:
        text = ngettext("Every SKU: %(num)s SKU.", "Every SKU: %(num)s SKUs.", total)
    else:
        text = ngettext("%(num)s of %(total)s SKU matches now.",
                        "%(num)s of %(total)s SKUs match now.", count, total=total)
    return jsonify(count=count, total=total, sample=sample, text=text)


@bp.get("/rules/title-example")
@login_required(Right.ADMIN)
def title_example() -> Any:
    """A task title as it would read for one real SKU×warehouse (JSON), shown under the field."""
    text = request.args.get("text", "")[:2000]
    svc = services()
    active = active_ruleset()
    with svc.uow() as uow:
        snap = svc.cache.current(uow.conn)
        found = example(uow.conn, snap, active.compiled if active else empty_ruleset(), text,
                        svc.clock.now())
    if found["error"]:
        return jsonify(text=None, said=_("This title cannot be filled in: %(why)s",
                                         why=found["error"]))
    if found["text"] is None:
        return jsonify(text=None, said=_("No stock yet to show an example with."))
    return jsonify(text=found["text"], said=_("For %(pair)s it reads: %(text)s",
                                              pair=found["pair"], text=found["text"]))
