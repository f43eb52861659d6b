"""JsonLogic over columns of facts: one condition, every SKU×warehouse at once (issue #16).

``vectorize(expr)`` returns a function of a ``Columns`` (fact path → numpy column) that answers
two boolean arrays: ``hit`` (the condition is truthy on that row) and ``unsure`` (a row whose
answer might differ from the per-event evaluation: a null operand of arithmetic or a
comparison, a division by zero, a non-finite result, operands equal to within rounding). The
caller evaluates the unsure rows one by one with the compiled condition, so the whole answer is
exactly the per-event one. An operator or a mix of types this module does not vectorise raises
``Unsupported`` when the condition is vectorised or run: the caller then evaluates every row
one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

NUM, BOOL, STR, LIST = "num", "bool", "str", "list"
CLOSE = 1e-9
"""Relative distance under which two compared numbers are left to the per-event evaluation."""


class Unsupported(Exception):
    """The condition (or a fact it reads) cannot be evaluated over columns."""


@dataclass
class Col:
    """A column of values of one kind; ``null`` marks the rows without a value (None: none)."""

    kind: str
    values: Any  # np.ndarray, or a scalar broadcast to every row
    null: np.ndarray | None = None
    # the very floats the per-event facts hold (same operations in the same order): an order
    # or equality between two such columns needs no margin of doubt
    exact: bool = False


class Columns:
    """The facts of ``n`` rows by path, built on first use by ``provide(path)`` (None: unknown)."""

    def __init__(self, n: int, provide: Callable[[str], Col | None]) -> None:
        self.n = n
        self._provide = provide
        self._cache: dict[str, Col | None] = {}

    def get(self, path: str) -> Col | None:
        if path not in self._cache:
            self._cache[path] = self._provide(path)
        return self._cache[path]


Vectorized = Callable[[Columns], tuple[np.ndarray, np.ndarray]]


def vectorize(expr: Any) -> Vectorized:
    """The condition as a function of columns: (hit, unsure) boolean arrays."""
    _shape_check(expr)

    def run(cols: Columns) -> tuple[np.ndarray, np.ndarray]:
        ev = _Eval(cols)
        value = ev.eval(expr)
        return ev.broadcast(_truthy(value, ev)), ev.unsure

    return run


def _shape_check(expr: Any) -> None:
    """Refuse early what ``_Eval`` never handles (operators outside the vectorised set)."""
    if isinstance(expr, Mapping):
        if len(expr) != 1:
            raise Unsupported("an object that is not one operation")
        op, args = next(iter(expr.items()))
        if op not in _OPS:
            raise Unsupported(f"operator {op!r}")
        for a in args if isinstance(args, list) else [args]:
            _shape_check(a)
    elif isinstance(expr, list) and any(isinstance(e, Mapping | list) for e in expr):
        raise Unsupported("a list of expressions")


class _Eval:
    def __init__(self, cols: Columns) -> None:
        self.cols = cols
        self.n = cols.n
        self.unsure = np.zeros(cols.n, dtype=bool)

    def broadcast(self, values: Any) -> np.ndarray:
        arr = np.asarray(values)
        return np.broadcast_to(arr, (self.n,)).copy() if arr.shape != (self.n,) else arr

    def eval(self, expr: Any) -> Col:
        if isinstance(expr, Mapping):
            op, args = next(iter(expr.items()))
            args = list(args) if isinstance(args, list) else [args]
            return _OPS[op](self, args)
        if isinstance(expr, bool):
            return Col(BOOL, expr)
        if isinstance(expr, int | float):
            return Col(NUM, float(expr), exact=float(expr) == expr)
        if isinstance(expr, str):
            return Col(STR, expr)
        if isinstance(expr, list):
            return Col(LIST, expr)
        raise Unsupported(f"the constant {expr!r}")

    def doubt(self, mask: Any) -> None:
        self.unsure |= self.broadcast(mask)

    def num(self, col: Col) -> Any:
        """A numeric operand: null rows count as 0 and are left to the per-event path."""
        if col.kind == BOOL:
            raise Unsupported("arithmetic or order on true/false")
        if col.kind != NUM:
            raise Unsupported(f"arithmetic or order on {col.kind}")
        if col.null is not None:
            self.doubt(col.null)
            return np.where(col.null, 0.0, col.values)
        return col.values


def _var(ev: _Eval, args: list[Any]) -> Col:
    path = args[0] if args else ""
    if not isinstance(path, str):
        raise Unsupported("a computed variable name")
    col = ev.cols.get(path)
    if col is None:
        raise Unsupported(f"the fact {path!r}")
    if len(args) < 2 or col.null is None:
        return col
    default = ev.eval(args[1])
    if default.kind != col.kind or isinstance(default.values, np.ndarray):
        raise Unsupported("a default of another type")
    values = np.where(col.null, default.values, col.values) if col.kind == NUM else \
        np.array([default.values if z else v for v, z in zip(col.values, col.null)], dtype=object)
    return Col(col.kind, values)


def _compare(op: str) -> Callable[[_Eval, list[Any]], Col]:
    fn = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[op]

    def run(ev: _Eval, args: list[Any]) -> Col:
        if len(args) not in (2, 3):
            raise Unsupported(f"{op} with {len(args)} operands")
        operands = [ev.eval(a) for a in args]
        values = [ev.num(c) for c in operands]
        out: Any = True
        for (ca, a), (cb, b) in pairwise(zip(operands, values, strict=True)):
            ev.doubt(_close(a, b, ca.exact and cb.exact))
            out = out & fn(a, b)
        return Col(BOOL, out)

    return run


def _close(a: Any, b: Any, exact: bool = False) -> Any:
    """Rows where ``a`` and ``b`` are too close to order for sure (any, unless both are
    ``exact``), or not finite."""
    with np.errstate(invalid="ignore"):
        odd = ~np.isfinite(a) | ~np.isfinite(b)
        if exact:
            return odd
        scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1.0)
        return (np.abs(a - b) <= CLOSE * scale) | odd


def _equal(negate: bool) -> Callable[[_Eval, list[Any]], Col]:
    def run(ev: _Eval, args: list[Any]) -> Col:
        if len(args) != 2:
            raise Unsupported("equality needs two operands")
        a, b = ev.eval(args[0]), ev.eval(args[1])
        if a.kind != b.kind or a.kind not in (NUM, STR, BOOL):
            raise Unsupported("equality between values of different types")
        for c in (a, b):
            if c.null is not None:
                ev.doubt(c.null)
        if a.kind == NUM:
            x, y = ev.num(a), ev.num(b)
            ev.doubt(_close(x, y, a.exact and b.exact))
            same = np.equal(x, y)
        elif a.kind == STR:
            same = _str_equal(a.values, b.values)
        else:
            same = np.equal(a.values, b.values)
        return Col(BOOL, ~same if negate else same)

    return run


def _str_equal(a: Any, b: Any) -> Any:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.asarray(a, dtype=object) == np.asarray(b, dtype=object)
    return a == b


def _logic(kind: str) -> Callable[[_Eval, list[Any]], Col]:
    def run(ev: _Eval, args: list[Any]) -> Col:
        if not args:
            raise Unsupported(f"{kind} without operands")
        cols = [ev.eval(a) for a in args]
        if any(c.kind != BOOL or c.null is not None for c in cols):
            raise Unsupported(f"{kind} of values that are not true/false")
        out = cols[0].values
        for c in cols[1:]:
            out = (out & c.values) if kind == "and" else (out | c.values)
        return Col(BOOL, out)

    return run


def _truthy(col: Col, ev: _Eval) -> Any:
    if col.kind == BOOL:
        values = col.values
    elif col.kind == NUM:
        with np.errstate(invalid="ignore"):
            values = (np.asarray(col.values) != 0) & ~np.isnan(col.values)
    elif col.kind == STR:
        values = np.array([bool(v) for v in np.broadcast_to(col.values, (ev.n,))])
    else:
        raise Unsupported("truthiness of a list")
    if col.null is not None:
        values = np.where(col.null, False, values)
    return values


def _not(ev: _Eval, args: list[Any]) -> Col:
    return Col(BOOL, ~ev.broadcast(_truthy(ev.eval(args[0]), ev)))


def _notnot(ev: _Eval, args: list[Any]) -> Col:
    return Col(BOOL, ev.broadcast(_truthy(ev.eval(args[0]), ev)))


def _arith(op: str) -> Callable[[_Eval, list[Any]], Col]:
    def run(ev: _Eval, args: list[Any]) -> Col:
        values = [ev.num(ev.eval(a)) for a in args]
        if not values:
            raise Unsupported(f"{op} without operands")
        with np.errstate(all="ignore"):
            if op == "-" and len(values) == 1:
                out = -values[0]
            elif op in ("-", "/") and len(values) != 2:
                raise Unsupported(f"{op} with {len(values)} operands")
            elif op == "-":
                out = values[0] - values[1]
            elif op == "/":
                ev.doubt(np.equal(values[1], 0))
                out = np.divide(values[0], values[1])  # a constant 0 too: inf/nan, unsure
            elif op == "+":
                out = values[0] + 0.0 if len(values) == 1 else _fold(np.add, values)
            elif op == "*":
                if len(values) == 1:
                    raise Unsupported("* with one operand")
                out = _fold(np.multiply, values)
            elif op == "min":
                out = _fold(np.minimum, values)
            else:
                out = _fold(np.maximum, values)
        ev.doubt(~np.isfinite(out))
        return Col(NUM, out)

    return run


def _fold(fn: Any, values: list[Any]) -> Any:
    out = values[0]
    for v in values[1:]:
        out = fn(out, v)
    return out


def _if(ev: _Eval, args: list[Any]) -> Col:
    if len(args) != 3:
        raise Unsupported("if with other than three operands")
    cond = ev.broadcast(_truthy(ev.eval(args[0]), ev))
    a, b = ev.eval(args[1]), ev.eval(args[2])
    if a.kind != b.kind or a.kind not in (NUM, BOOL) or a.null is not None or b.null is not None:
        raise Unsupported("if whose branches differ in type")
    return Col(a.kind, np.where(cond, a.values, b.values))


def _in(ev: _Eval, args: list[Any]) -> Col:
    if len(args) != 2:
        raise Unsupported("in needs two operands")
    item, within = ev.eval(args[0]), ev.eval(args[1])
    if item.kind == STR and within.kind == LIST and not isinstance(within.values, np.ndarray):
        if isinstance(item.values, np.ndarray):
            if item.null is not None:
                ev.doubt(item.null)
            return Col(BOOL, np.isin(item.values, list(within.values)))
        return Col(BOOL, item.values in within.values)
    if item.kind == STR and not isinstance(item.values, np.ndarray) and within.kind in (LIST, STR):
        if within.null is not None:
            ev.doubt(within.null)
        target = item.values
        flags = [v is not None and target in v for v in ev.broadcast(within.values)]
        return Col(BOOL, np.array(flags, dtype=bool))
    raise Unsupported("in other than a text in a list or a text")


_OPS: dict[str, Callable[[_Eval, list[Any]], Col]] = {
    "var": _var,
    "<": _compare("<"), "<=": _compare("<="), ">": _compare(">"), ">=": _compare(">="),
    "==": _equal(False), "===": _equal(False), "!=": _equal(True), "!==": _equal(True),
    "and": _logic("and"), "or": _logic("or"), "!": _not, "!!": _notnot,
    "+": _arith("+"), "-": _arith("-"), "*": _arith("*"), "/": _arith("/"),
    "min": _arith("min"), "max": _arith("max"),
    "if": _if, "?:": _if,
    "in": _in,
}
