"""A form field spec → a widget descriptor the web templates draw (no HTML here)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from forms.fields import FieldSpec

INPUT_KINDS = {
    "text": "text",
    "textarea": "textarea",
    "number": "number",
    "integer": "number",
    "select": "select",
    "date": "date",
    "boolean": "checkbox",
}
_STEPS: dict[str, str | int] = {"number": "any", "integer": 1}


def widget(spec: FieldSpec) -> dict[str, Any]:
    """What an input for ``spec`` needs: name, label, kind, choices, bounds, step and help.

    ``min``/``max`` are the spec's bounds for numbers and None otherwise; ``choices`` are
    ``{"value", "label"}`` pairs (the option is its own label until options carry translations).
    """
    numeric = spec.type in ("number", "integer")
    return {
        "name": spec.name,
        "label": spec.label or spec.name,
        "input": INPUT_KINDS.get(spec.type, "text"),
        "choices": [{"value": o, "label": o} for o in spec.options]
        if spec.type == "select"
        else [],
        "required": spec.required,
        "min": spec.min if numeric else None,
        "max": spec.max if numeric else None,
        "step": _STEPS.get(spec.type),
        "max_length": spec.max_length if spec.type in ("text", "textarea") else None,
        "help": spec.help,
    }


def widgets(specs: Iterable[FieldSpec]) -> list[dict[str, Any]]:
    """The widgets of a whole form, in the form's order."""
    return [widget(spec) for spec in specs]
