"""What a task page shows besides the workflow: answers by their labels, then and now (issue #18).

Saved answers and history lines read as the form asked them: the field's label and the chosen
option's label in the viewer's language, never the stored code (``replenished``). Beside the
numbers the alert saw, the same numbers as the rules would see them now.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from admin.web.explain import fact_label, show
from admin.web.i18n import language
from engine.rules.compiled import Workflow
from forms.fields import FieldSpec

# History data that is no form answer (created, claimed, escalated …), by key.
DATA_LABELS = {
    "assignee": _l("Assignee"), "before": _l("Before"), "alert": _l("Alert"),
    "rule": _l("Rule"), "from_role": _l("From role"), "to_role": _l("To role"),
    "level": _l("Level"), "reason": _l("Reason"), "note": _l("Note"), "event": _l("Event"),
    "ref": _l("ERP purchase order number"), "quantity": _l("Quantity"),
    "supplier": _l("Supplier"), "purchase_order": _l("Purchase order"),
}
# Why the engine moved a task (an escalation's ``reason``), by code.
REASONS = {"overdue": _l("overdue")}
# The numbers compared "then and now", in this order.
THEN_AND_NOW = ("stock.on_hand", "stock.reserved", "stock.available", "stock.on_order",
                "stock.inventory_position", "metrics.avg_daily_demand", "metrics.reorder_point",
                "metrics.days_of_cover")


def _specs(workflow: Workflow | None, transition: str | None) -> dict[str, FieldSpec]:
    if workflow is None:
        return {}
    steps = [workflow.transition(transition)] if transition else list(workflow.transitions)
    out: dict[str, FieldSpec] = {}
    for step in steps:
        for spec in step.form if step else ():
            out.setdefault(spec.name, spec)
    return out


def answer_rows(workflow: Workflow | None, data: Mapping[str, Any] | None,
                transition: str | None = None) -> list[tuple[str, str]]:
    """``data`` as (label, value) rows: form answers by the form's labels, the rest by ours."""
    specs = _specs(workflow, transition)
    rows = []
    for key, value in (data or {}).items():
        spec = specs.get(key)
        if spec is not None:
            text = spec.choice_label(value, language()) if spec.type == "select" else show(value)
            rows.append((spec.label or key, text))
        elif key in DATA_LABELS:
            rows.append((str(DATA_LABELS[key]), _known(key, value)))
        else:
            rows.append((key, show(value)))
    return rows


def _known(key: str, value: Any) -> str:
    from admin.web.pages import rule_label
    from admin.web.session import role_names

    if value is None:
        return "—"
    if key in ("from_role", "to_role"):
        return role_names().get(str(value), str(value))
    if key == "rule":
        return rule_label(str(value))
    if key == "reason" and value in REASONS:
        return str(REASONS[value])
    return show(value)


def then_and_now(facts: Mapping[str, Any], now: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Rows of (label, at the alert, now, changed) for the stock and replenishment numbers."""
    rows = []
    for path in THEN_AND_NOW:
        root, key = path.split(".", 1)
        then = (facts.get(root) or {}).get(key)
        current = ((now or {}).get(root) or {}).get(key)
        if then is None and current is None:
            continue
        rows.append({"label": fact_label(path), "then": show(then),
                     "now": show(current) if now is not None else "—",
                     "changed": now is not None and then != current})
    return rows


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(answer_rows=answer_rows)
