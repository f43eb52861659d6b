"""A requisition for people: the quantity's reasoning and its history in the viewer's language.

The rule writes its reasoning as one English line (``order_up_to: asked 11.00, rounded to 500
(MOQ 500, pack 10)``, engine/actions/create_requisition.py); here it becomes a sentence in
Chinese or English with the policy's name. A line of another shape is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.web.pages import money, number, when

POLICY_LABELS = {
    "order_up_to": _l("order up to the maximum stock (maximum stock − inventory position)"),
    "eoq": _l("economic order quantity"),
    "fixed": _l("a fixed quantity"),
    "expression": _l("the rule's own formula"),
}
_REASON = re.compile(r"^(?P<policy>\w+): asked (?P<raw>-?[\d.]+), rounded to (?P<qty>-?[\d.e+]+)"
                     r"(?: \(MOQ (?P<moq>[\d.e+]+), pack (?P<pack>[\d.e+]+)\))?$")


# Clauses a requisition's reasoning may carry after "; " (issue #19): why it went to another
# supplier, and which open orders it did not count on.
_CLAUSES: list[tuple[re.Pattern[str], Any]] = [
    # what open transfers bring (engine/actions/transfer_cover.py)
    (re.compile(r"^less (?P<qty>[\d.e+]+) coming by open transfers$"),
     lambda m: _("Open transfers bring %(qty)s, which it does not order again.",
                 qty=number(float(m["qty"])))),
    (re.compile(r"^fallback (?P<to>\S+) for (?P<of>\S+): unavailable$"),
     lambda m: _("Ordered from %(to)s instead of %(of)s, which is marked unavailable.",
                 to=m["to"], of=m["of"])),
    (re.compile(r"^fallback (?P<to>\S+) for (?P<of>\S+): late (?P<days>[\d.]+) days "
                r"\(threshold (?P<limit>[\d.]+)\)$"),
     lambda m: _("Ordered from %(to)s instead of %(of)s, which is %(days)s days late on an open "
                 "order (more than %(limit)s).", to=m["to"], of=m["of"],
                 days=number(float(m["days"])), limit=number(float(m["limit"])))),
    (re.compile(r"^fallback (?P<to>\S+) for (?P<of>\S+): lands (?P<lands>[\d-]+) after "
                r"stock-out (?P<out>[\d-]+)$"),
     lambda m: _("Ordered from %(to)s instead of %(of)s, whose delivery (%(lands)s) would come "
                 "after the projected stock-out (%(out)s).", to=m["to"], of=m["of"],
                 lands=m["lands"], out=m["out"])),
    (re.compile(r"^not counted: (?P<qty>[\d.e+]+) on order landing after the stock-out on "
                r"(?P<out>[\d-]+)$"),
     lambda m: _("%(qty)s already on order were not counted: they arrive after the projected "
                 "stock-out on %(out)s.", qty=number(float(m["qty"])), out=m["out"])),
]


# Why a requisition action did nothing (the alert's explanation), in the viewer's language.
_SKIPPED: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"^open requisitions already cover the shortage \(inventory position "
                r"(?P<pos>-?[\d.e+]+) ≥ reorder point (?P<rop>-?[\d.e+]+)(?P<own>, and the "
                r"rule's condition no longer holds once they arrive)?\)$"),
     lambda m: _("Open requisitions already cover the shortage: the inventory position %(pos)s "
                 "is at or above the reorder point %(rop)s, and the rule's condition no longer "
                 "holds once they arrive.", pos=number(float(m["pos"])),
                 rop=number(float(m["rop"])))),
    (re.compile(r"^no supplier '(?P<s>[^']+)' is linked to this SKU$"),
     lambda m: _("No supplier “%(s)s” is linked to this SKU.", s=m["s"])),
    (re.compile(r"^nothing to order(?:: the policy's quantity is not above 0)?$"),
     lambda m: _("Nothing to order: the policy's quantity is not above 0.")),
]


def skipped_reason(text: str) -> str:
    """An action's reason for doing nothing in the viewer's language (as it is when unknown)."""
    for pattern, say in _SKIPPED:
        found = pattern.match(str(text).strip())
        if found is not None:
            return str(say(found))
    head, *clauses = str(text).strip().split("; ")  # e.g. what open transfers bring
    if clauses and head != str(text).strip():
        said = skipped_reason(head)
        if said != head:
            return " ".join([said, *(clause(c) for c in clauses)])
    return str(text)


def clause(text: str) -> str:
    """One "; " clause of a reasoning line in the viewer's language (as it is when unknown)."""
    for pattern, say in _CLAUSES:
        found = pattern.match(text.strip())
        if found is not None:
            return str(say(found))
    return text


