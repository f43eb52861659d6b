"""JsonLogic's conversions, as JavaScript does them: ToNumber, parseFloat, ToString, ToPrimitive,
and JsonLogic truthiness (an empty array is false, ``"0"`` is true).

The runtime helpers of ``jsonlogic_ops`` (and through them compiled expressions) build on these;
that module re-exports them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

NUM = (int, float)  # ``type(x) in NUM`` excludes bool, which JavaScript keeps apart from numbers
ARRAYS = (list, tuple)
NAN = float("nan")
UNDEF: Any = type("Undefined", (), {"__repr__": lambda self: "UNDEF"})()  # JS ``undefined``


# --- conversions (ECMAScript ToNumber, parseFloat, ToString) ------------------------------------

_WS = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_DECIMAL = r"[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
_TO_NUMBER = re.compile(_DECIMAL + r"\Z")
_PARSE_FLOAT = re.compile(_DECIMAL)
_RADIX = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}
_RADIX_DIGITS = {
    16: re.compile(r"[0-9a-fA-F]+\Z"),
    8: re.compile(r"[0-7]+\Z"),
    2: re.compile(r"[01]+\Z"),
}


def _decimal_text(text: str) -> float:
    return float(text.replace("Infinity", "inf"))


def str_to_number(s: str) -> float:
    """JavaScript ``Number(s)``: blank is 0, hex/octal/binary prefixes work, anything else NaN."""
    s = s.strip(_WS)
    if not s:
        return 0.0
    if _TO_NUMBER.match(s):
        return _decimal_text(s)
    base = _RADIX.get(s[:2])
    if base and _RADIX_DIGITS[base].match(s[2:]):
        return float(int(s[2:], base))
    return NAN


def to_primitive(v: Any) -> Any:
    """JavaScript ToPrimitive: an array becomes its joined text, an object '[object Object]'."""
    if type(v) in ARRAYS:
        return ",".join("" if x is None or x is UNDEF else to_str(x) for x in v)
    if isinstance(v, Mapping):
        return "[object Object]"
    return v


def to_number(v: Any) -> int | float:
    """JavaScript ToNumber: null is 0, true is 1, text is parsed strictly, objects are NaN."""
    t = type(v)
    if t in NUM:
        return v  # type: ignore[no-any-return]
    if v is None:
        return 0
    if t is bool:
        return 1 if v else 0
    if t is str:
        return str_to_number(v)
    if t in ARRAYS:
        return str_to_number(to_primitive(v))
    return NAN


def parse_float(v: Any) -> int | float:
    """JavaScript ``parseFloat(v)``: the longest number at the start of the text, else NaN."""
    if type(v) in NUM:
        return v  # type: ignore[no-any-return]
    match = _PARSE_FLOAT.match(to_str(v).lstrip(_WS))
    return _decimal_text(match.group()) if match else NAN


def _float_to_str(x: float) -> str:
    if x != x:
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 2**53:  # exact: no shortest-digits work needed
        return str(int(x))
    sign = "-" if x < 0 else ""
    _, digit_tuple, exp = Decimal(repr(abs(x))).as_tuple()  # repr has the shortest digits, as JS
    all_digits = "".join(map(str, digit_tuple))
    digits = all_digits.rstrip("0")
    point = len(all_digits) + int(exp)  # the value is 0.<digits> * 10**point
    return sign + _place_point(digits, point)


def _place_point(digits: str, n: int) -> str:
    """ECMAScript Number::toString: the point goes at ``n``; exponent form outside 1e-7..1e21."""
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"


def to_str(v: Any) -> str:
    """JavaScript ``String(v)``."""
    t = type(v)
    if t is str:
        return v  # type: ignore[no-any-return]
    if t is int:
        return str(v) if abs(v) < 10**21 else _float_to_str(float(v))
    if t is float:
        return _float_to_str(v)
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return "null"
    if v is UNDEF:
        return "undefined"
    prim = to_primitive(v)
    return prim if type(prim) is str else str(prim)


def truthy(v: Any) -> bool:
    """JsonLogic truthiness: JavaScript's, except that an empty array is false."""
    if v is True:
        return True
    if v is False or v is None or v is UNDEF:
        return False
    t = type(v)
    if t is float:
        return bool(v == v and v != 0.0)  # NaN is false
    if t is int or t is str or t in ARRAYS:
        return bool(v)
    return True  # objects, even empty ones
