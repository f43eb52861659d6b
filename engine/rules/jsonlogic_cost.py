"""The cost bound of a JsonLogic expression, found without evaluating it (issue #13).

``estimate`` walks the expression over the largest data the catalogue allows (``variables``:
at most ``MAX_TAGS`` tags of ``MAX_TAG_CHARS`` characters, text facts of ``MAX_TEXT_CHARS``,
attributes of ``MAX_OPEN_CHARS``) and the literal lists written in it, and counts the fuel the
run-time budget (``jsonlogic_budget``) would charge: each loop its body's size per item times
one plus the item's size, ``reduce`` also its accumulator on each step, ``merge`` and ``cat``
what they build. A condition estimated above ``MAX_WORK`` — half the run-time fuel, so that a
condition that passes never meets its budget on data the catalogue allows — is refused,
at the operator where the estimate first goes over, with the reason.

Sizes and work saturate at ``CAP``, so a doubling ``reduce`` over a thousand items costs the
estimator no more than one over ten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from engine.rules.jsonlogic_budget import FUEL
from engine.rules.jsonlogic_compile import SCOPED, measure, operands
from engine.rules.problems import Problem, Segments
from engine.rules.variables import (
    ANY,
    ARRAY,
    MAX_OPEN_CHARS,
    MAX_TAG_CHARS,
    MAX_TAGS,
    MAX_TEXT_CHARS,
    STRING,
    Catalog,
)

MAX_WORK = FUEL // 2
CAP = 10**15
_NUMBER_CHARS = 24  # the longest a number is written as text
_STEPS = 200_000  # nodes the estimator may look at before it gives up (and refuses)


def _sat(n: int) -> int:
    return min(n, CAP)


@dataclass(frozen=True)
class Size:
    """How big a value may be: ``length`` items when a list, ``deep`` as the budget counts it
    (items and characters all the way down), each ``item``'s size when known (None: any part
    of it), and the ``fields`` of ``reduce``'s data (``current``, ``accumulator``)."""

    length: int = 0
    deep: int = 0
    item: Size | None = None
    fields: tuple[tuple[str, Size], ...] | None = None

    def element(self) -> Size:
        return self.item if self.item is not None else Size(self.deep, self.deep)

    def field(self, name: str) -> Size | None:
        return dict(self.fields).get(name) if self.fields else None