def reasoning(reason: str | None) -> str:
    """The rule's reasoning line as a sentence in the viewer's language; what open transfers
    bring (issue #19: engine/actions/transfer_cover.py) as a sentence of its own."""
    if not reason:
        return ""
    head, *clauses = reason.strip().split("; ")
    said = _quantity(head)
    return " ".join([said, *(clause(c) for c in clauses)])


def _quantity(reason: str) -> str:
    found = _REASON.match(reason.strip())
    if found is None:
        return reason
    policy = str(POLICY_LABELS.get(found["policy"], found["policy"]))
    raw, qty = float(found["raw"]), float(found["qty"])
    if found["moq"] is None:
        return _("By %(policy)s the need is %(raw)s; ordered %(qty)s.", policy=policy,
                 raw=number(raw), qty=number(qty))
    if raw == qty:
        return _("By %(policy)s the need is %(raw)s, which meets the supplier's minimum order "
                 "of %(moq)s and pack size of %(pack)s.", policy=policy, raw=number(raw),
                 moq=number(float(found["moq"])), pack=number(float(found["pack"])))
    return _("By %(policy)s the need is %(raw)s; rounded up to %(qty)s for the supplier's "
             "minimum order of %(moq)s and pack size of %(pack)s.", policy=policy,
             raw=number(raw), qty=number(qty), moq=number(float(found["moq"])),
             pack=number(float(found["pack"])))


HISTORY_KEYS = {
    "reason": _l("Reason"), "note": _l("Note"), "ref": _l("ERP purchase order number"),
    "alert": _l("Alert"), "event": _l("Event"), "quantity": _l("Quantity"),
    "supplier": _l("Supplier"), "amount": _l("Amount"), "asked": _l("Asked"),
    "moq": _l("MOQ"), "pack": _l("Pack size"), "level": _l("Approval level"),
    "of": _l("Levels"), "next": _l("Next approver"), "purchase_order": _l("Purchase order"),
    "eta": _l("Expected arrival"), "delay_days": _l("Days late"),
}


def history_rows(entry: Mapping[str, Any], role_names: Mapping[str, str]) -> list[Any]:
    """A history line's data as (label, text): before → after for edits, roles by name."""
    data = dict(entry.get("data") or {})
    rows = []
    if "level" in data and "of" in data:
        rows.append((str(HISTORY_KEYS["level"]), f"{data.pop('level')} / {data.pop('of')}"))
    for key, value in data.items():
        label = str(HISTORY_KEYS.get(key, key))
        if key == "reason" and entry.get("transition") == "create":
            text = reasoning(str(value))
        elif key == "next":
            text = role_names.get(str(value), str(value))
        elif key == "eta" and isinstance(value, list) and len(value) == 2:
            text = " → ".join(when(datetime.fromisoformat(v)) for v in value)
        elif isinstance(value, list) and len(value) == 2:
            show = money if key == "amount" else (lambda v: number(v) if isinstance(
                v, int | float) else (v or "—"))
            text = f"{show(value[0])} → {show(value[1])}"
        elif key in ("alert", "purchase_order", "event"):
            text = f"#{value}" if key != "event" else str(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            text = number(value)
        else:
            text = str(value)
        rows.append((label, text))
    return rows


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(requisition_reasoning=reasoning, skipped_reason=skipped_reason,
                                 requisition_history_rows=history_rows)
