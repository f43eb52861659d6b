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
    ``{"value", "label", "labels"}``: ``label`` is the plain label (or the value), ``labels``
    the label per language (``{"zh": …, "en": …}``) when the document gives them.
    """
    numeric = spec.type in ("number", "integer")
    return {
        "name": spec.name,
        "label": spec.label or spec.name,
        "input": INPUT_KINDS.get(spec.type, "text"),
        "choices": [_choice(spec, o) for o in spec.options] if spec.type == "select" else [],
        "required": spec.required,
        "min": spec.min if numeric else None,
        "max": spec.max if numeric else None,
        "step": _STEPS.get(spec.type),
        "max_length": spec.max_length if spec.type in ("text", "textarea") else None,
        "help": spec.help,
    }


def _choice(spec: FieldSpec, value: str) -> dict[str, Any]:
    found = next((c for c in spec.choices if c.value == value), None)
    labels = dict(found.labels) if found else {}
    return {"value": value, "label": labels.pop("", None) or (found.label() if found else value),
            "labels": labels}


def widgets(specs: Iterable[FieldSpec]) -> list[dict[str, Any]]:
    """The widgets of a whole form, in the form's order."""
    return [widget(spec) for spec in specs]
