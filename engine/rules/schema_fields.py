"""Strict marshmallow fields for rule documents, whose errors read as plain sentences.

Messages carry placeholders filled in when they are flattened into problems (``schema.py``):
``$field`` (the field's name), ``$path`` (its full location) and ``$raw(default)`` (a yes/no
value as it was written). Each message starts with a stable code and ``CODE_SEP``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import ValidationError, fields

from engine.rules.durations import DurationError, parse_duration
from engine.rules.problems import did_you_mean

CODE_SEP = "\x1f"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
SUPPLIER_WORDS = ("preferred", "backup", "fastest", "cheapest")  # compiled.SUPPLIER_CHOICES


def msg(code: str, text: str) -> str:
    """A message with its code, as the flattening step expects."""
    return f"{code}{CODE_SEP}{text}"


def fail(code: str, text: str) -> ValidationError:
    return ValidationError(msg(code, text))


def describe(value: Any) -> str:
    """How a value reads in a sentence: ``'urgent'``, ``the number 5``, ``a yes/no value``."""
    if isinstance(value, bool):
        return "a yes/no value"
    if isinstance(value, int | float):
        return f"the number {value:g}"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"'{value[:60]}...'" if len(value) > 60 else f"'{value}'"
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return f"a date ({value.isoformat()})"
    if isinstance(value, Mapping):
        return "a set of 'name: value' entries"
    if isinstance(value, Sequence):
        return "a list"
    return f"a {type(value).__name__} value"


def _not_text(value: Any) -> str:
    if isinstance(value, bool):
        written = f"$raw({str(value).lower()})"  # the text as written, when the source knows it
        return msg(
            "type", f"'$field' must be text; got a yes/no value — write \"{written}\" in quotes"
        )
    if isinstance(value, int | float | dt.date):
        shown = value.isoformat() if isinstance(value, dt.date) else f"{value:g}"
        return msg(
            "type", f"'$field' must be text; got {describe(value)} — write \"{shown}\" in quotes"
        )
    return msg("type", f"'$field' must be text; got {describe(value)}")


class Friendly(fields.Field):
    """Base field: missing and empty values explained in plain words."""

    default_error_messages = {
        "required": msg("required", "'$field' is required"),
        "null": msg("required", "'$field' has no value; give it one or remove the line"),
    }


class Text(Friendly):
    def __init__(self, *, max_length: int = 200, allow_empty: bool = False, **kw: Any) -> None:
        super().__init__(**kw)
        self.max_length = max_length
        self.allow_empty = allow_empty

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError(_not_text(value))
        if not value.strip() and not self.allow_empty:
            raise fail("required", "'$field' must not be empty")
        if len(value) > self.max_length:
            raise fail(
                "too_long",
                f"'$field' is too long: {len(value)} characters; the limit is {self.max_length}",
            )
        return value


class Id(Text):
    """A short machine name: ``fast-movers``, ``purchasing-manager``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        text = super()._deserialize(value, attr, data, **kw)
        if not ID_PATTERN.match(text):
            raise fail(
                "invalid_id",
                "'$field' must be an id of lowercase letters, digits, '-' and '_', starting with "
                f"a letter or digit, at most 64 characters; got {describe(text)}",
            )
        return text


class Name(Text):
    """A key other parts refer to by name (a form field, a custom setting)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        text = super()._deserialize(value, attr, data, **kw)
        if not NAME_PATTERN.match(text):
            raise fail(
                "invalid_name",
                "'$field' must be a name of letters, digits and '_', starting with a letter, "
                f"at most 64 characters; got {describe(text)}",
            )
        return text


class Choice(Text):
    def __init__(self, choices: Sequence[str], **kw: Any) -> None:
        super().__init__(**kw)
        self.choices = tuple(choices)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        if isinstance(value, str) and value in self.choices:
            return value
        hint = did_you_mean(value, self.choices) if isinstance(value, str) else ""
        raise fail(
            "invalid_choice",
            f"'$field' must be one of {', '.join(self.choices)}; got {describe(value)}{hint}",
        )


class Bool(Friendly):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> bool:
        if not isinstance(value, bool):
            raise fail("type", f"'$field' must be true or false; got {describe(value)}")
        return value


class Number(Friendly):
    """A finite number within bounds; text such as ``"5"`` is refused, not converted."""

    def __init__(
        self,
        *,
        low: float | None = None,
        high: float | None = None,
        above: float | None = None,
        integer: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.low, self.high, self.above, self.integer = low, high, above, integer

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> float | int:
        kind = "a whole number" if self.integer else "a number"
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value):
            raise fail("type", f"'$field' must be {kind}; got {describe(value)}")
        if self.integer and value != int(value):
            raise fail("type", f"'$field' must be a whole number; got {value:g}")
        self._check_range(value)
        return int(value) if self.integer else value

    def _check_range(self, value: float) -> None:
        if self.above is not None and value <= self.above:
            raise fail("out_of_range", f"'$field' must be more than {self.above:g}; got {value:g}")
        low_bad = self.low is not None and value < self.low
        high_bad = self.high is not None and value > self.high
        if not (low_bad or high_bad):
            return
        if self.low is not None and self.high is not None:
            bounds = f"between {self.low:g} and {self.high:g}"
        elif self.low is not None:
            bounds = f"at least {self.low:g}"
        else:
            bounds = f"at most {self.high:g}"
        raise fail("out_of_range", f"'$field' must be {bounds}; got {value:g}")


class Duration(Friendly):
    def __init__(self, *, allow_zero: bool = True, **kw: Any) -> None:
        super().__init__(**kw)
        self.allow_zero = allow_zero

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> dt.timedelta:
        try:
            return parse_duration(value, allow_zero=self.allow_zero)
        except DurationError as err:
            raise fail("bad_duration", f"'$field' {err.reason}") from None


class Logic(Friendly):
    """A raw JsonLogic value; checked later by ``jsonlogic.check``, here only for JSON types."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> Any:
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, Mapping):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif not (item is None or isinstance(item, str | int | float)):
                raise fail(
                    "type",
                    f"'$field' contains {describe(item)}, which a condition cannot use; "
                    "write dates and times in quotes",
                )
        return value


