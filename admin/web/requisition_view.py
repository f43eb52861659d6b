"""A requisition for people: the quantity's reasoning and its history in the viewer's language.

The rule writes its reasoning as one English line (``order_up_to: asked 11.00, rounded to 500
(MOQ 500, pack 10)``, engine/actions/create_requisition.py); here it becomes a sentence in
Chinese or English with the policy's name. A line of another shape is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.web.pages import money, number

POLICY_LABELS = {
    "order_up_to": _l("order up to the maximum stock (maximum stock − inventory position)"),
    "eoq": _l("economic order quantity"),
    "fixed": _l("a fixed quantity"),
    "expression": _l("the rule's own formula"),
}
_REASON = re.compile(r"^(?P<policy>\w+): asked (?P<raw>-?[\d.]+), rounded to (?P<qty>-?[\d.e+]+)"
                     r"(?: \(MOQ (?P<moq>[\d.e+]+), pack (?P<pack>[\d.e+]+)\))?$")


_TRANSFERS = re.compile(r"; less (?P<qty>[\d.e+]+) coming by open transfers$")


def reasoning(reason: str | None) -> str:
    """The rule's reasoning line as a sentence in the viewer's language; what open transfers
    bring (issue #19: engine/actions/transfer_cover.py) as a sentence of its own."""
    if not reason:
        return ""
    transfers = _TRANSFERS.search(reason.strip())
    if transfers is not None:
        main = reasoning(reason.strip()[:transfers.start()])
        return main + " " + _("Open transfers bring %(qty)s, which it does not order again.",
                              qty=number(float(transfers["qty"])))
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
    app.jinja_env.globals.update(requisition_reasoning=reasoning,
                                 requisition_history_rows=history_rows)