SCALAR = Size()
TEXT = Size(0, MAX_TEXT_CHARS >> 3)  # text counts an eighth of its characters, as ``size``
TAG = Size(0, MAX_TAG_CHARS >> 3)
TAGS = Size(MAX_TAGS, MAX_TAGS * (1 + TAG.deep), TAG)
# free-form (attributes, a whole record, a list param): as many items as a JSON text of that
# many characters holds ([1,1,…]: two characters each), with all its text
OPEN = Size(MAX_OPEN_CHARS // 2, MAX_OPEN_CHARS // 2 + (MAX_OPEN_CHARS >> 3))


def join(a: Size, b: Size) -> Size:
    """A size that covers both."""
    if a == b:
        return a
    if not a.length or not b.length:  # a text or a number: the list's items stand
        item = a.item if a.length else b.item
    else:
        item = None if a.item is None or b.item is None else join(a.item, b.item)
    return Size(max(a.length, b.length), max(a.deep, b.deep), item)


def _text_length(s: Size) -> int:
    """The characters of a value written as text: a list's items and their text, with commas."""
    return _sat(8 * s.deep + s.length) if s.length else max(8 * s.deep + 7, _NUMBER_CHARS)


class TooCostly(Exception):
    """The estimate went over ``MAX_WORK`` at ``path``; ``message`` says why."""

    def __init__(self, path: Segments, message: str) -> None:
        super().__init__(message)
        self.path, self.message = path, message


@dataclass
class _Env:
    item: Size | None = None  # in a loop body: the item's size; None at the top


class _Estimator:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.steps = 0

    def over(self, work: int, path: Segments, why: Callable[[], str]) -> None:
        if work > MAX_WORK:
            raise TooCostly(path, f"{why()}: about {_amount(work)} steps on the largest data "
                                  f"the catalogue allows, and a condition may take at most "
                                  f"{MAX_WORK:,}; loop over less, or build smaller lists")

    def node(self, logic: Any, path: Segments, env: _Env) -> tuple[Size, int]:
        """The size of the value and the work (fuel) of evaluating ``logic`` once."""
        self.steps += 1
        if self.steps > _STEPS:
            raise TooCostly(path, "This expression is too intricate to bound its cost")
        t = type(logic)
        if t is dict and len(logic) == 1:
            op, args = operands(logic)
            at = (*path, op) if type(op) is str else path
            listed = type(next(iter(logic.values()))) is list
            paths = [(*at, i) for i in range(len(args))] if listed else [at]
            return self.operation(op, args, paths, path, env)
        if t is list:
            sizes, work = self.all(logic, [(*path, i) for i in range(len(logic))], env)
            item = _join_all(sizes)
            deep = _sat(len(logic) + sum(s.deep for s in sizes))
            return Size(len(logic), deep, item), work
        if t is str:
            return Size(0, len(logic) >> 3), 0
        return SCALAR, 0

    def all(self, args: list[Any], paths: list[Segments], env: _Env) -> tuple[list[Size], int]:
        sizes, work = [], 0
        for arg, path in zip(args, paths, strict=True):
            size, w = self.node(arg, path, env)
            sizes.append(size)
            work = _sat(work + w)
        return sizes, work

    def operation(self, op: Any, args: list[Any], paths: list[Segments], path: Segments,
                  env: _Env) -> tuple[Size, int]:
        if op == "var":
            return self.var(args, paths, env)
        if op in SCOPED:
            return self.loop(op, args, paths, path, env)
        sizes, work = self.all(args, paths, env)
        if op == "merge":
            return self.merge(sizes, work, path)
        if op == "cat":
            return self.cat(sizes, work, path)
        if op == "substr":
            return Size(0, _text_length(sizes[0]) >> 3 if sizes else 0), work
        if op in ("if", "?:"):
            chosen = [s for i, s in enumerate(sizes) if i % 2 or i == len(sizes) - 1]
            return _join_all(chosen) or SCALAR, work
        if op in ("and", "or", "log"):
            return _join_all(sizes if op != "log" else sizes[:1]) or SCALAR, work
        if op in ("missing", "missing_some"):
            return _join_all(sizes) or SCALAR, work
        return SCALAR, work  # comparisons, arithmetic, in, !, !!: a number or true/false

    def var(self, args: list[Any], paths: list[Segments], env: _Env) -> tuple[Size, int]:
        key = args[0] if args else None
        work = 0
        default = SCALAR
        if len(args) > 1:
            default, work = self.node(args[1], paths[1], env)
        if type(key) in (dict, list):
            _, w = self.node(key, paths[0], env)
            found = OPEN if env.item is None else _part(env.item)
            return join(found, default), _sat(work + w)
        name = "" if key is None else str(key)
        if env.item is None:
            return join(self.fact(name), default), work
        if name == "":
            return env.item, work
        head, _, rest = name.partition(".")
        field = env.item.field(head)
        if field is None:
            return join(_part(env.item), default), work
        return join(field if not rest else _part(field), default), work

    def fact(self, name: str) -> Size:
        if name in ("sku.tags",):
            return TAGS
        fact = self.catalog.lookup(name)
        if fact is None or fact.type in (ANY, ARRAY):
            return OPEN
        return TEXT if fact.type == STRING else SCALAR

    def merge(self, sizes: list[Size], work: int, path: Segments) -> tuple[Size, int]:
        length = deep = 0
        items: list[Size] = []
        for s in sizes:
            if s.length:
                length, deep = _sat(length + s.length), _sat(deep + s.deep)
                items.append(s.element())
            else:
                length, deep = _sat(length + 1), _sat(deep + 1 + s.deep)
                items.append(s)
        work = _sat(work + length)
        self.over(work, path, lambda: f"'merge' could build a list of {_amount(length)} items")
        return Size(length, deep, _join_all(items)), work

    def cat(self, sizes: list[Size], work: int, path: Segments) -> tuple[Size, int]:
        text = 0
        for s in sizes:
            if s.length:
                work = _sat(work + s.deep)
            text = _sat(text + _text_length(s))
        work = _sat(work + (text >> 3))
        self.over(work, path, lambda: f"'cat' could build a text of {_amount(text)} characters")
        return Size(0, text >> 3), work

    def loop(self, op: str, args: list[Any], paths: list[Segments], path: Segments,
             env: _Env) -> tuple[Size, int]:
        if not args:
            return SCALAR, 0
        paths = [*paths, *[paths[-1]] * (3 - len(paths))]  # too few operands: reported elsewhere
        items, work = self.node(args[0], paths[0], env)
        body = args[1] if len(args) > 1 else None
        weight = measure(body)[1]
        if op == "reduce":
            initial, w = self.node(args[2], paths[2], env) if len(args) > 2 else (SCALAR, 0)
            return self.reduce(items, initial, _sat(work + w), body, weight, paths[1], path)
        n = items.length
        work = _sat(work + weight * max(items.deep, n))  # the loop's own charge
        self.over(work, path, lambda: f"'{op}' runs its test on up to {_amount(n)} items")
        # Items of unknown sizes: as many average ones, and one that is nearly all of it (the
        # sum is at most this whether the body's cost grows faster than its item or not).
        each = items.item if items.item is not None else _average(items)
        result, per_item = self.node(body, paths[1], _Env(each)) if n else (SCALAR, 0)
        inner = _sat(n * per_item)
        if items.item is None and n:
            big, most = self.node(body, paths[1], _Env(_part(items)))
            inner, result = _sat(inner + most), join(result, big)
        work = _sat(work + inner)
        self.over(work, path, lambda: f"'{op}' runs a costly test on each of up to "
                                      f"{_amount(n)} items")
        if op == "map":
            return Size(n, _sat(n + n * result.deep), result), work
        if op == "filter":
            return items, work
        return SCALAR, work

    def reduce(self, items: Size, acc: Size, work: int, body: Any, weight: int,
               body_path: Segments, path: Segments) -> tuple[Size, int]:
        n = items.length
        element = items.item if items.item is not None else _average(items)
        if items.item is None:  # and one item may be nearly all of it
            work = _sat(work + weight * items.deep)
        for step in range(n):
            data = Size(0, _sat(2 + element.deep + acc.deep),
                        fields=(("current", element), ("accumulator", acc)))
            work = _sat(work + weight * (1 + element.deep + acc.deep))
            result, inner = self.node(body, body_path, _Env(data))
            work = _sat(work + inner)
            grew = result.deep > acc.deep or result.length > acc.length
            doubled = result.deep >= 2 * max(acc.deep, 1)
            self.over(work, path, partial(_reduce_reason, n, step, doubled))
            acc = join(result, acc) if grew else acc
            if not grew:  # the same step from here on: the rest cost the same
                work = _sat(work + (n - step - 1) * (weight * (1 + element.deep + acc.deep) + inner))
                self.over(work, path, lambda: f"'reduce' runs a costly step on each of up to "
                                              f"{_amount(n)} items")
                break
        work = _sat(work + acc.deep)
        self.over(work, path, lambda: f"'reduce' could build a value of {_amount(acc.deep)} parts")
        return acc, work


def _reduce_reason(n: int, step: int, doubled: bool) -> str:
    if doubled:
        return (f"'reduce' doubles its accumulator on each of up to {_amount(n)} items (it is "
                f"merged or joined with itself), so it outgrows any limit after {step + 1}")
    return f"'reduce' grows its accumulator on each of up to {_amount(n)} items"


def _average(s: Size) -> Size:
    d = s.deep // max(s.length, 1)
    return Size(d, d)


def _part(s: Size) -> Size:
    return Size(s.deep, s.deep)


def _join_all(sizes: list[Size]) -> Size | None:
    out: Size | None = None
    for s in sizes:
        out = s if out is None else join(out, s)
    return out


def _amount(n: int) -> str:
    return "more than 10^15" if n >= CAP else f"{n:,}"


def check_cost(logic: Any, at: Segments, catalog: Catalog) -> list[Problem]:
    """A problem when the expression's estimated work goes over ``MAX_WORK``, else none."""
    try:
        _Estimator(catalog).node(logic, tuple(at), _Env())
    except TooCostly as exc:
        return [Problem(exc.path, exc.message, code="too_costly")]
    return []
