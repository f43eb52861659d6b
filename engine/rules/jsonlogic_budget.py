"""The run-time budget of one JsonLogic evaluation: fuel, counted by the compiled code.

A condition that loops (``map``, ``filter``, ``reduce``, ``all``, ``some``, ``none``) or builds
(``merge``, ``cat``) gets a fuel cell ``f = [FUEL]`` when it starts, passed down to the bodies it
runs. Each loop pays before it runs, per item, the weight of its body (its number of nodes) times
one plus the item's size (``size``); ``reduce`` pays each step with the size of its accumulator
too; ``merge`` and ``cat`` pay the length of what they build. When the cell runs dry ``BudgetExceeded`` is raised:
the evaluation stops, and the engine skips that rule for that event (issue #13).

The charge is deterministic (the same data costs the same fuel on any machine, under any load)
and needs no thread, timer or signal. Why it bounds the work: every value a condition makes has
paid for its size, and every other operator (comparisons, ``in``, ``substr``, arithmetic) does
work proportional to the size of values it is given once; only a loop body sees the same value
(its item) many times, and the loop pays for that up front. Memory follows: nothing is built
that was not paid for. Conditions without loops or builders take no cell and pay nothing: their
work is bounded by their size (``MAX_NODES``) and the catalogue's facts.

Whole numbers that outgrow JavaScript's safe integers in a ``reduce`` become floats, as they
would be in JavaScript: otherwise squaring an accumulator doubles its digits on every step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from engine.rules.jsonlogic_ops import ARRAYS as _ARRAYS
from engine.rules.jsonlogic_ops import cat as _cat
from engine.rules.jsonlogic_ops import truthy as _TRUTHY

FUEL = 200_000  # per evaluation of one condition: 10–20 ms of CPU at worst
MAX_SAFE = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER

Fuel = list[int]  # a one-element list: the fuel left
Body = Callable[[Any, Fuel], Any]


class BudgetExceeded(Exception):
    """A condition needed more work than one evaluation may do; the rule is skipped."""

    def __init__(self) -> None:
        super().__init__(
            f"the condition needed more than the {FUEL:,} steps one evaluation may take "
            "(it loops over, or builds, too much); the rule was skipped for this event")


def spend(f: Fuel, amount: int) -> None:
    """Take ``amount`` from the cell; raise ``BudgetExceeded`` when it runs dry."""
    left = f[0] - amount
    f[0] = left
    if left < 0:
        raise BudgetExceeded()


def size(value: Any, cap: int) -> int:
    """How big a value is: items of lists (and of objects) and eighths of the characters of
    text (compared and copied in C, eight bytes at a time), all the way down; shared parts count
    each time they appear, as a walk of the value would see them. Counting stops past ``cap``,
    so a value of exponential size costs no more than the cap."""
    t = type(value)
    if t is str:
        return len(value) >> 3
    if t is int:
        return value.bit_length() >> 6
    if t not in _ARRAYS and t is not dict:
        return 0
    total = 0
    stack = [value]
    while stack:
        v = stack.pop()
        items = v.values() if type(v) is dict else v
        total += len(items)
        for x in items:
            tx = type(x)
            if tx is str:
                total += len(x) >> 3
            elif tx in _ARRAYS or tx is dict:
                stack.append(x)
        if total > cap:
            return total
    return total


def _pay_items(f: Fuel, items: Any, weight: int) -> None:
    """A loop's charge, before it runs: ``weight`` × (1 + size) for each item."""
    total = len(items)
    cap = f[0] // max(weight, 1) + 1
    for x in items:
        tx = type(x)
        if tx is str:
            total += len(x) >> 3
        elif tx in _ARRAYS or tx is dict:
            total += size(x, cap - total)
        if total > cap:
            break
    spend(f, weight * total)


def js_number(value: int) -> int | float:
    """A whole number as JavaScript holds it: beyond the safe integers, a float (or infinity)."""
    if -MAX_SAFE <= value <= MAX_SAFE:
        return value
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


# --- the charged helpers the compiled code calls --------------------------------------------------


def map_(f: Fuel, body: Body, items: Any, weight: int) -> list[Any]:
    if type(items) not in _ARRAYS:
        return []
    _pay_items(f, items, weight)
    return [body(x, f) for x in items]


def filter_(f: Fuel, body: Body, items: Any, weight: int) -> list[Any]:
    if type(items) not in _ARRAYS:
        return []
    _pay_items(f, items, weight)
    return [x for x in items if _TRUTHY(body(x, f))]


def reduce_(f: Fuel, body: Body, items: Any, weight: int, initial: Any = None) -> Any:
    if type(items) not in _ARRAYS:
        return initial
    acc = initial
    for x in items:
        cap = f[0] // max(weight, 1) + 1
        spend(f, weight * (1 + size(x, cap) + size(acc, cap)))
        acc = body({"current": x, "accumulator": acc}, f)
        if type(acc) is int and not -MAX_SAFE <= acc <= MAX_SAFE:
            acc = js_number(acc)
    spend(f, size(acc, f[0] + 1))  # what it hands on may be a list of shared parts
    return acc


def all_(f: Fuel, body: Body, items: Any, weight: int) -> bool:
    if type(items) not in _ARRAYS or not items:
        return False  # JsonLogic: all of an empty list is false
    _pay_items(f, items, weight)
    return all(_TRUTHY(body(x, f)) for x in items)


def some_(f: Fuel, body: Body, items: Any, weight: int) -> bool:
    if type(items) not in _ARRAYS:
        return False
    _pay_items(f, items, weight)
    return any(_TRUTHY(body(x, f)) for x in items)


def none_(f: Fuel, body: Body, items: Any, weight: int) -> bool:
    return not some_(f, body, items, weight)


def merge(f: Fuel, *args: Any) -> list[Any]:
    out: list[Any] = []
    for a in args:  # each part paid before it is copied: a doubling stops before it is made
        if type(a) in _ARRAYS:
            spend(f, len(a))
            out.extend(a)
        else:
            spend(f, 1)
            out.append(a)
    return out


def cat(f: Fuel, *args: Any) -> str:
    for a in args:  # a list is joined as text, all the way down: pay for its size first
        if type(a) in _ARRAYS:
            spend(f, size(a, f[0] + 1))
    text = _cat(*args)
    spend(f, len(text) >> 3)
    return text


# The names the compiled code calls for the operators that loop or build (see jsonlogic_compile).
CHARGED: dict[str, Any] = {
    "MAP": map_,
    "FILTER": filter_,
    "REDUCE": reduce_,
    "ALL": all_,
    "SOME": some_,
    "NONE": none_,
    "MERGE": merge,
    "CAT": cat,
    "FUEL": FUEL,
}
