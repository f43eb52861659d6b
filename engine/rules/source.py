"""Rule document text (YAML or JSON) to plain data and a line map, refusing unsafe input."""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from engine.rules.problems import DocumentTooLarge, Problem, RulesetInvalid
from engine.rules.source_nodes import MAX_DIGITS, LineMap, Walk, not_finite, walk_nodes
from engine.rules.source_yaml import (
    MAX_DEPTH,
    Parsed,
    compose_single,
    is_fatal,
    parse_yaml,
    snippet,
    split_lines,
)

__all__ = ["MAX_BYTES", "MAX_DEPTH", "LineMap", "Parsed", "parse_source", "read_source", "sniff"]

MAX_BYTES = 256 * 1024
FORMATS = ("yaml", "json")


def read_source(text: str | bytes, fmt: str | None = None) -> tuple[Any, LineMap]:
    """Parse a rule document; raise ``RulesetInvalid`` listing every problem found."""
    parsed = parse_source(text, fmt)
    if parsed.problems:
        raise RulesetInvalid([p.with_line(parsed.line_map) for p in parsed.problems])
    return parsed.data, parsed.line_map


def parse_source(text: str | bytes, fmt: str | None = None) -> Parsed:
    """Parse without raising (except ``DocumentTooLarge``): data, line map and problems."""
    if fmt not in (None, *FORMATS):
        raise ValueError(f"unknown rule document format {fmt!r}; expected one of {FORMATS}")
    _check_size(text)
    decoded = _decode(text)
    if isinstance(decoded, Problem):
        return Parsed(problems=[decoded])
    fmt = fmt or sniff(decoded)
    return _parse_json(decoded) if fmt == "json" else parse_yaml(decoded)


def sniff(text: str) -> str:
    """JSON when the first non-blank character opens an object or a list, else YAML."""
    stripped = text.lstrip()
    return "json" if stripped[:1] in ("{", "[") else "yaml"


def _check_size(text: str | bytes) -> None:
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        shown = f"{size / 1024:.1f} KiB" if size < 1024 * 1024 else f"{size / 1048576:.1f} MiB"
        message = f"the rule document is {shown}; the limit is {MAX_BYTES // 1024} KiB"
        raise DocumentTooLarge([Problem((), message, code="too_large")])


def _decode(text: str | bytes) -> str | Problem:
    if isinstance(text, bytes):
        if text.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return Problem((), "the file is UTF-16; save it as UTF-8", line=1, code="encoding")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            line = err.object.count(b"\n", 0, err.start) + 1
            message = (
                f"the file must be UTF-8; invalid byte 0x{err.object[err.start]:02X} "
                f"at offset {err.start} (line {line})"
            )
            return Problem((), message, line=line, code="encoding")
    text = text.removeprefix("\ufeff")
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        message = (
            f"the file contains a NUL character at offset {nul} (line {line}); "
            "it must be UTF-8 text (is it UTF-16?)"
        )
        return Problem((), message, line=line, code="encoding")
    return text


# --- JSON -------------------------------------------------------------------------------------

_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _parse_json(text: str) -> Parsed:
    too_deep = _json_too_deep(text)
    if too_deep is not None:
        return Parsed(problems=[too_deep])
    duplicates: list[str] = []
    constants: list[str] = []
    long_numbers: list[str] = []
    try:
        data = json.loads(
            text, object_pairs_hook=_pairs_hook(duplicates), parse_constant=constants.append,
            parse_int=_int_hook(long_numbers),
        )
    except json.JSONDecodeError as err:
        lines = split_lines(text)
        line_text = lines[err.lineno - 1] if err.lineno <= len(lines) else ""
        where = f"line {err.lineno}, column {err.colno}"
        message = f"the JSON cannot be read ({where}): {err.msg} — {snippet(line_text)}"
        return Parsed(problems=[Problem((), message, err.lineno, "json_syntax")])
    walk = _json_line_map(text)
    if walk is None:  # no lines: report what ``json.loads`` saw
        walk = Walk(problems=[_json_duplicate(k) for k in duplicates])
        walk.problems += [not_finite((), c, None) for c in constants]
        walk.problems += [_long_number(n) for n in long_numbers]
    if is_fatal(walk.problems):
        return Parsed(line_map=walk.line_map, problems=walk.problems)
    return Parsed(data, walk.line_map, walk.problems)


def _json_too_deep(text: str) -> Problem | None:
    """Nesting depth, counted without recursion before ``json.loads`` sees the text."""
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, match.start()) + 1
                message = f"the document is nested more than {MAX_DEPTH} levels deep"
                return Problem((), message, line, "too_deep")
        elif token in ("]", "}"):
            depth -= 1
    return None


def _int_hook(long_numbers: list[str]) -> Any:
    """Whole numbers as ``int``, except those over ``MAX_DIGITS`` digits: kept aside (and
    reported where they are written, by the line map's walk) instead of read, as Python refuses
    to read one of more than 4,300 digits with a ValueError."""

    def hook(digits: str) -> Any:
        if len(digits.lstrip("-")) > MAX_DIGITS:
            long_numbers.append(digits)
            return 0
        return int(digits)

    return hook


def _long_number(digits: str) -> Problem:
    count = len(digits.lstrip("-"))
    message = (f"a whole number has {count:,} digits; numbers in a rule document have at most "
               f"{MAX_DIGITS}")
    return Problem((), message, None, "out_of_range")


def _pairs_hook(duplicates: list[str]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                duplicates.append(key)
            out[key] = value
        return out

    return hook


def _json_duplicate(name: str) -> Problem:
    return Problem((), f"key '{name}' appears twice in the same object", None, "duplicate_key")


def _json_line_map(text: str) -> Walk | None:
    """Lines for a JSON document, by composing it as YAML; None when YAML cannot read it."""
    node = compose_single(text.replace("\t", " "))  # tabs are fine in JSON, not in YAML
    return walk_nodes(node, json_mode=True) if node is not None else None
