"""``strict_json``: depth is checked before parsing, the same as a walk character by character."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine import strict_json
from engine.strict_json import JsonInvalid, check_depth, loads


def _walk_depth(text: str) -> int:
    """The deepest nesting outside strings, one character at a time (the reference)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet='[]{}"\\ a\n', max_size=120), limit=st.integers(0, 6))
def test_depth_check_agrees_with_a_walk_of_every_character(text: str, limit: int) -> None:
    if _walk_depth(text) > limit:
        with pytest.raises(JsonInvalid, match=f"deeper than {limit} levels"):
            check_depth(text, limit)
    else:
        check_depth(text, limit)


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"note": "[" * 200, "quoted": '\\"[[[', "items": [[1]]})
    assert loads(text)["items"] == [[1]]
    with pytest.raises(JsonInvalid, match="deeper than 64 levels"):
        loads("[" * 65 + "]" * 65)
    assert loads("[" * 64 + "]" * 64) is not None


def _answer(parse, text: str) -> object:  # type: ignore[no-untyped-def]
    try:
        return ("value", repr(parse(text)))
    except JsonInvalid as exc:
        return ("invalid", exc.message)


@settings(max_examples=2000, deadline=None)
@given(text=st.one_of(
    st.text(alphabet='{}[]":,0123456789.eE-+ \n\r\tabnultrufsNIa\\x\ufeff', max_size=30),
    st.builds(lambda v, tail: json.dumps(v) + tail,
              st.recursive(st.none() | st.booleans() | st.floats() | st.text(max_size=3),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=2), inner, max_size=3), max_leaves=6),
              st.sampled_from(["", "\n", " ", "\r\n", "\n\n", "x", " {}"])),
    st.sampled_from(['{"a": 1, "a": 2}\n', '{"a": NaN}', '{"a": 1}\n', '{"a": 1e999999}',
                     '{"a": 1' + '0' * 5000 + '}'])))
def test_the_object_fast_path_answers_as_the_decoder(text: str) -> None:
    """``loads`` parses a plain object with the scanner alone: every answer (value or error
    message) is the one the full decoder gives."""
    assert _answer(loads, text) == _answer(strict_json._decode, text)


def _leaves(value: object, path: str = "") -> list[str]:
    """Every scalar's path, written as ``JsonInvalid.path`` writes it."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, f"{path}[{i}]")]
    return [path]


def _put(value: object, path: str, leaf: object) -> object:
    """``value`` with the scalar at ``path`` (one of ``_leaves``) replaced by ``leaf``."""
    if path == "" or not isinstance(value, (dict, list)):
        return leaf
    if isinstance(value, list):
        index, _, rest = path[1:].partition("]")
        rest = rest[1:] if rest.startswith(".") else rest
        return [_put(v, rest, leaf) if i == int(index) else v for i, v in enumerate(value)]
    for key in value:  # the key is a prefix of the path, then "." or "[" or the end
        if path == key or path.startswith((key + ".", key + "[")):
            rest = path[len(key):]
            rest = rest[1:] if rest.startswith(".") else rest
            return {k: _put(v, rest, leaf) if k == key else v for k, v in value.items()}
    raise AssertionError(path)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(alphabet="xyz\n\"", max_size=3)
                     | st.floats(allow_nan=False, allow_infinity=False),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(alphabet="abc", min_size=1, max_size=2), inner, max_size=4),
                     max_leaves=12)


@settings(max_examples=500, deadline=None)
@given(value=_JSON, constant=st.sampled_from(["nan", "inf", "-inf"]), indent=st.sampled_from([None, 1]),
       data=st.data())
def test_a_refused_constant_is_named_by_its_path_line_and_column(value, constant, indent, data) -> None:  # type: ignore[no-untyped-def]
    leaves = _leaves(value)
    assume(leaves)
    path = data.draw(st.sampled_from(leaves))
    text = json.dumps(_put(value, path, float(constant)), indent=indent)
    with pytest.raises(JsonInvalid) as refused:
        loads(text)
    word = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[constant]
    assert refused.value.path == path
    pos = text.index(word)
    line, column = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
    where = f"'{path}' at " if path else ""
    assert refused.value.message == (f"{where}line {line} column {column}: "
                                     f"{word} is not a number JSON allows; send a finite number")


def test_a_repeated_key_is_named_with_the_object_it_is_in() -> None:
    with pytest.raises(JsonInvalid) as refused:
        loads('{"items": [{"a": 1}, {"b": {"c": 1}, "b": 2}]}')
    assert refused.value.path == "items[1].b"
    assert refused.value.message == ("'items[1].b' at line 1 column 38: "
                                     "the key 'b' appears twice in one object")
