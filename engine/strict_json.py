"""JSON parsing that refuses what Python's ``json`` quietly accepts: NaN, duplicate keys, depth."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64
# Whole numbers longer than this are refused where they are written, with their path: no field
# takes one (a float holds at most 309 digits), and Python refuses to read one of more than
# 4,300 digits with a ValueError that would otherwise name no field (issue #13).
MAX_INT_DIGITS = 300


class JsonInvalid(ValueError):
    """The text is not acceptable JSON; ``message`` says where and why, ``path`` names the
    value (``[2].qty``) when the text is well formed but a value is not allowed."""

    def __init__(self, message: str, path: str = "", line: int | None = None,
                 column: int | None = None, reason: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line, self.column = line, column  # where, when known
        self.reason = reason or message  # why, without where
        self.status = status  # 400: not JSON as we take it; 422: a value no field allows


def _whole_number(digits: str) -> int:
    if len(digits) > MAX_INT_DIGITS + 1 and len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise JsonInvalid(f"a whole number of {len(digits.lstrip('-')):,} digits is too large; "
                          f"at most {MAX_INT_DIGITS} digits", status=422)
    return int(digits)


def _no_constants(name: str) -> Any:
    raise JsonInvalid(f"{name} is not a number JSON allows; send a finite number")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonInvalid(f"the key '{key}' appears twice in one object")
        out[key] = value
    return out


# A string, to its closing quote (or to the end when unterminated), and what is not a bracket:
# both removed by the regular expression engine, so Python only walks the brackets.
_STRINGS = re.compile(r'"[^"\\]*(?:\\[\s\S][^"\\]*)*\\?(?:"|\Z)')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Refuse nesting deeper than ``limit`` before parsing, so no RecursionError is possible."""
    if text.count("[") + text.count("{") <= limit:  # cannot be too deep: skip the walk
        return
    depth = 0
    for ch in _NOT_BRACKETS.sub("", _STRINGS.sub("", text)):
        if ch == "[" or ch == "{":
            depth += 1
            if depth > limit:
                raise JsonInvalid(f"nesting is deeper than {limit} levels")
        else:
            depth -= 1


# One decoder for every call: ``json.loads`` with hooks builds a new one each time (a fifth of
# the cost of a small event).
_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_no_constants,
                            parse_int=_whole_number)
_SCAN = _DECODER.scan_once  # type: ignore[attr-defined]  # set in __init__; typeshed omits it


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``text`` strictly; raise ``JsonInvalid`` with the line and column of a syntax error."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JsonInvalid(f"the body is not UTF-8 (invalid byte at offset {exc.start})") from exc
    check_depth(text, max_depth)
    found = _plain_object(text)
    return _decode(text) if found is _NOT_PLAIN else found


_NOT_PLAIN = object()


def _plain_object(text: str) -> Any:
    """The usual document, an object with nothing after it but a line's end, parsed by the
    scanner alone (``decode`` adds two regular expression matches for the whitespace around
    it: a sixth of a small event's parse); ``_NOT_PLAIN`` for anything else, and for any
    failure, which ``_decode`` then meets again and explains."""
    if text[:1] != "{":
        return _NOT_PLAIN
    try:
        found, end = _SCAN(text, 0)
    except Exception:
        return _NOT_PLAIN
    return found if end == len(text) or text[end:] == "\n" else _NOT_PLAIN


def _decode(text: str) -> Any:
    try:
        if text.startswith("\ufeff"):  # what json.loads says about it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise JsonInvalid(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                          line=exc.lineno, column=exc.colno, reason=f"malformed JSON: {exc.msg}") from exc
    except JsonInvalid as exc:  # a hook refused a value: say which one, and where
        try:
            path, pos = _locate(text, _skip_space(text, 0), "")
        except (ValueError, StopIteration):  # not expected: the refusal still says why
            raise exc from None
        line = text.count("\n", 0, pos) + 1
        column = pos - text.rfind("\n", 0, pos)
        where = f"'{path}' at " if path else ""
        raise JsonInvalid(f"{where}line {line} column {column}: {exc.message}", path, line, column,
                          f"'{path}': {exc.message}" if path else exc.message,
                          exc.status) from exc
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise JsonInvalid(f"malformed JSON: {exc}") from exc


_SPACE = re.compile(r"[ \t\n\r]*")  # as json.decoder's WHITESPACE: JSON's four whitespace characters


def _skip_space(text: str, pos: int) -> int:
    return _SPACE.match(text, pos).end()  # type: ignore[union-attr]


def _locate(text: str, pos: int, path: str) -> tuple[str, int]:
    """The path and position of the innermost value at ``pos`` that the hooks refuse: a NaN or
    Infinity, or the repeated key of an object. Each member is decoded alone, so the walk goes
    down one branch only. Called after the decoder refused the text (never on the fast path)."""
    head = text[pos:pos + 1]
    if head != "{" and head != "[":
        return path, pos  # a constant: NaN, Infinity, -Infinity
    seen: set[str] = set()
    index = 0
    pos = _skip_space(text, pos + 1)
    while pos < len(text) and text[pos] not in "]}":
        if head == "{":
            key_at = pos
            key, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
            here = f"{path}.{key}" if path else key
            if key in seen:
                return here, key_at
            seen.add(key)
            pos = _skip_space(text, _skip_space(text, pos) + 1)  # past the colon
        else:
            here = f"{path}[{index}]"
            index += 1
        try:
            _, pos = _SCAN(text, pos)
        except JsonInvalid:
            return _locate(text, pos, here)
        pos = _skip_space(text, pos)
        if text[pos:pos + 1] == ",":
            pos = _skip_space(text, pos + 1)
    return path, pos
