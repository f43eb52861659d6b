"""A form field as a rule document declares it (SPEC §3, a workflow transition's ``form``)."""

from __future__ import annotations

from dataclasses import dataclass

FIELD_TYPES = ("text", "textarea", "number", "integer", "select", "date", "boolean")


@dataclass(frozen=True)
class FieldSpec:
    """One input of a task form: name, label, type and the constraints an answer must meet."""

    name: str
    label: str = ""
    type: str = "text"
    required: bool = False
    options: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    max_length: int | None = None
    help: str = ""
