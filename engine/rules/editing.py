"""Editing a rule document as data, for the form editors (SPEC §1: admins never type JSON).

The web forms change one rule, group, role or workflow of the active document and send the whole
document back through the one validation pipeline (``load_ruleset``). Here, with no web or
database dependency:

- ``upsert_*`` / ``delete_*``: a new document with one item replaced, added or removed, the rest
  untouched (renaming a group, role or workflow also renames the references to it);
- ``dump_yaml``: the document as YAML the strict loader accepts (no anchors), JsonLogic and short
  lists written on one line as in the specification's example;
- ``condition_sentence``: JsonLogic as a sentence with the facts' plain names
  ("可用库存 < 再订货点", "(A 且 B) 或 C");
- ``group_where`` / ``describe_where``: the simple SKU group filters a form can build (categories,
  tags, ABC classes, regions, warehouses, explicit SKUs) to JsonLogic and back;
- ``split_duration`` / ``join_duration``: "36h" ↔ (36, "h") for a number + unit input.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import yaml

from engine.rules.variables import FACTS, GROUP_FACTS

Doc = dict[str, Any]

SKELETON: Doc = {"ruleset": "default"}
SECTIONS = {"rule": "rules", "group": "sku_groups", "role": "roles", "workflow": "workflows",
            "calendar": "calendars"}


# --- the document as data -----------------------------------------------------------------------


def base_document(document: Mapping[str, Any] | None) -> Doc:
    """A private, deep copy of ``document`` (the active one), or a new empty document."""
    if not document:
        return copy.deepcopy(SKELETON)
    return copy.deepcopy(dict(document))


def find(doc: Mapping[str, Any], kind: str, item_id: str) -> tuple[int, dict[str, Any]] | None:
    """(index, item) of the ``kind`` ("rule", "group", "role", "workflow") called ``item_id``."""
    for index, item in enumerate(doc.get(SECTIONS[kind]) or []):
        if isinstance(item, Mapping) and item.get("id") == item_id:
            return index, dict(item)
    return None


def upsert(doc: Mapping[str, Any], kind: str, item: Mapping[str, Any],
           old_id: str | None = None) -> Doc:
    """A copy of ``doc`` with ``item`` in place of ``old_id`` (added at the end when absent).

    When a group, role or workflow changes its id, the references to ``old_id`` follow it.
    A new item whose id is already used is still added: validation then reports the duplicate
    next to the id the admin typed.
    """
    out = base_document(doc)
    items = out.setdefault(SECTIONS[kind], [])
    if not isinstance(items, list):
        items = out[SECTIONS[kind]] = []
    new = copy.deepcopy(dict(item))
    found = find(out, kind, old_id) if old_id is not None else None
    if found is None:
        items.append(new)
    else:
        items[found[0]] = new
        new_id = new.get("id")
        if kind not in ("rule", "calendar") and isinstance(new_id, str) and new_id != old_id:
            _rename(out, kind, str(old_id), new_id)
    return out


def delete(doc: Mapping[str, Any], kind: str, item_id: str) -> Doc:
    """A copy of ``doc`` without the ``kind`` called ``item_id``; ``KeyError`` when absent.

    References to it are left as they are: validation then says what still uses it, and the
    document is refused unchanged.
    """
    out = base_document(doc)
    found = find(out, kind, item_id)
    if found is None:
        raise KeyError(item_id)
    del out[SECTIONS[kind]][found[0]]
    return out


def upsert_rule(doc: Mapping[str, Any], rule: Mapping[str, Any], old_id: str | None = None) -> Doc:
    return upsert(doc, "rule", rule, old_id)


def delete_rule(doc: Mapping[str, Any], rule_id: str) -> Doc:
    return delete(doc, "rule", rule_id)


def upsert_group(doc: Mapping[str, Any], group: Mapping[str, Any],
                 old_id: str | None = None) -> Doc:
    return upsert(doc, "group", group, old_id)


def delete_group(doc: Mapping[str, Any], group_id: str) -> Doc:
    return delete(doc, "group", group_id)


def upsert_role(doc: Mapping[str, Any], role: Mapping[str, Any], old_id: str | None = None) -> Doc:
    return upsert(doc, "role", role, old_id)


def delete_role(doc: Mapping[str, Any], role_id: str) -> Doc:
    return delete(doc, "role", role_id)


def upsert_workflow(doc: Mapping[str, Any], workflow: Mapping[str, Any],
                    old_id: str | None = None) -> Doc:
    return upsert(doc, "workflow", workflow, old_id)


def delete_workflow(doc: Mapping[str, Any], workflow_id: str) -> Doc:
    return delete(doc, "workflow", workflow_id)


def usages(doc: Mapping[str, Any], kind: str, item_id: str) -> list[str]:
    """The ids of the rules (and, for roles, roles and workflows) that refer to ``item_id``."""
    out: list[str] = []
    for rule in _dicts(doc.get("rules")):
        if _rule_refers(rule, kind, item_id):
            out.append(str(rule.get("id")))
    if kind == "role":
        out += [f"role:{r.get('id')}" for r in _dicts(doc.get("roles"))
                if r.get("escalate_to") == item_id]
        out += [f"group:{g.get('id')}" for g in _dicts(doc.get("sku_groups"))
                if g.get("owner") == item_id]
        out += [f"workflow:{w.get('id')}" for w in _dicts(doc.get("workflows"))
                if any(item_id in _as_list(t.get("roles")) for t in _dicts(w.get("transitions")))]
    return out


def _rule_refers(rule: Mapping[str, Any], kind: str, item_id: str) -> bool:
    if kind == "group":
        return rule.get("group") == item_id or item_id in _as_list(rule.get("groups"))
    if kind == "workflow":
        return any((p or {}).get("workflow") == item_id for _, p in _actions(rule))
    if kind == "role":
        if rule.get("owner") == item_id:
            return True
        for action, params in _actions(rule):
            params = params or {}
            if action in ("create_task",) and params.get("role") == item_id:
                return True
            if action in ("notify", "escalate") and params.get("to") == item_id:
                return True
            if action == "create_requisition" and any(
                    s.get("role") == item_id for s in _dicts(params.get("approval"))):
                return True
            if action == "suggest_transfer" and item_id in (params.get("ship"),
                                                            params.get("receive")):
                return True
    return False


def _rename(doc: Doc, kind: str, old: str, new: str) -> None:
    for rule in _dicts(doc.get("rules")):
        if kind == "group":
            if rule.get("group") == old:
                rule["group"] = new
            if isinstance(rule.get("groups"), list):
                rule["groups"] = [new if g == old else g for g in rule["groups"]]
            continue
        if kind == "role" and rule.get("owner") == old:
            rule["owner"] = new
        for action, params in _actions(rule):
            if not isinstance(params, dict):
                continue
            if kind == "workflow" and action == "create_task" and params.get("workflow") == old:
                params["workflow"] = new
            if kind != "role":
                continue
            if action == "create_task" and params.get("role") == old:
                params["role"] = new
            if action in ("notify", "escalate") and params.get("to") == old:
                params["to"] = new
            if action == "create_requisition":
                for step in _dicts(params.get("approval")):
                    if step.get("role") == old:
                        step["role"] = new
            if action == "suggest_transfer":
                for name in ("ship", "receive"):
                    if params.get(name) == old:
                        params[name] = new
    if kind == "role":
        for role in _dicts(doc.get("roles")):
            if role.get("escalate_to") == old:
                role["escalate_to"] = new
        for group in _dicts(doc.get("sku_groups")):
            if group.get("owner") == old:
                group["owner"] = new
        for workflow in _dicts(doc.get("workflows")):
            for transition in _dicts(workflow.get("transitions")):
                roles = transition.get("roles")
                if isinstance(roles, list):
                    transition["roles"] = [new if r == old else r for r in roles]
                elif roles == old:
                    transition["roles"] = new


def _actions(rule: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    for action in _dicts(rule.get("actions")):
        if len(action) == 1:
            yield next(iter(action.items()))


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- YAML -------------------------------------------------------------------------------------

# Values written on one line: JsonLogic (conditions, group filters, formulas) and these lists.
_FLOW_KEYS = frozenset({"when", "where", "quantity", "expression"})
_FLOW_LISTS = frozenset({"on", "members", "channels", "states", "from", "roles", "options",
                         "groups", "tags", "promotion_days"})


class _Flow(dict):  # type: ignore[type-arg]
    pass


class _FlowList(list):  # type: ignore[type-arg]
    pass


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # the strict loader refuses anchors and aliases


def _flow_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> Any:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


def _flow_list(dumper: yaml.SafeDumper, data: list[Any]) -> Any:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


def _str(dumper: yaml.SafeDumper, data: str) -> Any:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(_Flow, _flow_dict)
_Dumper.add_representer(_FlowList, _flow_list)
_Dumper.add_representer(str, _str)


def _styled(value: Any, key: str | None = None, in_action: bool = False) -> Any:
    if isinstance(value, Mapping):
        if key in _FLOW_KEYS or (in_action and _flat(value)):
            return _flow_all(value)
        return {k: _styled(v, str(k), in_action) for k, v in value.items()}
    if isinstance(value, list):
        if key in _FLOW_LISTS and all(not isinstance(v, Mapping | list) for v in value):
            return _FlowList(value)
        if key in ("approval", "form", "roles") and all(_flat(v) for v in value):
            return [_flow_all(v) for v in value]
        return [_styled(v, None, key == "actions") for v in value]
    return value


def _flat(value: Any) -> bool:
    """A mapping whose values are scalars or lists of scalars: one line reads well."""
    return isinstance(value, Mapping) and all(
        not isinstance(v, Mapping) and not (isinstance(v, list) and any(
            isinstance(i, Mapping | list) for i in v)) for v in value.values())


def _flow_all(value: Any) -> Any:
    if isinstance(value, Mapping):
        return _Flow({k: _flow_all(v) for k, v in value.items()})
    if isinstance(value, list):
        return _FlowList(_flow_all(v) for v in value)
    return value


def dump_value(value: Any, key: str | None = None, in_action: bool = False,
               flow: bool = False) -> str:
    """``value`` as the YAML document ``{v: value}``, styled as ``dump_yaml`` would style it under
    ``key`` (JsonLogic on one line), or all on one line with ``flow``: what the round-trip save
    writes for an edited value."""
    styled = _flow_all(value) if flow else _styled(value, key, in_action)
    text: str = yaml.dump({"v": styled}, Dumper=_Dumper,
                          allow_unicode=True, sort_keys=False, default_flow_style=False,
                          width=1000, indent=2)
    return text


def dump_yaml(doc: Mapping[str, Any]) -> str:
    """The document as YAML: keys in document order, Chinese as is, JsonLogic on one line."""
    text: str = yaml.dump(_styled(doc), Dumper=_Dumper, allow_unicode=True, sort_keys=False,
                          default_flow_style=False, width=1000, indent=2)
    return text


# --- durations ----------------------------------------------------------------------------------

UNITS = ("m", "h", "d")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800, "s": 1}
_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def split_duration(value: Any) -> tuple[str, str]:
    """A document duration as (number, unit) for the form: "1d12h" → ("36", "h").

    Values that are not a plain duration come back as they are, in the number, so that the
    form shows them and validation explains them.
    """
    if value is None or value == "":
        return "", "h"
    if isinstance(value, timedelta):
        seconds = int(value.total_seconds())
    else:
        match = _DURATION.match(str(value).strip())
        if match is None or not any(match.groups()):
            return str(value), "h"
        seconds = sum(int(n) * _UNIT_SECONDS[u]
                      for n, u in zip(match.groups(), "wdhms", strict=True) if n)
    if seconds == 0:
        return "0", "h"
    for unit in ("d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return str(seconds // _UNIT_SECONDS[unit]), unit
    return str(value), "h"


def join_duration(number: str, unit: str) -> str | None:
    """(number, unit) from the form as a document duration: ("4", "h") → "4h"; "" → None."""
    number = (number or "").strip()
    if not number:
        return None
    if unit not in UNITS:
        unit = "h"
    return f"{number}{unit}"


# --- conditions as sentences ------------------------------------------------------------------

_COMPARE = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "===": "=", "!=": "≠",
            "!==": "≠"}
_ARITHMETIC = {"+": "+", "-": "−", "*": "×", "/": "÷", "%": "mod"}
_WORDS = {
    "zh": {"and": " 且 ", "or": " 或 ", "not": "并非", "has": "{0} 有值", "contains": "{0} 包含 {1}",
           "one_of": "{0} 是 {1} 之一", "in_text": "{1} 含有 {0}", "default": "{0}（无值时按 {1}）",
           "yes": "是", "no": "否", "null": "空", "if": "如果 {0} 则 {1}", "else": " 否则 {0}",
           "quote": "“{0}”", "sep": "、", "elif": "；否则如果 {0} 则 {1}"},
    "en": {"and": " and ", "or": " or ", "not": "not", "has": "{0} has a value",
           "contains": "{0} contains {1}", "one_of": "{0} is one of {1}",
           "in_text": "{1} contains {0}", "default": "{0} ({1} when empty)",
           "yes": "yes", "no": "no", "null": "empty", "if": "if {0} then {1}",
           "else": " else {0}", "quote": "'{0}'", "sep": ", ", "elif": "; else if {0} then {1}"},
}


def fact_label(path: str, lang: str = "zh") -> str:
    """A fact's plain name in ``lang``; an admin's own ``params.x`` as ``x``; else the path."""
    fact = FACTS.get(path) or GROUP_FACTS.get(path)
    if fact is not None:
        return (fact.label_zh if lang == "zh" else fact.label_en) or path
    if path.startswith("params."):
        return path.split(".", 1)[1]
    if path.startswith("sku.attributes."):
        return path.split(".", 2)[2]
    return path


def condition_sentence(logic: Any, lang: str = "zh") -> str:
    """JsonLogic as a sentence with plain names: ``(可用库存 < 再订货点 且 …) 或 …``."""
    return _Sentence("zh" if lang == "zh" else "en").write(logic, top=True)


def number_text(value: float) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


_PRECEDENCE = {"or": 1, "and": 1, "!": 2, "<": 3, "<=": 3, ">": 3, ">=": 3, "==": 3,
               "===": 3, "!=": 3, "!==": 3, "in": 3, "!!": 3, "if": 0, "?:": 0,
               "+": 4, "-": 4, "*": 5, "/": 5, "%": 5}


class _Sentence:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.w = _WORDS[lang]

    def write(self, logic: Any, top: bool = False, parent: str | None = None) -> str:
        if isinstance(logic, list):
            return "[" + ", ".join(self.write(i, top=True) for i in logic) + "]"
        if not isinstance(logic, Mapping) or len(logic) != 1:
            return self.literal(logic)
        op, args = next(iter(logic.items()))
        op = str(op)
        args = list(args) if isinstance(args, list) else [args]
        text = self.operation(op, args)
        if top or parent is None or op not in _PRECEDENCE:
            return text
        mine, theirs = _PRECEDENCE[op], _PRECEDENCE.get(parent, 9)
        logical = op in ("and", "or") and len(args) > 1 and parent in ("and", "or", "!")
        tight = mine < theirs or (mine == theirs and parent in ("-", "/", "%") and mine >= 4)
        return f"({text})" if logical or (tight and not (op in ("and", "or") and len(args) < 2)) \
            else text

    def literal(self, value: Any) -> str:
        if value is True:
            return self.w["yes"]
        if value is False:
            return self.w["no"]
        if value is None:
            return self.w["null"]
        if isinstance(value, int | float):
            return number_text(value)
        if isinstance(value, str):
            return self.w["quote"].format(value)
        if isinstance(value, Mapping):
            return json.dumps(value, ensure_ascii=False)
        return str(value)

    def var(self, args: list[Any]) -> str:
        name = args[0] if args else ""
        if not isinstance(name, str):
            return self.literal(name)
        label = fact_label(name, self.lang) if name else ("当前项" if self.lang == "zh" else "item")
        if len(args) > 1 and args[1] not in ("", None):
            return self.w["default"].format(label, self.literal(args[1]))
        return label

    def operation(self, op: str, args: list[Any]) -> str:
        w = self.w
        sub = [self.write(a, parent=op) for a in args]
        if op == "var":
            return self.var(args)
        if op in ("and", "or"):
            return w[op].join(sub)
        if op in _COMPARE:
            return f" {_COMPARE[op]} ".join(sub)
        if op in _ARITHMETIC:
            if op == "-" and len(args) == 1:
                return f"−{sub[0]}"
            return f" {_ARITHMETIC[op]} ".join(sub)
        if op == "!":
            return f"{w['not']} ({self.write(args[0], top=True)})" if args else w["not"]
        if op == "!!":
            return w["has"].format(sub[0] if sub else "")
        if op == "in" and len(args) == 2:
            return self.in_sentence(args)
        if op in ("if", "?:"):
            return self.if_sentence(args)
        return f"{op}({', '.join(self.write(a, top=True) for a in args)})"

    def in_sentence(self, args: list[Any]) -> str:
        needle, haystack = args
        if isinstance(haystack, list):
            items = self.w["sep"].join(self.literal(i) for i in haystack)
            return self.w["one_of"].format(self.write(needle, parent="in"), items)
        path = _var_path(haystack)
        fact = FACTS.get(path) if path else None
        if fact is not None and fact.type == "array":
            return self.w["contains"].format(self.write(haystack, parent="in"),
                                             self.write(needle, parent="in"))
        return self.w["in_text"].format(self.write(needle, parent="in"),
                                        self.write(haystack, parent="in"))

    def if_sentence(self, args: list[Any]) -> str:
        if len(args) < 2:
            return self.write(args[0]) if args else ""
        text = self.w["if"].format(self.write(args[0], top=True), self.write(args[1], top=True))
        rest = args[2:]
        while len(rest) >= 2:
            text += self.w["elif"].format(self.write(rest[0], top=True),
                                          self.write(rest[1], top=True))
            rest = rest[2:]
        if rest:
            text += self.w["else"].format(self.write(rest[0], top=True))
        return text


def _var_path(logic: Any) -> str | None:
    if isinstance(logic, Mapping) and list(logic) == ["var"]:
        name = logic["var"]
        if isinstance(name, list):
            name = name[0] if name else ""
        return name if isinstance(name, str) else None
    return None


def var_paths(logic: Any) -> list[str]:
    """The fact paths a condition reads, in order of first use, without scoped (item) vars."""
    out: list[str] = []
    stack: list[tuple[Any, bool]] = [(logic, False)]
    while stack:
        node, scoped = stack.pop()
        if isinstance(node, Mapping):
            for op, args in node.items():
                if op == "var":
                    name = _var_path(node)
                    if name and not scoped and name not in out:
                        out.append(name)
                    continue
                items = args if isinstance(args, list) else [args]
                if op in ("map", "filter", "reduce", "all", "some", "none"):
                    inner = [(a, scoped if i == 0 else True) for i, a in enumerate(items)]
                else:
                    inner = [(a, scoped) for a in items]
                stack.extend(reversed(inner))
        elif isinstance(node, list):
            stack.extend(reversed([(i, scoped) for i in node]))
    return out


# --- SKU group filters a form can build ---------------------------------------------------------

GROUP_DIMENSIONS = ("categories", "tags", "abc_classes", "regions", "warehouses", "skus")
_DIMENSION_FACT = {
    "categories": "sku.category",
    "abc_classes": "sku.abc_class",
    "regions": "warehouse.region",
    "warehouses": "warehouse.code",
    "skus": "sku.code",
}
_NULLABLE_DIMENSIONS = frozenset({"categories", "abc_classes", "regions"})


def group_where(
    categories: Sequence[str] = (),
    tags: Sequence[str] = (),
    abc_classes: Sequence[str] = (),
    regions: Sequence[str] = (),
    warehouses: Sequence[str] = (),
    skus: Sequence[str] = (),
) -> Any:
    """The JsonLogic of a group "in these categories and with one of these tags and …".

    Every ticked dimension must hold (and); within one, any value does (or). Nothing ticked:
    None, every SKU. Nullable facts read with a default of "" so that an SKU without a
    category simply does not match.
    """
    chosen = {"categories": categories, "tags": tags, "abc_classes": abc_classes,
              "regions": regions, "warehouses": warehouses, "skus": skus}
    parts: list[Any] = []
    for dimension in GROUP_DIMENSIONS:
        values = _clean(chosen[dimension])
        if not values:
            continue
        if dimension == "tags":
            tests = [{"in": [tag, {"var": "sku.tags"}]} for tag in values]
            parts.append(tests[0] if len(tests) == 1 else {"or": tests})
            continue
        path = _DIMENSION_FACT[dimension]
        var: Any = {"var": [path, ""]} if dimension in _NULLABLE_DIMENSIONS else {"var": path}
        if len(values) == 1:
            parts.append({"==": [var, values[0]]})
        else:
            parts.append({"in": [var, values]})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"and": parts}


def _clean(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        text = str(value).strip()
        if text and text not in out:
            out.append(text)
    return out


def empty_selection() -> dict[str, list[str]]:
    return {d: [] for d in GROUP_DIMENSIONS}


def describe_where(logic: Any) -> dict[str, list[str]] | None:
    """The inverse of ``group_where``: the ticked values, or None for another kind of filter.

    ``None`` (every SKU) gives an empty selection. Accepts the variants people write by hand:
    a ``var`` with or without a default, ``==`` for one value and ``in`` for several.
    """
    selection = empty_selection()
    if logic is None:
        return selection
    parts = logic["and"] if _is_op(logic, "and") and isinstance(logic["and"], list) else [logic]
    seen: set[str] = set()
    for part in parts:
        found = _dimension(part)
        if found is None or found[0] in seen:
            return None
        dimension, values = found
        seen.add(dimension)
        selection[dimension] = values
    return selection


def _is_op(logic: Any, op: str) -> bool:
    return isinstance(logic, Mapping) and list(logic) == [op]


def _dimension(part: Any) -> tuple[str, list[str]] | None:
    tags = _tags(part)
    if tags is not None:
        return "tags", tags
    if _is_op(part, "==") or _is_op(part, "in"):
        op = next(iter(part))
        args = part[op]
        if not (isinstance(args, list) and len(args) == 2):
            return None
        var, value = args
        dimension = _dimension_of(var)
        if dimension is None:
            return None
        if op == "==" and isinstance(value, str) and value:
            return dimension, [value]
        if op == "in" and isinstance(value, list) and value and all(
                isinstance(v, str) and v for v in value):
            return dimension, list(value)
    return None


def _dimension_of(var: Any) -> str | None:
    if not _is_op(var, "var"):
        return None
    name = var["var"]
    if isinstance(name, list):
        if (len(name) == 2 and name[1] in ("", None)) or len(name) == 1:
            name = name[0]
        else:
            return None
    for dimension, path in _DIMENSION_FACT.items():
        if name == path:
            return dimension
    return None


def _tags(part: Any) -> list[str] | None:
    tests = part["or"] if _is_op(part, "or") and isinstance(part["or"], list) else [part]
    out: list[str] = []
    for test in tests:
        if not _is_op(test, "in"):
            return None
        args = test["in"]
        if not (isinstance(args, list) and len(args) == 2 and isinstance(args[0], str)
                and args[0] and _var_path(args[1]) == "sku.tags"):
            return None
        out.append(args[0])
    return out or None
