"""JsonLogic to Python source, compiled once per expression: the operator allow-list and generator.

Safety: no text from the document ever enters the generated source. Every literal of the
expression (text, numbers, lists, ``var`` paths) goes into a constants tuple ``K``, unpacked into
locals ``c0, c1, …``; the source holds only the fixed fragments written here, generated local names
(``v0``, ``c3``, ``b1``) and integers. It runs with no builtins, seeing only the runtime helpers of
``jsonlogic_ops.RUNTIME``, and only operators of ``OPERATORS`` compile: anything else raises.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

from engine.rules.jsonlogic_budget import CHARGED, MAX_SAFE, js_number
from engine.rules.jsonlogic_ops import RUNTIME, array_index, to_str

MAX_DEPTH = 32
MAX_NODES = 2000
MAX_LIST = 1000


@dataclass(frozen=True)
class OpSpec:
    """What the checker knows of an operator: arity, operand and result types, in plain words."""

    name: str
    min_args: int
    max_args: int | None
    result: str  # number | string | boolean | array | any | same (the type of its operands)
    operands: str = "any"  # the type every operand should have: number | any
    what: str = ""  # what it does, for messages: "'<' compares numbers"


def _ops(*specs: OpSpec) -> dict[str, OpSpec]:
    return {s.name: s for s in specs}


OPERATORS: dict[str, OpSpec] = _ops(
    OpSpec("and", 1, None, "same", what="is true when all its operands are"),
    OpSpec("or", 1, None, "same", what="is true when any operand is"),
    OpSpec("!", 1, 1, "boolean", what="negates"),
    OpSpec("!!", 1, 1, "boolean", what="tests for a value"),
    OpSpec("if", 2, None, "same", what="chooses a value"),
    OpSpec("?:", 3, 3, "same", what="chooses a value"),
    OpSpec("==", 2, 2, "boolean", what="compares"),
    OpSpec("!=", 2, 2, "boolean", what="compares"),
    OpSpec("===", 2, 2, "boolean", what="compares"),
    OpSpec("!==", 2, 2, "boolean", what="compares"),
    OpSpec("<", 2, 3, "boolean", "number", "compares numbers"),
    OpSpec("<=", 2, 3, "boolean", "number", "compares numbers"),
    OpSpec(">", 2, 2, "boolean", "number", "compares numbers"),
    OpSpec(">=", 2, 2, "boolean", "number", "compares numbers"),
    OpSpec("+", 1, None, "number", "number", "adds numbers"),
    OpSpec("-", 1, 2, "number", "number", "subtracts numbers"),
    OpSpec("*", 2, None, "number", "number", "multiplies numbers"),  # 1 operand: returned as is
    OpSpec("/", 2, 2, "number", "number", "divides numbers"),
    OpSpec("%", 2, 2, "number", "number", "takes the remainder of a division"),
    OpSpec("min", 1, None, "number", "number", "picks the smallest number"),
    OpSpec("max", 1, None, "number", "number", "picks the largest number"),
    OpSpec("in", 2, 2, "boolean", what="looks for an item in a list or for text inside text"),
    OpSpec("cat", 1, None, "string", what="joins text"),
    OpSpec("substr", 2, 3, "string", what="cuts text"),
    OpSpec("merge", 0, None, "array", what="joins lists"),
    OpSpec("var", 0, 2, "any", what="reads a fact"),
    OpSpec("missing", 0, None, "array", what="lists the facts without a value"),
    OpSpec("missing_some", 2, 2, "array", what="lists the facts without a value"),
    OpSpec("map", 2, 2, "array", what="transforms each item of a list"),
    OpSpec("filter", 2, 2, "array", what="keeps the items of a list that match"),
    OpSpec("reduce", 2, 3, "any", what="combines the items of a list"),
    OpSpec("all", 2, 2, "boolean", what="tests every item of a list"),
    OpSpec("some", 2, 2, "boolean", what="tests the items of a list"),
    OpSpec("none", 2, 2, "boolean", what="tests the items of a list"),
    OpSpec("log", 1, 1, "same", what="returns its operand"),
)
# Operators whose second operand is evaluated once per item, with the item as the data.
SCOPED = frozenset({"map", "filter", "reduce", "all", "some", "none"})


def operands(logic: dict[Any, Any]) -> tuple[Any, list[Any]]:
    """The operator of a one-key object and its operands (a lone operand is a list of one)."""
    ((op, args),) = logic.items()
    return op, args if type(args) is list else [args]


def measure(logic: Any) -> tuple[int, int]:
    """Nesting depth and node count, without recursion; stops counting past the limits."""
    stack, depth, nodes = [(logic, 1)], 0, 0
    while stack and depth <= MAX_DEPTH and nodes <= MAX_NODES:
        node, level = stack.pop()
        nodes, depth = nodes + 1, max(depth, level)
        if type(node) is dict:
            children = operands(node)[1] if len(node) == 1 else list(node.values())
        else:
            children = node if type(node) is list else []
        stack.extend((child, level + 1) for child in children)
    return depth, nodes


def too_big(logic: Any) -> None:
    """Raise ``ValueError`` for an expression over the limits that ``check`` reports."""
    depth, nodes = measure(logic)
    if depth > MAX_DEPTH or nodes > MAX_NODES:
        raise ValueError(
            f"expression too large to compile (limits: depth {MAX_DEPTH}, {MAX_NODES} nodes)"
        )


@dataclass(frozen=True)
class _Val:
    """A compiled operand: a name to read it by, and what Python type it surely has, if known."""

    expr: str
    kind: str = "any"  # bool | num | str | any | undef
    # A test, made only of names that are never reassigned, true when the value is a plain
    # number (int or float, not bool): lets a comparison skip its own type test.
    num: str | None = None
    # ``expr`` is a parenthesised expression, not a name: arithmetic or a comparison of plain
    # numbers (or of text), which has no effect and cannot raise, so its parent may write it
    # inline. ``if s1 < (s3 * c4):`` runs as one compare-and-jump, which CPython specialises
    # for floats; ``v2 = s1 < v1`` then ``if v2:`` does not (a tenth of a rule's time).
    pure: bool = False


_UNDEF = _Val("UNDEF", "undef")
_NONE = _Val("None", "any")


class _Block:
    """Lines of one generated function, with the current indentation."""

    def __init__(self, indent: int) -> None:
        self.lines: list[str] = []
        self.indent = indent

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    @contextmanager
    def nested(self, header: str) -> Iterator[None]:
        self.emit(header)
        self.indent += 1
        try:
            yield
        finally:
            self.indent -= 1


def _test(val: _Val) -> str:
    """A Python condition true when ``val`` is JsonLogic-truthy."""
    return val.expr if val.kind == "bool" else f"TRUTHY({val.expr})"


def _num_guard(vals: list[_Val]) -> str | None:
    """Condition under which all operands are plain numbers: "" always, None never."""
    if any(v.kind in ("str", "bool", "undef") for v in vals):
        return None
    # ``(t := type(x)) is int or t is float`` is the fastest test that leaves bool out; an
    # operand that carries its own test (a fact read once per call, ``num``) reuses it.
    tests = [v.num or f"((t{i} := TYPE({v.expr})) is INT or t{i} is FLOAT)"
             for i, v in enumerate(vals)]
    return " and ".join(t for t, v in zip(tests, vals, strict=True) if v.kind != "num")


def _num_flag(vals: list[_Val]) -> str | None:
    """The guard of ``vals`` when it is made of ``num`` tests only (so it can be re-read later)."""
    if any(v.kind != "num" and not v.num for v in vals):
        return None
    return " and ".join(v.num for v in vals if v.kind != "num" and v.num)


def _eq_guard(a: _Val, b: _Val) -> str | None:
    """Condition under which Python ``==`` is JavaScript's ``==`` and ``===`` for these operands."""
    kinds = {a.kind, b.kind}
    if len(kinds) == 1 and a.kind in ("num", "str", "bool"):
        return ""
    if kinds == {"str", "any"}:
        return f"TYPE({(b if a.kind == 'str' else a).expr}) is STR"
    return _num_guard([a, b])


