"""The rule form: a rule of the document ↔ the values its inputs show ↔ the posted form.

The form's values (the "model") are plain strings and lists, so that a refused form shows
exactly what was typed. ``rule_from_model`` builds the rule as the document writes it; it does
not judge it — the engine's validation does, and its problems come back to the inputs by the
keys of ``field_keys``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from admin.web.editor import listed, new_id, number_or_text, split_list
from engine.rules.compiled import STOCK_CHANGING
from engine.rules.editing import describe_where, group_where, join_duration, split_duration

ACTION_KINDS = ("create_task", "create_requisition", "notify", "escalate", "suggest_transfer")
ACTION_PARAMS = {
    "suggest_transfer": ("sources", "regions", "min_cover_days", "ship", "receive"),
    "create_task": ("title", "workflow", "due", "role"),
    "create_requisition": ("quantity", "supplier", "approval", "fallback",
                           "fallback_after_late_days"),
    "notify": ("to", "channels", "message", "digest"),
    "escalate": ("after", "to"),
}
RULE_KEYS = ("id", "name", "description", "enabled", "group", "on", "when", "severity", "owner",
             "cooldown", "auto_resolve", "actions", "per")
GROUP_FIELDS = ("categories", "tags", "abc_classes", "regions", "warehouses")


def blank_model() -> dict[str, Any]:
    return {
        "id": "", "name": "", "description": "", "enabled": True, "severity": "medium",
        "owner": "", "auto_resolve": True, "cooldown_n": "", "cooldown_u": "h",
        "on_mode": "all", "on": sorted(STOCK_CHANGING), "group_mode": "all", "groups": [],
        "ng": _blank_group(), "when": "", "actions": [], "per": "pair",
    }


def _blank_group() -> dict[str, Any]:
    return {"id": "", "name": "", "skus": "", **{k: [] for k in GROUP_FIELDS}}


def model_from_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    model = blank_model()
    cooldown_n, cooldown_u = split_duration(rule.get("cooldown"))
    groups = list(rule.get("groups") or ([rule["group"]] if rule.get("group") else []))
    on = rule.get("on")
    model.update(
        id=str(rule.get("id") or ""), name=str(rule.get("name") or ""),
        description=str(rule.get("description") or ""),
        enabled=rule.get("enabled", True) is not False,
        severity=str(rule.get("severity") or "medium"), owner=str(rule.get("owner") or ""),
        auto_resolve=rule.get("auto_resolve", True) is not False,
        cooldown_n=cooldown_n if rule.get("cooldown") is not None else "", cooldown_u=cooldown_u,
        on_mode="some" if on else "all",
        on=list(on if isinstance(on, list) else [on]) if on else sorted(STOCK_CHANGING),
        group_mode="pick" if groups else "all", groups=[str(g) for g in groups],
        when=json.dumps(rule["when"], ensure_ascii=False) if "when" in rule else "",
        actions=[_action_model(a) for a in rule.get("actions") or [] if isinstance(a, Mapping)],
        per="group_warehouse" if rule.get("per") == "group_warehouse" else "pair",
    )
    return model


def _action_model(action: Mapping[str, Any]) -> dict[str, Any]:
    kind, params = next(iter(action.items())) if len(action) == 1 else ("", {})
    params = params if isinstance(params, Mapping) else {}
    if kind == "create_task":
        due_n, due_u = split_duration(params.get("due"))
        return {"kind": kind, "title": str(params.get("title") or ""),
                "workflow": str(params.get("workflow") or ""),
                "due_n": due_n if params.get("due") is not None else "", "due_u": due_u,
                "role": str(params.get("role") or "")}
    if kind == "create_requisition":
        quantity = params.get("quantity", "order_up_to")
        model = {"kind": kind, "qty": "order_up_to", "fixed": "", "expression": "",
                 "supplier": str(params.get("supplier") or "preferred"),
                 "approval": [{"above": _text(s.get("above")), "role": str(s.get("role") or "")}
                              for s in params.get("approval") or [] if isinstance(s, Mapping)],
                 # issue #19: where to go when the supplier is late, unavailable or too slow
                 "fallback": str(params.get("fallback") or ""),
                 "fallback_days": (_text(params["fallback_after_late_days"])
                                   if params.get("fallback_after_late_days") is not None else "")}
        if quantity in ("order_up_to", "eoq"):
            model["qty"] = quantity
        elif isinstance(quantity, Mapping) and list(quantity) == ["fixed"]:
            model.update(qty="fixed", fixed=_text(quantity["fixed"]))
        else:
            model.update(qty="expression", expression=json.dumps(quantity, ensure_ascii=False))
        return model
    if kind == "notify":
        channels = params.get("channels") or []
        return {"kind": kind, "to": str(params.get("to") or "owner"),
                "channels": list(channels if isinstance(channels, list) else [channels]),
                "message": str(params.get("message") or ""),
                "digest": str(params.get("digest") or "")}
    if kind == "suggest_transfer":
        return {"kind": kind, "sources": ", ".join(_strings(params.get("sources"))),
                "regions": _strings(params.get("regions")),
                "min_cover_days": _text(params.get("min_cover_days")),
                "ship": str(params.get("ship") or ""), "receive": str(params.get("receive") or "")}
    if kind == "escalate":
        after_n, after_u = split_duration(params.get("after"))
        return {"kind": kind, "after_n": after_n if params.get("after") is not None else "",
                "after_u": after_u, "to": str(params.get("to") or "")}
    return {"kind": str(kind), "raw": json.dumps(dict(action), ensure_ascii=False)}


def _strings(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value] if value else [])]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- the posted form ------------------------------------------------------------------------

_ACTION_KEY = re.compile(r"^a-(\d{1,4})-kind$")  # at most 4 digits: no 5,000-digit int()
_APPROVAL_KEY = re.compile(r"^a-(\d{1,4})-appr-(\d{1,4})-above$")


def model_from_form(form: MultiDict[str, str]) -> dict[str, Any]:
    model = blank_model()
    model.update(
        id=form.get("id", "").strip(), name=form.get("name", "").strip(),
        description=form.get("description", "").strip(), enabled="enabled" in form,
        severity=form.get("severity", "medium"), owner=form.get("owner", ""),
        auto_resolve="auto_resolve" in form, cooldown_n=form.get("cooldown_n", "").strip(),
        cooldown_u=form.get("cooldown_u", "h"),
        on_mode="some" if form.get("on_mode") == "some" else "all",
        on=form.getlist("on"),
        group_mode=form.get("group_mode", "all") if form.get("group_mode") in (
            "all", "pick", "new") else "all",
        groups=listed(form.getlist("groups")),
        ng=group_model_from_form(form, "ng_"),
        when=form.get("when", "").strip(),
        per="group_warehouse" if form.get("per") == "group_warehouse" else "pair",
    )
    indexes = sorted({int(m[1]) for k in form for m in [_ACTION_KEY.match(k)] if m})
    model["actions"] = [_action_from_form(form, i) for i in indexes]
    return model


def group_model_from_form(form: MultiDict[str, str], prefix: str = "") -> dict[str, Any]:
    return {
        "id": form.get(f"{prefix}id", "").strip(), "name": form.get(f"{prefix}name", "").strip(),
        "categories": listed(form.getlist("g_category")), "tags": listed(form.getlist("g_tag")),
        "abc_classes": listed(form.getlist("g_abc")), "regions": listed(form.getlist("g_region")),
        "warehouses": listed(form.getlist("g_warehouse")), "skus": form.get("g_skus", "").strip(),
    }


def group_where_from_model(group: Mapping[str, Any]) -> Any:
    return group_where(group["categories"], group["tags"], group["abc_classes"],
                       group["regions"], group["warehouses"], split_list(group["skus"]))


def group_model_from_where(where: Any) -> dict[str, Any] | None:
    """The group inputs for a filter, or None when the filter is not one the form can build."""
    selection = describe_where(where)
    if selection is None:
        return None
    model = _blank_group()
    for key in GROUP_FIELDS:
        model[key] = selection[key]
    model["skus"] = ", ".join(selection["skus"])
    return model


def _action_from_form(form: MultiDict[str, str], i: int) -> dict[str, Any]:
    def get(name: str, default: str = "") -> str:
        return form.get(f"a-{i}-{name}", default).strip()

    kind = get("kind")
    if kind == "create_task":
        return {"kind": kind, "title": get("title"), "workflow": get("workflow"),
                "due_n": get("due_n"), "due_u": get("due_u", "h"), "role": get("role")}
    if kind == "create_requisition":
        rows = sorted({int(m[2]) for k in form for m in [_APPROVAL_KEY.match(k)]
                       if m and int(m[1]) == i})
        approval = [{"above": get(f"appr-{j}-above"), "role": get(f"appr-{j}-role")}
                    for j in rows]
        supplier = get("supplier", "preferred")
        if supplier == "code":
            supplier = get("supplier_code")
        return {"kind": kind, "qty": get("qty", "order_up_to"), "fixed": get("fixed"),
                "expression": get("expression"), "supplier": supplier,
                "approval": [a for a in approval if a["above"] or a["role"]],
                "fallback": get("fallback"), "fallback_days": get("fallback_days")}
    if kind == "notify":
        return {"kind": kind, "to": get("to", "owner"),
                "channels": listed(form.getlist(f"a-{i}-channels")), "message": get("message"),
                "digest": get("digest")}
    if kind == "escalate":
        return {"kind": kind, "after_n": get("after_n"), "after_u": get("after_u", "h"),
                "to": get("to")}
    if kind == "suggest_transfer":
        return {"kind": kind, "sources": get("sources"),
                "regions": listed(form.getlist(f"a-{i}-regions")),
                "min_cover_days": get("min_cover_days"), "ship": get("ship"),
                "receive": get("receive")}
    return {"kind": kind, "raw": get("raw")}


# --- the model as the document writes it -------------------------------------------------------


def rule_from_model(model: Mapping[str, Any], doc: Mapping[str, Any],
                    ) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, list[str]]]:
    """(the rule, a group defined inside the form or None, problems found before validation)."""
    errors: dict[str, list[str]] = {}
    if not model["name"]:
        errors["name"] = [_("Give the rule a name.")]
    rule: dict[str, Any] = {"id": model["id"] or new_id(doc, "rule", model["name"], "rule")}
    if model["name"]:
        rule["name"] = model["name"]
    if model["description"]:
        rule["description"] = model["description"]
    if not model["enabled"]:
        rule["enabled"] = False
    new_group = None
    if model["group_mode"] == "pick":
        if not model["groups"]:
            errors["group"] = [_("Choose at least one group, or watch every SKU.")]
        elif len(model["groups"]) == 1:
            rule["group"] = model["groups"][0]
        else:
            rule["groups"] = list(model["groups"])
    elif model["group_mode"] == "new":
        ng = model["ng"]
        name = ng["name"] or model["name"]
        new_group = {"id": ng["id"] or new_id(doc, "group", name, "group"), "name": name}
        where = group_where_from_model(ng)
        if where is None:
            errors["group"] = [_("Tick at least one category, tag, class or warehouse, or list "
                                 "SKU codes.")]
        else:
            new_group["where"] = where
        rule["group"] = new_group["id"]
    if model["on_mode"] == "some":
        rule["on"] = list(model["on"])
    if model["when"]:
        try:
            rule["when"] = json.loads(model["when"])
        except ValueError:
            errors["when"] = [_("The condition could not be read; build it again.")]
    rule["severity"] = model["severity"]
    if model["owner"]:
        rule["owner"] = model["owner"]
    cooldown = join_duration(model["cooldown_n"], model["cooldown_u"])
    if cooldown is not None:
        rule["cooldown"] = cooldown
    if not model["auto_resolve"]:
        rule["auto_resolve"] = False
    if model["per"] == "group_warehouse":
        rule["per"] = "group_warehouse"
    actions = []
    for index, action in enumerate(model["actions"]):
        built = _action(action, index, errors)
        if built is not None:
            actions.append(built)
    if actions:
        rule["actions"] = actions
    return rule, new_group, errors


def _action(action: Mapping[str, Any], index: int,
            errors: dict[str, list[str]]) -> dict[str, Any] | None:
    kind = action["kind"]
    params: dict[str, Any] = {}
    if kind == "create_task":
        params["title"] = action["title"]
        if action["workflow"]:
            params["workflow"] = action["workflow"]
        due = join_duration(action["due_n"], action["due_u"])
        if due is not None:
            params["due"] = due
        if action["role"]:
            params["role"] = action["role"]
    elif kind == "create_requisition":
        qty = action["qty"]
        if qty == "fixed":
            params["quantity"] = {"fixed": number_or_text(action["fixed"])}
        elif qty == "expression":
            try:
                params["quantity"] = json.loads(action["expression"])
            except ValueError:
                errors[f"actions.{index}.quantity"] = [_("Edit this formula in Advanced.")]
        else:
            params["quantity"] = qty if qty in ("order_up_to", "eoq") else "order_up_to"
        params["supplier"] = action["supplier"] or "preferred"
        if action["approval"]:
            params["approval"] = [{"above": number_or_text(a["above"]), "role": a["role"]}
                                  for a in action["approval"]]
        if action.get("fallback"):
            params["fallback"] = action["fallback"]
        if action.get("fallback_days"):
            params["fallback_after_late_days"] = number_or_text(action["fallback_days"])
    elif kind == "notify":
        params["to"] = action["to"] or "owner"
        if action["channels"]:
            params["channels"] = list(action["channels"])
        if action["message"]:
            params["message"] = action["message"]
        if action.get("digest"):
            params["digest"] = action["digest"]
    elif kind == "escalate":
        after = join_duration(action["after_n"], action["after_u"])
        params["after"] = after if after is not None else ""
        params["to"] = action["to"]
    elif kind == "suggest_transfer":
        if split_list(action["sources"]):
            params["sources"] = split_list(action["sources"])
        if action["regions"]:
            params["regions"] = list(action["regions"])
        if action["min_cover_days"]:
            params["min_cover_days"] = number_or_text(action["min_cover_days"])
        for step in ("ship", "receive"):
            if action[step]:
                params[step] = action[step]
    else:
        try:
            raw = json.loads(action.get("raw") or "null")
        except ValueError:
            raw = None
        return raw if isinstance(raw, dict) else None
    return {kind: params}


def field_keys(model: Mapping[str, Any]) -> set[str]:
    """The keys of the inputs a problem can be shown next to."""
    keys = set(RULE_KEYS) | {"groups"}
    for index, action in enumerate(model["actions"]):
        keys.add(f"actions.{index}")
        keys.update(f"actions.{index}.{p}" for p in ACTION_PARAMS.get(action["kind"], ()))
    return keys

