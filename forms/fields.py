"""A form field as a rule document declares it (SPEC §3, a workflow transition's ``form``)."""

from __future__ import annotations

from dataclasses import dataclass

FIELD_TYPES = ("text", "textarea", "number", "integer", "select", "date", "boolean")


@dataclass(frozen=True)
class Choice:
    """One option of a select field: the stored ``value`` and its label per language.

    ``labels`` is ``(("zh", "已补货"), ("en", "Replenished"))``; a plain label is stored under
    ``""`` (any language). A tuple of pairs, not a dict, keeps the spec hashable.
    """

    value: str
    labels: tuple[tuple[str, str], ...] = ()

    def label(self, language: str = "") -> str:
        """The label in ``language``, else the plain one, else any, else the value."""
        found = dict(self.labels)
        return found.get(language) or found.get("") or next(iter(found.values()), self.value)


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
    choices: tuple[Choice, ...] = ()  # the options with their labels, when the document gives any

    def choice_label(self, value: object, language: str = "") -> str:
        """How an answer of this field reads: its option's label, else the value as text."""
        for choice in self.choices:
            if choice.value == value:
                return choice.label(language)
        return str(value)
