"""A transition's form (FieldSpecs) → a marshmallow schema; answers → clean data or errors.

Answers may come from JSON or from an HTML form, where everything is text: "12" is a valid
number, "on" a valid boolean, and an empty (or blank) string means "not given". Messages are
plain sentences naming the field by its label: "'数量' must be at least 0".
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields

from forms.fields import FieldSpec

DEFAULT_MAX_LENGTH = {"text": 1_000, "textarea": 10_000, "select": 1_000}

Validator = Callable[[Any], None]


def validate_form(
    specs: tuple[FieldSpec, ...], data: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean answers (numbers as numbers, dates as ISO text) and one message per invalid field.

    An optional field left empty is absent from the clean data, except a boolean, which is then
    False (an unticked HTML checkbox sends nothing; a *required* boolean must be sent, as an HTML
    ``required`` checkbox must be ticked). Fields the form does not have are refused. Valid
    answers are returned even when other fields have errors, so a form can be shown again.
    """
    known = {spec.name for spec in specs}
    errors = {key: _unknown_message(key, known) for key in data if key not in known}
    given = {k: _given(v) for k, v in data.items() if k in known and not _is_blank(v)}
    try:
        clean = _schema(tuple(specs)).load(given)
    except ValidationError as exc:
        clean = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        messages = exc.messages if isinstance(exc.messages, dict) else {"_form": exc.messages}
        errors.update(_first_messages(messages))
    return {k: _plain(v) for k, v in clean.items() if k not in errors}, errors


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _plain(value: Any) -> Any:
    # Clean data goes to JSON storage and the API as is: dates as ISO text.
    return value.isoformat() if isinstance(value, date) else value


def _given(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()  # as Django's CharField: surrounding blanks are never meant
    # A date object from Python callers; marshmallow's Date only parses text.
    return value.isoformat() if type(value) is date else value


def _unknown_message(key: str, known: set[str]) -> str:
    close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"'{key}' is not a field of this form{hint}"


def _first_messages(messages: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in messages.items():
        while isinstance(value, list | dict):
            value = value[0] if isinstance(value, list) else next(iter(value.values()))
        out[str(key)] = str(value)
    return out


@lru_cache(maxsize=256)
def _schema(specs: tuple[FieldSpec, ...]) -> Schema:
    """One schema class per distinct form, built once (FieldSpecs are frozen and hashable)."""
    schema_class = Schema.from_dict({spec.name: _field(spec) for spec in specs}, name="FormSchema")
    return schema_class(unknown=RAISE)


def _field(spec: FieldSpec) -> fields.Field:
    label = spec.label or spec.name
    messages = {
        "required": f"'{label}' is required",
        "null": f"'{label}' is required",
        "invalid": f"'{label}' {_INVALID[spec.type]}",
        "special": f"'{label}' must be a finite number",
        "too_large": f"'{label}' is too large",
    }
    messages = {k: v.replace("{", "{{").replace("}", "}}") for k, v in messages.items()}
    kwargs: dict[str, Any] = {
        "required": spec.required,
        "error_messages": messages,
        "validate": _validators(spec, label),
    }
    if spec.type == "boolean" and not spec.required:
        kwargs["load_default"] = False  # an unticked checkbox sends nothing
    return _FIELD_CLASSES[spec.type](**kwargs)


class _WholeNumber(fields.Integer):
    """An integer that refuses 12.5 instead of truncating it to 12 (marshmallow's non-strict)."""

    def _validated(self, value: Any) -> Any:
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class _FiniteFloat(fields.Float):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)


_FIELD_CLASSES: dict[str, Callable[..., fields.Field]] = {
    "text": fields.String,
    "textarea": fields.String,
    "select": fields.String,
    "number": _FiniteFloat,
    "integer": _WholeNumber,
    "date": fields.Date,
    "boolean": fields.Boolean,
}
_INVALID = {
    "text": "must be text",
    "textarea": "must be text",
    "select": "must be text",
    "number": "must be a number",
    "integer": "must be a whole number",
    "date": "must be a date written as YYYY-MM-DD",
    "boolean": "must be yes or no",
}


def _validators(spec: FieldSpec, label: str) -> list[Validator]:
    out: list[Validator] = []
    if spec.type in DEFAULT_MAX_LENGTH:
        out.append(_max_length(label, spec.max_length or DEFAULT_MAX_LENGTH[spec.type]))
    if spec.type == "select":
        out.append(_one_of(label, spec.options))
    if spec.type in ("number", "integer") and (spec.min is not None or spec.max is not None):
        out.append(_in_range(label, spec.min, spec.max))
    return out


def _max_length(label: str, limit: int) -> Validator:
    def check(value: str) -> None:
        if len(value) > limit:
            raise ValidationError(f"'{label}' must be at most {limit:,} characters long")

    return check


def _one_of(label: str, options: tuple[str, ...]) -> Validator:
    def check(value: str) -> None:
        if value not in options:
            raise ValidationError(f"'{label}' must be one of {', '.join(options)}")

    return check


def _in_range(label: str, low: float | None, high: float | None) -> Validator:
    if low is not None and high is not None:
        message = f"'{label}' must be between {_show(low)} and {_show(high)}"
    elif low is not None:
        message = f"'{label}' must be at least {_show(low)}"
    else:
        message = f"'{label}' must be at most {_show(high)}"

    def check(value: float) -> None:
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValidationError(message)

    return check


def _show(number: float | None) -> str:
    if number is not None and math.isfinite(number) and float(number).is_integer():
        return str(int(number))
    return str(number)
