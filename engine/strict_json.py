"""JSON parsing that refuses what Python's ``json`` quietly accepts: NaN, duplicate keys, depth."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64


class JsonInvalid(ValueError):
    """The text is not acceptable JSON; ``message`` says where and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_no_constants)
_SCAN = _DECODER.scan_once


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
    except Exception:  # noqa: BLE001 - explained by _decode
        return _NOT_PLAIN
    return found if end == len(text) or text[end:] == "\n" else _NOT_PLAIN


def _decode(text: str) -> Any:
    try:
        if text.startswith("\ufeff"):  # what json.loads says about it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise JsonInvalid(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        if isinstance(exc, JsonInvalid):
            raise
        raise JsonInvalid(f"malformed JSON: {exc}") from exc