class ListOf(Friendly):
    """A list whose items are checked one by one; every item's problem is kept, by index.

    Invalid items stay in the partial result as ``None`` so that later stages see the same
    indexes as the document.
    """

    def __init__(
        self, inner: fields.Field, *, single: bool = False, min_items: int = 0, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.inner = inner
        self.single = single  # a lone value stands for a list of one
        self.min_items = min_items

    def _bind_to_schema(self, field_name: str, parent: Any) -> None:
        super()._bind_to_schema(field_name, parent)
        self.inner._bind_to_schema(field_name, self)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> list[Any]:
        if self.single and not isinstance(value, list | Mapping) and value is not None:
            value = [value]
        if not isinstance(value, list):
            raise fail("type", f"'$field' must be a list; got {describe(value)}")
        if len(value) < self.min_items:
            entries = "entry" if self.min_items == 1 else "entries"
            raise fail("required", f"'$field' must list at least {self.min_items} {entries}")
        out, errors = [], {}
        for index, item in enumerate(value):
            try:
                out.append(self.inner.deserialize(item, **kw))
            except ValidationError as err:
                out.append(err.valid_data if isinstance(err.valid_data, dict) else None)
                errors[index] = err.messages
        if errors:
            raise ValidationError(errors, valid_data=out)
        return out


class Section(fields.Nested):
    """A nested part of the document (``settings``, one rule)."""

    default_error_messages = {
        "required": msg("required", "'$field' is required"),
        "null": msg("required", "'$field' has no value; give it one or remove the line"),
        "type": msg("type", "'$field' must be a set of 'name: value' entries"),
    }


class Timezone(Text):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        text = super()._deserialize(value, attr, data, **kw)
        try:
            zoneinfo.ZoneInfo(text)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            hint = did_you_mean(text, zoneinfo.available_timezones())
            raise fail(
                "invalid_timezone",
                f"'$field' must be a time zone name such as Asia/Shanghai or Europe/Berlin; "
                f"got {describe(text)}{hint}",
            ) from None
        return text


class Quantity(Friendly):
    """order_up_to | eoq | {fixed: N} | a JsonLogic expression giving a number."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> dict[str, Any]:
        if value in ("order_up_to", "eoq"):
            return {"policy": value}
        if isinstance(value, Mapping) and list(value) == ["fixed"]:
            if not _is_num(value["fixed"]):
                raise ValidationError({"fixed": [_fixed_message(value["fixed"])]})
            return {"policy": "fixed", "fixed": value["fixed"]}
        if isinstance(value, Mapping) and value:
            return {"policy": "expression", "expression": Logic().deserialize(value)}
        raise fail("invalid_choice", _quantity_message(value))


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _fixed_message(value: Any) -> str:
    return msg("out_of_range", f"'fixed' must be a quantity above 0; got {describe(value)}")


def _quantity_message(value: Any) -> str:
    text = "'$field' must be order_up_to, eoq, {fixed: N} or a formula"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{text}; to order a fixed amount write {{fixed: {value:g}}}"
    hint = did_you_mean(value, ["order_up_to", "eoq"]) if isinstance(value, str) else ""
    return f"{text}; got {describe(value)}{hint}"


class Supplier(Text):
    """preferred | backup | fastest | cheapest | a supplier code."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> str:
        text = super()._deserialize(value, attr, data, **kw)
        if text not in SUPPLIER_WORDS and text.isalpha() and text.islower():
            close = difflib.get_close_matches(text, SUPPLIER_WORDS, n=1, cutoff=0.8)
            if close:
                raise fail(
                    "invalid_choice",
                    f"'$field' is {describe(text)}, which looks like a misspelling; did you mean "
                    f"'{close[0]}'? (the choices are {', '.join(SUPPLIER_WORDS)} "
                    "or a supplier code)",
                )
        return text


class Day(Friendly):
    """A calendar date: ``2026-11-11`` (YAML) or the same text (JSON)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> dt.date:
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise fail("type", f"'$field' must be a date written as YYYY-MM-DD; got {describe(value)}")