def _choose(fast: str, guard: str | None, slow: str) -> str:
    if guard == "":
        return fast
    return slow if guard is None else f"{fast} if {guard} else {slow}"


def _fast_path(parts: tuple[str, ...]) -> bool:
    """A path of plain keys: every failed lookup on it means 'no value', as in JavaScript."""
    return all(p != "length" and array_index(p) is None for p in parts)


class _Generator:
    """Turns one expression into the source of ``_make(K)``, which returns the compiled function."""

    def __init__(self, known: Mapping[tuple[str, ...], str] | None = None) -> None:
        self.consts: list[Any] = []
        self.bodies: list[list[str]] = []
        self.count = 0
        # Set by ``fused``: ``var`` paths read once at the top of the function, by path prefix.
        self.shared: dict[tuple[str, ...], str] | None = None
        self.loads: _Block | None = None
        self.flags: dict[str, str] | None = None  # shared local -> its number test
        # Paths of the data that always hold a value of a kind ("num": int or float, not bool;
        # "str"), as the caller guarantees (``build_many``): their tests are left out.
        self.known = known or {}

    def module(self, logic: Any) -> str:
        main = self.function("_f", logic)
        names = [f"c{i}" for i in range(len(self.consts))]
        unpack = [f"    {', '.join(names)}, = K"] if names else []
        lines = ["def _make(K):", *unpack, *(ln for b in self.bodies for ln in b), *main]
        return "\n".join([*lines, "    return _f", ""])

    def function(self, name: str, logic: Any, body: bool = False) -> list[str]:
        """``name(d)``, or ``name(d, f)`` for a body: it spends the fuel of its caller. A
        function whose expression loops or builds takes a full cell of fuel when it starts."""
        block = _Block(2)
        if not body and costly(logic):
            block.emit("f = [FUEL]")
        result = self.value(block, logic)
        block.emit(f"return {result.expr}")
        return [f"    def {name}(d{', f' if body else ''}):", *block.lines]

    def const(self, value: Any) -> str:
        self.consts.append(value)
        return f"c{len(self.consts) - 1}"

    def as_float(self, val: _Val) -> _Val:
        """An integer literal compared with plain numbers, as the equal float: the comparison
        says the same (exactly, up to 2**53), and CPython's float compare-and-jump applies."""
        if val.expr.startswith("c") and val.expr[1:].isdigit():
            value = self.consts[int(val.expr[1:])]
            if type(value) is int and abs(value) <= 2**53:
                return _Val(self.const(float(value)), "num")
        return val

    def temp(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def assign(self, out: _Block, expr: str, kind: str = "any") -> _Val:
        name = self.temp()
        out.emit(f"{name} = {expr}")
        return _Val(name, kind)

    def value(self, out: _Block, logic: Any) -> _Val:
        t = type(logic)
        if t is dict and len(logic) == 1:
            op, args = operands(logic)
            handler = _HANDLERS.get(op) if type(op) is str else None
            if handler is None or op not in OPERATORS:
                raise ValueError(f"{op!r} is not an allowed JsonLogic operator")
            return handler(self, out, args)
        if t is list:
            return self.array(out, logic)
        if logic is None:
            return _NONE
        kind = {bool: "bool", int: "num", float: "num", str: "str"}.get(t, "any")
        if t is int and not -MAX_SAFE <= logic <= MAX_SAFE:
            logic = js_number(logic)  # as JavaScript reads it: big whole numbers are floats
        return _Val(self.const(logic), kind)

    def array(self, out: _Block, items: list[Any]) -> _Val:
        if all(type(x) is not dict and type(x) is not list for x in items):
            return self.assign(out, f"[*{self.const(tuple(items))}]")  # a fresh list per call
        vals = [self.value(out, x).expr for x in items]
        return self.assign(out, f"[{', '.join(vals)}]")

    def values(self, out: _Block, args: list[Any]) -> list[_Val]:
        return [self.value(out, a) for a in args]

    def call(
        self, out: _Block, helper: str, args: list[Any], *lead: str, kind: str = "any"
    ) -> _Val:
        names = [*lead, *(v.expr for v in self.values(out, args))]
        return self.assign(out, f"{helper}({', '.join(names)})", kind)

    def body(self, logic: Any) -> str:
        """Compile the per-item operand of map/filter/… as its own function ``bN(d)``."""
        index = len(self.bodies)
        self.bodies.append([])  # reserve the slot: the body may hold bodies of its own
        shared, self.shared = self.shared, None  # there ``d`` is the item: nothing is shared
        try:
            self.bodies[index] = self.function(f"b{index}", logic, body=True)
        finally:
            self.shared = shared
        return f"b{index}"

    def shared_load(self, parts: tuple[str, ...]) -> str:
        """The local holding the value at a plain-key path, read once per call (``fused``).

        Each prefix is its own local, so ``stock.available`` and ``stock.on_hand`` index
        ``d["stock"]`` once. Reading ``a`` then ``[b]`` fails exactly when ``d[a][b]`` does, and
        reading facts has no effect, so reading them before every condition, even one that
        short-circuits past them, gives the same values.
        """
        assert self.shared is not None and self.loads is not None
        source = "d"
        for i in range(1, len(parts) + 1):
            name = self.shared.get(parts[:i])
            if name is None:
                name = self.shared[parts[:i]] = f"s{len(self.shared)}"
                with self.loads.nested("try:"):
                    self.loads.emit(f"{name} = {source}[{self.const(parts[i - 1])}]")
                with self.loads.nested("except LOOKUP_ERRORS:"):
                    self.loads.emit(f"{name} = None")
            source = name
        return source

    def shared_flag(self, name: str) -> str:
        """``n<k>``: whether the shared local ``name`` holds a plain number, tested once per call."""
        assert self.flags is not None and self.loads is not None
        flag = self.flags.get(name)
        if flag is None:
            flag = self.flags[name] = f"n{name[1:]}"
            self.loads.emit(f"{flag} = (t := TYPE({name})) is INT or t is FLOAT")
        return flag

    def _used_loads(self, body: list[str]) -> list[str]:
        """The loads, without the number tests that no condition ended up reading."""
        assert self.loads is not None and self.flags is not None
        text = "\n".join(body)
        unused = {f for f in self.flags.values() if not re.search(rf"\b{f}\b", text)}
        return [ln for ln in self.loads.lines if ln.strip().split(" = ", 1)[0] not in unused]

    def fused(self, conditions: list[Any]) -> str:
        """Source of ``_make(K)`` returning ``_all(d)``: every condition on the same data.

        ``_all`` returns the conditions whose result is truthy by ``RESULT_TRUTHY`` (the
        caller's definition) as a bit mask (bit ``i`` for condition ``i``), or, when some
        raised, ``(mask, [(index, exception), ...])``; ``hits_of`` reads either. Nothing hit
        is ``0``, the usual answer, made without building a list or a tuple. Facts read by
        several conditions are read once (``shared_load``); each condition keeps its own
        ``try`` so that one failing does not stop the others.
        """
        self.shared, self.loads, self.flags = {}, _Block(2), {}
        first = _first_of_each(conditions)
        repeated = set(first.values())
        block = _Block(2)
        block.emit("h = 0")
        block.emit("e = None")
        for index, logic in enumerate(conditions):
            earlier = first.get(index)
            if earlier is not None:  # the same condition again: its answer, not a second run
                with block.nested(f"if r{earlier} is True:"):
                    block.emit(f"h |= {1 << index}")
                with block.nested(f"elif r{earlier} is not False:"):
                    with block.nested("if e is None:"):
                        block.emit("e = []")
                    block.emit(f"e.append(({index}, r{earlier}))")
                continue
            remember = index in repeated
            if remember:
                block.emit(f"r{index} = False")
            with block.nested("try:"):
                if costly(logic):
                    block.emit("f = [FUEL]")  # each condition its own budget
                result = self.value(block, logic)
                test = result.expr if result.kind == "bool" else f"RESULT_TRUTHY({result.expr})"
                with block.nested(f"if {test}:"):
                    block.emit(f"h |= {1 << index}")
                    if remember:
                        block.emit(f"r{index} = True")
            with block.nested("except EXCEPTION as x:"):
                with block.nested("if e is None:"):
                    block.emit("e = []")
                block.emit(f"e.append(({index}, x))")
                if remember:
                    block.emit(f"r{index} = x")
        with block.nested("if e is None:"):
            block.emit("return h")
        block.emit("return h, e")
        names = [f"c{i}" for i in range(len(self.consts))]
        unpack = [f"    {', '.join(names)}, = K"] if names else []
        lines = ["def _make(K):", *unpack, *(ln for b in self.bodies for ln in b),
                 "    def _all(d):", *self._used_loads(block.lines), *block.lines,
                 "    return _all", ""]
        return "\n".join(lines)


def _first_of_each(conditions: list[Any]) -> dict[int, int]:
    """For each condition equal to an earlier one, the index of the first: a pure expression
    on the same data says the same thing twice (rules that differ only in their actions, or in
    their owners, share their condition). Equal means equal JSON text, which tells ``1``,
    ``1.0`` and ``true`` apart."""
    seen: dict[str, int] = {}
    first: dict[int, int] = {}
    for index, logic in enumerate(conditions):
        try:
            key = json.dumps(logic, sort_keys=True)
        except (TypeError, ValueError):
            continue
        earlier = seen.setdefault(key, index)
        if earlier != index:
            first[index] = earlier
    return first


Handler = Callable[[_Generator, _Block, list[Any]], _Val]


def _var(gen: _Generator, out: _Block, args: list[Any]) -> _Val:
    key = args[0] if args else None
    computed = gen.value(out, key) if type(key) in (dict, list) else None
    default = gen.value(out, args[1]) if len(args) > 1 and args[1] is not None else _NONE
    if computed is not None:
        return gen.assign(out, f"VAR(d, {computed.expr}, {default.expr})")
    if key is None or (type(key) is str and key == ""):
        return _Val("d")
    parts = tuple(to_str(key).split("."))
    if not _fast_path(parts):
        return gen.assign(out, f"GET_PATH(d, {gen.const(parts)}, {default.expr})")
    if gen.shared is not None:
        source = gen.shared_load(parts)  # an ``s`` name: never reassigned
        kind = gen.known.get(parts)
        if kind is not None:  # always there, never null: a default never applies
            return _Val(source, kind)
        flag = gen.shared_flag(source)
        if default is _NONE:
            return _Val(source, num=flag)
        name = gen.assign(out, source).expr
        with out.nested(f"if {name} is None:"):
            out.emit(f"{name} = {default.expr}")
        # a number when the fact is one, or when it is null and the default is a number
        return _Val(name, num=f"({flag} or {source} is None)" if default.kind == "num" else None)
    name = gen.temp()
    with out.nested("try:"):
        out.emit(f"{name} = d{''.join(f'[{gen.const(p)}]' for p in parts)}")
    with out.nested("except LOOKUP_ERRORS:"):
        out.emit(f"{name} = None")
    if default is not _NONE:
        with out.nested(f"if {name} is None:"):
            out.emit(f"{name} = {default.expr}")
    return _Val(name)


def _and_or(gen: _Generator, out: _Block, args: list[Any], is_and: bool) -> _Val:
    if not args:
        return _NONE
    first = gen.value(out, args[0])
    word = " and " if is_and else " or "
    pure = [first.expr] if first.pure and first.kind == "bool" else None
    result = ""
    kinds = [first.kind]
    for arg in args[1:]:
        later = _Block(out.indent + 1)
        val = gen.value(later, arg)
        kinds.append(val.kind)
        if pure is not None and not later.lines and val.pure and val.kind == "bool":
            pure.append(val.expr)  # Python's and/or of booleans: JsonLogic's, short-circuited
            continue
        if not result:
            joined = _Val(f"({word.join(pure)})", "bool") if pure else first
            result = joined.expr if _is_temp(joined) else gen.assign(out, joined.expr).expr
            pure = None
        test = _test(_Val(result, "bool" if set(kinds[:-1]) == {"bool"} else "any"))
        out.emit(f"if {test}:" if is_and else f"if not {test}:")
        out.lines += later.lines
        out.emit(f"    {result} = {val.expr}")
    if pure is not None:
        return _Val(f"({word.join(pure)})" if len(pure) > 1 else pure[0], "bool", pure=True)
    if not result:
        result = first.expr if _is_temp(first) else gen.assign(out, first.expr).expr
    return _Val(result, "bool" if set(kinds) == {"bool"} else "any")


def _is_temp(val: _Val) -> bool:
    """A temporary is assigned once and read only by its parent, which may then reuse it."""
    return val.expr.startswith("v")


def _if(gen: _Generator, out: _Block, args: list[Any]) -> _Val:
    if len(args) < 2:
        return gen.value(out, args[0]) if args else _NONE
    result, kinds = gen.temp(), []
    pairs = [(args[i], args[i + 1]) for i in range(0, len(args) - 1, 2)]
    otherwise = args[-1] if len(args) % 2 else None
    pending = gen.temp() if len(pairs) > 1 else ""
    if pending:
        out.emit(f"{pending} = True")
    for i, (cond, then) in enumerate(pairs):
        with out.nested(f"if {pending}:") if pending and i else nullcontext():
            test = _test(gen.value(out, cond))
            with out.nested(f"if {test}:"):
                kinds.append(_branch(gen, out, then, result))
                if pending:
                    out.emit(f"{pending} = False")
    with out.nested(f"if {pending}:" if pending else "else:"):
        kinds.append(_branch(gen, out, otherwise, result))
    return _Val(result, "bool" if set(kinds) == {"bool"} else "any")


def _branch(gen: _Generator, out: _Block, logic: Any, result: str) -> str:
    val = gen.value(out, logic)
    out.emit(f"{result} = {val.expr}")
    return val.kind


def _not(gen: _Generator, out: _Block, args: list[Any]) -> _Val:
    val = gen.value(out, args[0]) if args else _UNDEF
    return gen.assign(out, f"not {_test(val)}", "bool")


def _truthy(gen: _Generator, out: _Block, args: list[Any]) -> _Val:
    val = gen.value(out, args[0]) if args else _UNDEF
    return val if val.kind == "bool" else gen.assign(out, _test(val), "bool")


def _two(gen: _Generator, out: _Block, args: list[Any]) -> list[_Val]:
    """Evaluate every operand (as JavaScript does) and return the first two, padded."""
    vals = gen.values(out, args)
    return (vals + [_UNDEF, _UNDEF])[: max(2, len(vals))]


def _equality(py_op: str, helper: str, negate: bool) -> Handler:
    def handler(gen: _Generator, out: _Block, args: list[Any]) -> _Val:
        a, b = _two(gen, out, args)[:2]
        slow = f"{'not ' if negate else ''}{helper}({a.expr}, {b.expr})"
        guard = _eq_guard(a, b)
        if guard == "" and a.kind == "num":
            a, b = gen.as_float(a), gen.as_float(b)
        if guard == "" and a.kind != "bool":  # numbers or texts: no effect, no error
            return _Val(f"({a.expr} {py_op} {b.expr})", "bool", pure=True)
        return gen.assign(out, _choose(f"{a.expr} {py_op} {b.expr}", guard, slow), "bool")

    return handler


def _relation(py_op: str, helper: str, between: bool) -> Handler:
    def handler(gen: _Generator, out: _Block, args: list[Any]) -> _Val:
        vals = _two(gen, out, args)
        used = vals[:3] if between and len(vals) > 2 else vals[:2]
        if _num_guard(used) == "":
            used = [gen.as_float(v) for v in used]
        fast = f" {py_op} ".join(v.expr for v in used)
        slow = " and ".join(
            f"{helper}({x.expr}, {y.expr})" for x, y in zip(used, used[1:], strict=False)
        )
        guard = _num_guard(used)
        if guard == "":  # plain numbers: no effect, no error
            return _Val(f"({fast})", "bool", pure=True)
        return gen.assign(out, _choose(fast, guard, slow), "bool")

    return handler


PURE_ARITHMETIC = frozenset({"+", "-", "*"})  # on plain numbers they never raise (``/`` may)


def _arith(py_op: str, helper: str, max_args: int | None) -> Handler:
    def handler(gen: _Generator, out: _Block, args: list[Any]) -> _Val:
        vals = gen.values(out, args)
        used = vals[:max_args] if max_args else vals
        slow = f"{helper}({', '.join(v.expr for v in used)})"
        if len(used) < 2:
            fast, guard = (
                (f"-{used[0].expr}", _num_guard(used)) if py_op == "-" and used else ("", None)
            )
        else:
            fast, guard = f" {py_op} ".join(v.expr for v in used), _num_guard(used)
        if guard == "":
            if py_op in PURE_ARITHMETIC and len(used) >= 2:  # no ZeroDivisionError possible
                return _Val(f"({fast})", "num", pure=True)
            return gen.assign(out, fast, "num")
        # numbers in, a number out (or ZeroDivisionError, raised either way)
        flag = _num_flag(used) if guard is not None and fast else None
        return _Val(gen.assign(out, _choose(fast, guard, slow)).expr, num=flag or None)

    return handler


def _in(gen: _Generator, out: _Block, args: list[Any]) -> _Val:
    haystack = args[1] if len(args) > 1 else None
    if type(haystack) is list and haystack and len(args) == 2:
        kind = _literal_kind(haystack)
        if kind:
            needle = gen.value(out, args[0])
            members = gen.const(frozenset(haystack))
            guard = "TYPE({0}) is STR" if kind == "str" else "TYPE({0}) in NUM"
            test = f"{guard.format(needle.expr)} and {needle.expr} in {members}"
            return gen.assign(out, test, "bool")
    if len(args) == 2 and type(args[0]) is str:  # "cold" in a list fact: Python's own ``in``
        needle, hay = gen.value(out, args[0]), gen.value(out, haystack)
        fast, slow = f"{needle.expr} in {hay.expr}", f"IN({needle.expr}, {hay.expr})"
        return gen.assign(out, f"{fast} if TYPE({hay.expr}) is LIST else {slow}", "bool")
    return gen.call(out, "IN", args, kind="bool")


def _literal_kind(items: list[Any]) -> str:
    """'str' or 'num' when a literal list holds only text or only (non-NaN) numbers."""
    if all(type(x) is str for x in items):
        return "str"
    if all(type(x) in (int, float) and x == x for x in items):
        return "num"
    return ""


def _helper(name: str, with_data: bool = False) -> Handler:
    def handler(gen: _Generator, out: _Block, args: list[Any]) -> _Val:
        return gen.call(out, name, args, *(["d"] if with_data else []))

    return handler


def _scoped(helper: str) -> Handler:
    """A loop: ``HELPER(f, body, items, weight[, initial])``; the weight (the body's size) is
    what each item costs in fuel, times one plus the item's size (``jsonlogic_budget``)."""

    def handler(gen: _Generator, out: _Block, args: list[Any]) -> _Val:
        items = gen.value(out, args[0]) if args else _UNDEF
        logic = args[1] if len(args) > 1 else None
        body = gen.body(logic)
        weight = str(measure(logic)[1])
        extra = [gen.value(out, args[2]).expr] if helper == "REDUCE" and len(args) > 2 else []
        return gen.assign(out, f"{helper}({', '.join(['f', body, items.expr, weight, *extra])})")

    return handler


def _charged(helper: str) -> Handler:
    """An operator that builds (``merge``, ``cat``): it pays the length of what it built."""

    def handler(gen: _Generator, out: _Block, args: list[Any]) -> _Val:
        return gen.call(out, helper, args, "f")

    return handler


COSTLY = frozenset({"map", "filter", "reduce", "all", "some", "none", "merge", "cat"})


def costly(logic: Any) -> bool:
    """Whether an expression loops or builds, and so needs a cell of fuel."""
    stack = [logic]
    while stack:
        node = stack.pop()
        if type(node) is dict:
            if len(node) == 1:
                op, args = operands(node)
                if type(op) is str and op in COSTLY:
                    return True
                stack.extend(args)
            else:
                stack.extend(node.values())
        elif type(node) is list:
            stack.extend(node)
    return False


_HANDLERS: dict[str, Handler] = {
    "var": _var,
    "and": lambda gen, out, args: _and_or(gen, out, args, True),
    "or": lambda gen, out, args: _and_or(gen, out, args, False),
    "if": _if,
    "?:": _if,
    "!": _not,
    "!!": _truthy,
    "==": _equality("==", "EQ", False),
    "!=": _equality("!=", "EQ", True),
    "===": _equality("==", "SEQ", False),
    "!==": _equality("!=", "SEQ", True),
    "<": _relation("<", "LT", True),
    "<=": _relation("<=", "LE", True),
    ">": _relation(">", "GT", False),
    ">=": _relation(">=", "GE", False),
    "+": _arith("+", "ADD", None),
    "*": _arith("*", "MUL", None),
    "-": _arith("-", "SUB", 2),
    "/": _arith("/", "DIV", 2),
    "%": _helper("MOD"),
    "min": _helper("MIN"),
    "max": _helper("MAX"),
    "in": _in,
    "cat": _charged("CAT"),
    "substr": _helper("SUBSTR"),
    "merge": _charged("MERGE"),
    "log": _helper("LOG"),
    "missing": _helper("MISSING", with_data=True),
    "missing_some": _helper("MISSING_SOME", with_data=True),
    "map": _scoped("MAP"),
    "filter": _scoped("FILTER"),
    "reduce": _scoped("REDUCE"),
    "all": _scoped("ALL"),
    "some": _scoped("SOME"),
    "none": _scoped("NONE"),
}


def generate(logic: Any) -> tuple[str, tuple[Any, ...]]:
    """The Python source of ``_make(K)`` for an expression, and the constants ``K`` it needs."""
    too_big(logic)
    gen = _Generator()
    source = gen.module(logic)
    return source, tuple(gen.consts)


def generate_many(conditions: list[Any], known: Mapping[tuple[str, ...], str] | None = None,
                  ) -> tuple[str, tuple[Any, ...]]:
    """The source of ``_make(K)`` for several conditions evaluated together (see ``_Generator.fused``)."""
    for logic in conditions:
        too_big(logic)
    gen = _Generator(known)
    source = gen.fused(conditions)
    return source, tuple(gen.consts)


Fused = Callable[[Any], "int | tuple[int, list[tuple[int, Exception]]]"]


def hits_of(answer: int | tuple[int, list[tuple[int, Exception]]],
            ) -> tuple[list[int], list[tuple[int, Exception]] | None]:
    """A fused function's answer as (indices of the hits in order, failures or None)."""
    errors: list[tuple[int, Exception]] | None = None
    if isinstance(answer, tuple):
        mask, errors = answer
    else:
        mask = answer
    hits = []
    while mask:
        low = mask & -mask
        hits.append(low.bit_length() - 1)
        mask ^= low
    return hits, errors


def build_many(conditions: list[Any], result_truthy: Callable[[Any], bool],
               known: Mapping[tuple[str, ...], str] | None = None) -> Fused:
    """One function evaluating every condition on the same data: a bit mask of the hits, or
    ``(mask, errors)`` when some failed (``hits_of`` reads either).

    The same safe generator as ``build``; the only extra names it sees are ``result_truthy``
    (what counts as a hit for the caller) and ``Exception`` (to report a failing condition).
    ``known``: paths the data always holds, with their kind (``"num"``: an int or float, never
    a bool; ``"str"``), so that the function skips their type tests. Only for data built to
    that promise (``engine.facts.FACT_KINDS``); data that breaks it gets Python's semantics.
    """
    source, consts = generate_many(conditions, known)
    namespace = dict(RUNTIME, **CHARGED, RESULT_TRUTHY=result_truthy, EXCEPTION=Exception)
    exec(builtins.compile(source, "<jsonlogic-fused>", "exec"), namespace)
    function: Fused = namespace["_make"](consts)
    return function


def build(logic: Any) -> Callable[[Any], Any]:
    """Compile an expression into a function of the data (no cache; see ``jsonlogic.compile``)."""
    source, consts = generate(logic)
    namespace = dict(RUNTIME, **CHARGED)
    exec(builtins.compile(source, "<jsonlogic>", "exec"), namespace)
    function: Callable[[Any], Any] = namespace["_make"](consts)
    return function
