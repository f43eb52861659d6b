"""Null handling in the static check (``jsonlogic_check``): the fact a ``var`` reads, the facts
an enclosing ``and``/``or``/``if`` has already tested, and the message for a fact that may be
null where null misleads (null counts as 0 in comparisons and is never equal to a number).
"""

from __future__ import annotations

import json
from typing import Any

from engine.rules.jsonlogic_compile import operands
from engine.rules.jsonlogic_convert import to_str

EQUALITY = {"==", "!=", "===", "!=="}
_NULL_REASONS = {
    "metrics.days_of_cover": ("has no value when there is no demand", 9999),
    "metrics.days_since_last_sale": ("has no value when the SKU has never sold", 9999),
    "supplier.": ("has no value when the SKU has no preferred supplier", 0),
}


def var_name(logic: Any) -> tuple[str | None, bool]:
    """The fact a literal ``var`` reads and whether it has a default; (None, False) otherwise."""
    if type(logic) is not dict or len(logic) != 1 or "var" not in logic:
        return None, False
    args = operands(logic)[1]
    key = args[0] if args else None
    if key is None or key == "" or type(key) not in (str, int, float):
        return None, False
    return to_str(key), len(args) > 1 and args[1] is not None


def plain_var(logic: Any) -> str | None:
    """The fact a ``var`` without a default reads, else None."""
    name, has_default = var_name(logic)
    return None if has_default else name


def non_null_if(logic: Any, truth: bool) -> set[str]:
    """Facts surely not null when ``logic`` turns out ``truth``y: it tested them."""
    if type(logic) is not dict or len(logic) != 1:
        return set()
    op, args = operands(logic)
    if op == "var":
        name = plain_var(logic)
        return {name} if truth and name else set()
    if op in ("!!", "!") and args:
        return non_null_if(args[0], truth if op == "!!" else not truth)
    if op in EQUALITY and len(args) >= 2 and (args[0] is None) != (args[1] is None):
        name = plain_var(args[1] if args[0] is None else args[0])
        return {name} if name and (op in ("!=", "!==")) == truth else set()
    if (op == "and" and truth) or (op == "or" and not truth):
        return set().union(*(non_null_if(a, truth) for a in args))
    return set()


def tested_before(op: str, args: list[Any], i: int) -> set[str]:
    """Facts that the operands of and/or/if evaluated before operand ``i`` have tested."""
    if op in ("and", "or"):
        return set().union(*(non_null_if(a, op == "and") for a in args[:i]))
    # In an if-chain, operand i runs only when every earlier condition failed and, for the value
    # chosen by a condition, when that condition held.
    own = i - 1 if i % 2 == 1 else None
    failed = [c for c in range(0, len(args) - 1, 2) if c < i and c != own]
    tested = set().union(*(non_null_if(args[c], False) for c in failed))
    return (tested | non_null_if(args[own], True)) if own is not None else tested


def null_message(name: str, text: bool, equality: bool) -> str:
    """What to say of fact ``name`` (of text when ``text``) that may be null here."""
    reason, example = _null_reason(name, text)
    effect = "null is never equal to a number" if equality else "null counts as 0 in comparisons"
    suggestion = json.dumps({"var": [name, example]}, ensure_ascii=False)
    return f"'{name}' {reason} ({effect}); give a default such as {suggestion} or test it first"


def _null_reason(name: str, text: bool) -> tuple[str, Any]:
    for key, found in _NULL_REASONS.items():
        if name == key or (key.endswith(".") and name.startswith(key)):
            return found
    return "can be without a value", "" if text else 0
