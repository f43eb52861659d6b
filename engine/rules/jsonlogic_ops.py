"""JsonLogic runtime: the JavaScript-faithful helpers that compiled expressions call.

Compiled expressions call these helpers for everything that is not a fast path. They reproduce
json-logic-js (SPEC §3): JavaScript's loose ``==``, relational comparison with coercion, ToNumber,
parseFloat for ``+`` and ``*``, ToString for ``cat``/``substr``, and JsonLogic truthiness (an empty
array is false, ``"0"`` is true).

Deliberate departures from json-logic-js, each for a reason:

* ``/`` and ``%`` by zero raise ``ZeroDivisionError`` instead of giving Infinity/NaN: a rule that
  divides by zero is a fault to report (RELIABILITY row 15), not a number to compare.
* ``var`` with a default also uses the default when the value is null (JavaScript uses it only for
  a missing key). The engine leaves null facts out of the data dict, so both agree there; this way
  a default always says what null means, however the data was built.
* A tuple counts as an array, like a list. Strings are handled as code points, not UTF-16 units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# The conversions (ECMAScript ToNumber, parseFloat, ToString) and truthiness: jsonlogic_convert.
from engine.rules.jsonlogic_convert import (
    ARRAYS,
    NAN,
    NUM,
    UNDEF,
    parse_float,
    str_to_number,
    to_number,
    to_primitive,
    to_str,
    truthy,
)

# --- equality and comparison -------------------------------------------------------------------


def strict_eq(a: Any, b: Any) -> bool:
    """JavaScript ``===``: same type and value; arrays and objects only when they are the same."""
    ta, tb = type(a), type(b)
    if ta in NUM and tb in NUM:
        return a == b  # type: ignore[no-any-return]
    if ta is not tb:
        return False
    if ta is str or ta is bool or a is None:
        return a == b  # type: ignore[no-any-return]
    return a is b


def loose_eq(a: Any, b: Any) -> bool:
    """JavaScript ``==`` (IsLooselyEqual)."""
    if a is None or b is None:
        return a is b
    ta, tb = type(a), type(b)
    if (ta in NUM and tb in NUM) or (ta is str and tb is str) or (ta is bool and tb is bool):
        return a == b  # type: ignore[no-any-return]
    if ta is bool:
        return loose_eq(1 if a else 0, b)
    if tb is bool:
        return loose_eq(a, 1 if b else 0)
    if ta in NUM and tb is str:
        return a == str_to_number(b)  # type: ignore[no-any-return]
    if ta is str and tb in NUM:
        return str_to_number(a) == b  # type: ignore[no-any-return]
    a_obj, b_obj = _is_object(a), _is_object(b)
    if a_obj and b_obj:
        return a is b
    if a_obj and (tb is str or tb in NUM):
        return loose_eq(to_primitive(a), b)
    if b_obj and (ta is str or ta in NUM):
        return loose_eq(a, to_primitive(b))
    return False


def _is_object(v: Any) -> bool:
    return type(v) in ARRAYS or isinstance(v, Mapping)


def _relational(a: Any, b: Any) -> tuple[Any, Any]:
    """The operands as JavaScript compares them: both text, or both numbers."""
    pa, pb = to_primitive(a), to_primitive(b)
    if type(pa) is str and type(pb) is str:
        return pa, pb
    return to_number(pa), to_number(pb)


def lt(a: Any, b: Any) -> bool:
    x, y = _relational(a, b)
    return x < y  # type: ignore[no-any-return]


def le(a: Any, b: Any) -> bool:
    x, y = _relational(a, b)
    return x <= y  # type: ignore[no-any-return]


def gt(a: Any, b: Any) -> bool:
    x, y = _relational(a, b)
    return x > y  # type: ignore[no-any-return]


def ge(a: Any, b: Any) -> bool:
    x, y = _relational(a, b)
    return x >= y  # type: ignore[no-any-return]


# --- arithmetic ---------------------------------------------------------------------------------


def add(*args: Any) -> int | float:
    total: int | float = 0
    for a in args:
        total += parse_float(a)
    return total


def mul(*args: Any) -> Any:
    """JavaScript ``reduce`` without a start value: one operand is returned as it is."""
    if not args:
        raise TypeError("'*' needs at least one operand")
    if len(args) == 1:
        return args[0]
    product: int | float = parse_float(args[0])
    for a in args[1:]:
        product *= parse_float(a)
    return product


def sub(*args: Any) -> int | float:
    if len(args) == 1:
        return -to_number(args[0])
    if not args:
        return NAN
    return to_number(args[0]) - to_number(args[1])


def div(a: Any = UNDEF, b: Any = UNDEF) -> float:
    return to_number(a) / to_number(b)  # ZeroDivisionError on purpose, see the module docstring


def mod(a: Any = UNDEF, b: Any = UNDEF) -> int | float:
    """JavaScript ``%``: the remainder takes the sign of the dividend."""
    x, y = to_number(a), to_number(b)
    if y == 0:
        raise ZeroDivisionError("remainder of a division by zero")
    if type(x) is int and type(y) is int:
        r = abs(x) % abs(y)
        return r if x >= 0 else -r
    if x != x or y != y or math.isinf(x):
        return NAN
    if math.isinf(y):
        return x
    return math.fmod(x, y)


def min_(*args: Any) -> int | float:
    nums = [to_number(a) for a in args]
    if any(n != n for n in nums):
        return NAN
    return min(nums) if nums else math.inf


def max_(*args: Any) -> int | float:
    nums = [to_number(a) for a in args]
    if any(n != n for n in nums):
        return NAN
    return max(nums) if nums else -math.inf


# --- text and lists -----------------------------------------------------------------------------


def _join_item(v: Any) -> str:
    return "" if v is None or v is UNDEF else to_str(v)


def cat(*args: Any) -> str:
    return "".join([_join_item(a) for a in args])


def _to_integer(v: Any) -> int | float:
    """ECMAScript ToIntegerOrInfinity."""
    n = to_number(v)
    if n != n:
        return 0
    return n if math.isinf(n) else int(n)


def _js_substr(s: str, start: Any, length: Any = UNDEF) -> str:
    size = len(s)
    begin = _to_integer(start)
    begin = max(size + begin, 0) if begin < 0 else min(begin, size)
    count = size if length is UNDEF else _to_integer(length)
    end = min(begin + min(max(count, 0), size), size)
    return s[int(begin) : int(end)] if end > begin else ""


def substr(source: Any = UNDEF, start: Any = UNDEF, end: Any = UNDEF) -> str:
    """json-logic-js ``substr``: a negative length leaves that many characters off the end."""
    text = to_str(source)
    if end is not UNDEF and lt(end, 0):
        rest = _js_substr(text, start)
        # JavaScript's ``rest.length + end`` joins text when ``end`` is not a number: NaN, so 0.
        return _js_substr(rest, 0, len(rest) + end if type(end) in NUM else 0)
    return _js_substr(text, start, end)


def merge(*args: Any) -> list[Any]:
    out: list[Any] = []
    for a in args:
        if type(a) in ARRAYS:
            out.extend(a)
        else:
            out.append(a)
    return out


def in_(needle: Any = UNDEF, haystack: Any = UNDEF) -> bool:
    """json-logic-js ``in``: ``indexOf`` on text or on a list (strict equality), else false."""
    th = type(haystack)
    if th in ARRAYS:
        tn = type(needle)
        if tn is str or needle is None:
            return needle in haystack  # only text equals text, only None is None
        return any(strict_eq(needle, item) for item in haystack)
    if th is str and haystack:
        return to_str(needle) in haystack
    return False


def in_set(needle: Any, members: frozenset[Any], kind: tuple[type, ...]) -> bool:
    """``in`` on a literal list of only text or only numbers, precomputed as a set."""
    return type(needle) in kind and needle in members


# --- data access --------------------------------------------------------------------------------


def array_index(part: str) -> int | None:
    """A JavaScript array index: canonical decimal digits ("01" and "-1" are not indexes)."""
    if part.isascii() and part.isdigit() and (part == "0" or part[0] != "0"):
        return int(part)
    return None


def get_path(data: Any, parts: tuple[str, ...], default: Any = None) -> Any:
    """Follow a dotted ``var`` path as JavaScript would; null or missing gives the default."""
    for part in parts:
        t = type(data)
        if t is dict or (t not in ARRAYS and t is not str and isinstance(data, Mapping)):
            data = data.get(part)
        elif t in ARRAYS or t is str:
            if part == "length":
                data = len(data)
                continue
            i = array_index(part)
            if i is None or i >= len(data):
                return default
            data = data[i]
        else:
            return default
    return default if data is None else data


def var(data: Any, key: Any = None, default: Any = None) -> Any:
    """``{"var": key}`` with a key computed at run time."""
    if key is None or key is UNDEF or (type(key) is str and key == ""):
        return data
    return get_path(data, tuple(to_str(key).split(".")), default)


def missing(data: Any, *args: Any) -> list[Any]:
    keys = args[0] if args and type(args[0]) in ARRAYS else args
    out = []
    for key in keys:
        value = var(data, key)
        if value is None or (type(value) is str and value == ""):
            out.append(key)
    return out


def missing_some(data: Any, need: Any = UNDEF, keys: Any = UNDEF) -> list[Any]:
    if type(keys) not in ARRAYS:
        return []
    absent = missing(data, keys)
    return [] if len(keys) - len(absent) >= to_number(need) else absent


def log(value: Any = None, *_: Any) -> Any:
    return value  # no printing: a rule's log is its explanation, kept by the engine


# The only names generated code can reach (besides its constants): no builtins at all.
RUNTIME: dict[str, Any] = {
    "__builtins__": {},
    "TYPE": type,
    "NUM": NUM,
    "STR": str,
    "LIST": list,
    "INT": int,
    "FLOAT": float,
    "UNDEF": UNDEF,
    "LOOKUP_ERRORS": (LookupError, TypeError),
    "TRUTHY": truthy,
    "EQ": loose_eq,
    "SEQ": strict_eq,
    "LT": lt,
    "LE": le,
    "GT": gt,
    "GE": ge,
    "ADD": add,
    "MUL": mul,
    "SUB": sub,
    "DIV": div,
    "MOD": mod,
    "MIN": min_,
    "MAX": max_,
    "SUBSTR": substr,
    "IN": in_,
    "IN_SET": in_set,
    "GET_PATH": get_path,
    "VAR": var,
    "MISSING": missing,
    "MISSING_SOME": missing_some,
    "LOG": log,
}
