"""What changed between two rule documents, as sentences an admin reads (#17).

The version history showed a raw YAML diff: correct, but an admin wants "rule 'x' added",
"rule 'x': severity high → critical", "role 'buyer': escalates to manager → director". Items of
the rules, groups, roles, workflows and calendars are matched by id, so a moved item or a
changed comment says nothing, and a condition is shown as the editor's sentence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine.rules.editing import condition_sentence

SECTIONS = {  # document key: (zh, en) of one item
    "rules": ("规则", "rule"), "sku_groups": ("SKU 分组", "SKU group"), "roles": ("角色", "role"),
    "workflows": ("流程", "workflow"), "calendars": ("日历", "calendar"),
}
FIELDS = {  # a field's (zh, en) name; others are shown as their key
    "name": ("名称", "name"), "description": ("说明", "description"),
    "when": ("条件", "condition"), "where": ("筛选条件", "filter"),
    "severity": ("严重程度", "severity"), "owner": ("负责角色", "owner"),
    "cooldown": ("冷却时间", "cooldown"), "actions": ("动作", "actions"),
    "group": ("分组", "group"), "groups": ("分组", "groups"), "on": ("触发事件", "events"),
    "enabled": ("启用", "enabled"), "auto_resolve": ("自动解除", "auto-resolve"),
    "params": ("参数", "parameters"), "members": ("成员", "members"),
    "channels": ("通知渠道", "channels"), "escalate_to": ("升级给", "escalates to"),
    "states": ("状态", "states"), "initial": ("初始状态", "initial state"),
    "transitions": ("流转", "transitions"), "settings": ("全局设置", "settings"),
    "ruleset": ("规则集名称", "ruleset name"),
    # an action's fields
    "digest": ("摘要", "digest"), "to": ("发送给", "to"), "title": ("标题", "title"),
    "workflow": ("流程", "workflow"), "template": ("内容模板", "template"),
    "quantity": ("数量", "quantity"), "due": ("期限", "due"), "supplier": ("供应商", "supplier"),
}
ACTIONS = {  # an action's (zh, en) name
    "create_task": ("创建待办", "create a task"), "create_requisition": ("生成采购申请", "raise a requisition"),
    "notify": ("发送通知", "send a notice"), "escalate": ("升级", "escalate"),
    "suggest_transfer": ("建议调拨", "suggest a transfer"),
}
CONDITIONS = frozenset({"when", "where"})
MAX_VALUE = 120


def describe(old: Mapping[str, Any] | None, new: Mapping[str, Any], lang: str = "zh") -> list[str]:
    """Sentences for every change from ``old`` to ``new`` (everything added when ``old`` is
    None), in ``lang`` ("zh" or "en")."""
    zh = lang == "zh"
    old = old or {}
    out: list[str] = []
    for key in _keys(old, new):
        if key in SECTIONS:
            out += _section(key, old.get(key) or [], new.get(key) or [], zh)
        elif key == "settings":
            out += _fields(_label("settings", zh), old.get(key) or {}, new.get(key) or {}, zh)
        elif old.get(key) != new.get(key):
            out.append(_change(_label(key, zh), key, old.get(key), new.get(key), zh))
    return out


def _section(key: str, old: list[Any], new: list[Any], zh: bool) -> list[str]:
    kind = SECTIONS[key][0 if zh else 1]
    before = {str(i.get("id")): i for i in old if isinstance(i, Mapping)}
    after = {str(i.get("id")): i for i in new if isinstance(i, Mapping)}
    out = []
    for item_id, item in after.items():
        name = _name(kind, item_id, item, zh)
        if item_id not in before:
            out.append(f"新增{name}" if zh else f"{name} added")
        elif before[item_id] != item:
            out += _fields(name, before[item_id], item, zh)
    for item_id, item in before.items():
        if item_id not in after:
            name = _name(kind, item_id, item, zh)
            out.append(f"删除{name}" if zh else f"{name} removed")
    return out


def _name(kind: str, item_id: str, item: Mapping[str, Any], zh: bool) -> str:
    label = item.get("name")
    if zh:
        return f"{kind}「{label}」（{item_id}）" if label and label != item_id else f"{kind}「{item_id}」"
    return f"{kind} '{label}' ({item_id})" if label and label != item_id else f"{kind} '{item_id}'"


def _fields(name: str, old: Mapping[str, Any], new: Mapping[str, Any], zh: bool) -> list[str]:
    out = []
    for k in _keys(old, new):
        if old.get(k) == new.get(k):
            continue
        if k == "actions" and isinstance(old.get(k), list) and isinstance(new.get(k), list):
            out += _actions(name, old[k], new[k], zh)
            continue
        out.append(_change(f"{name}：{_label(k, zh)}" if zh else f"{name}: {_label(k, zh)}", k,
                           old.get(k), new.get(k), zh))
    return out


def _actions(name: str, old: list[Any], new: list[Any], zh: bool) -> list[str]:
    """A rule's actions compared one by one: "action 2 (send a notice): daily digest set to
    daily", not the whole list as data."""
    out = []
    for index in range(max(len(old), len(new))):
        before = old[index] if index < len(old) else None
        after = new[index] if index < len(new) else None
        if before == after:
            continue
        either = after if after is not None else before
        kind = next(iter(either), "") if isinstance(either, Mapping) else ""
        label = ACTIONS.get(kind, (kind, kind))[0 if zh else 1]
        what = f"{name}：动作 {index + 1}（{label}）" if zh else \
            f"{name}: action {index + 1} ({label})"
        if before is None or after is None or next(iter(before), None) != next(iter(after), None):
            out.append(_change(what, "actions", before, after, zh))
            continue
        old_f, new_f = before[kind] or {}, after[kind] or {}
        if not isinstance(old_f, Mapping) or not isinstance(new_f, Mapping):
            out.append(_change(what, "actions", old_f, new_f, zh))
            continue
        out += [_change(f"{what}：{_label(k, zh)}" if zh else f"{what}: {_label(k, zh)}", k,
                        old_f.get(k), new_f.get(k), zh)
                for k in _keys(old_f, new_f) if old_f.get(k) != new_f.get(k)]
    return out


def _change(what: str, key: str, old: Any, new: Any, zh: bool) -> str:
    if old is None:
        return f"{what} 设为 {_text(key, new, zh)}" if zh else f"{what} set to {_text(key, new, zh)}"
    if new is None:
        return f"{what} 已移除（原为 {_text(key, old, zh)}）" if zh else \
            f"{what} removed (was {_text(key, old, zh)})"
    return f"{what}：{_text(key, old, zh)} → {_text(key, new, zh)}" if zh else \
        f"{what}: {_text(key, old, zh)} → {_text(key, new, zh)}"


def _text(key: str, value: Any, zh: bool) -> str:
    if key in CONDITIONS:
        try:
            return condition_sentence(value, "zh" if zh else "en")
        except Exception:  # a condition the sentence writer does not know: shown as data
            pass
    if isinstance(value, bool):
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    if isinstance(value, str):
        return {"daily": "每日"}.get(value, value) if zh and key == "digest" else value
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        text = ("、" if zh else ", ").join(str(v) for v in value)
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _label(key: str, zh: bool) -> str:
    pair = FIELDS.get(key)
    return pair[0 if zh else 1] if pair else key


def _keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    return list(new) + [k for k in old if k not in new]
