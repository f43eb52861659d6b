"""Static check of JsonLogic expressions: shape, operators, facts, types, null handling, limits.

``check`` never evaluates anything and never raises for bad input. Sizes are measured first,
without recursion (``jsonlogic_limits``); only an expression within the limits (depth ≤ 32) is
walked recursively. What a ``var`` reads and which facts may be null: ``jsonlogic_nulls``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.rules.jsonlogic_compile import OPERATORS, SCOPED
from engine.rules.jsonlogic_convert import str_to_number, to_str
from engine.rules.jsonlogic_cost import check_cost
from engine.rules.jsonlogic_limits import limits, located_operands
from engine.rules.jsonlogic_nulls import EQUALITY, null_message, plain_var, tested_before, var_name
from engine.rules.problems import Problem, Segments, did_you_mean
from engine.rules.variables import CONDITION_CATALOG, Catalog, Fact

# Internal types: the catalog's five, plus text that reads as a number, null, and an object.
NUMBER, STRING, BOOLEAN, ARRAY, ANY = "number", "string", "boolean", "array", "any"
NUMERIC_TEXT, NULL, OBJECT = "numeric text", "null", "object"
_PUBLIC = {NUMERIC_TEXT: STRING, NULL: ANY, OBJECT: ANY}
_WORDS = {
    NUMBER: "a number",
    STRING: "text",
    NUMERIC_TEXT: "text",
    BOOLEAN: "true/false",
    ARRAY: "a list",
    NULL: "null (no value)",
    OBJECT: "an object",
}
_FITS = {NUMBER: {NUMBER, NUMERIC_TEXT, ANY}, BOOLEAN: {BOOLEAN, ANY}}
_RELATIONAL = {"<", "<=", ">", ">="}
_ARITHMETIC = {"+", "-", "*", "/", "%", "min", "max"}


@dataclass(frozen=True)
class _T:
    """An inferred type; ``nullable`` when the value may be null at run time."""

    type: str
    nullable: bool = False


@dataclass(frozen=True)
class _Env:
    """Where a node sits: at the top (facts are checked) or in a per-item body, and which
    nullable facts an enclosing ``and``/``or``/``if`` has already tested."""

    top: bool = True
    tested: frozenset[str] = frozenset()

    def knowing(self, names: set[str]) -> _Env:
        return _Env(self.top, self.tested | names) if names else self


@dataclass
class _Checker:
    catalog: Catalog
    problems: list[Problem] = field(default_factory=list)

    def report(self, path: Segments, message: str, code: str) -> None:
        self.problems.append(Problem(segments=path, message=message, code=code))

    def node(self, logic: Any, path: Segments, env: _Env) -> _T:
        t = type(logic)
        if t is dict:
            return self.operation(logic, path, env)
        if t is list:
            for i, item in enumerate(logic):
                self.node(item, (*path, i), env)
            return _T(ARRAY)
        return self.literal(logic, path)

    def literal(self, value: Any, path: Segments) -> _T:
        if value is None:
            return _T(NULL, True)
        if type(value) is bool:
            return _T(BOOLEAN)
        if type(value) in (int, float):
            return _T(NUMBER)
        if type(value) is str:
            looks_numeric = value.strip() != "" and str_to_number(value) == str_to_number(value)
            return _T(NUMERIC_TEXT if looks_numeric else STRING)
        self.report(path, f"{type(value).__name__} is not a JSON value", "invalid")
        return _T(ANY)

    def operation(self, logic: dict[Any, Any], path: Segments, env: _Env) -> _T:
        if len(logic) != 1:
            self.report(path, _shape_message(logic), "invalid")
            return _T(OBJECT)
        ((op, raw),) = logic.items()
        if not self.known_operator(op, path):
            return _T(ANY)
        args, arg_paths = located_operands(raw, (*path, op))
        self.check_arity(op, len(args), path)
        if op == "var":
            return self.var(args, arg_paths, path, env)
        if op in SCOPED:
            return self.scoped(op, args, arg_paths, env)
        if op in ("and", "or", "if", "?:"):
            return self.logic(op, args, arg_paths, env)
        types = [self.node(a, p, env) for a, p in zip(args, arg_paths, strict=True)]
        self.check_operands(op, args, arg_paths, types, env)
        return _result(op, types)

    def known_operator(self, op: Any, path: Segments) -> bool:
        if op == "method":
            self.report(
                path,
                "'method' is not supported: a rule cannot call methods on the data",
                "unknown_operator",
            )
            return False
        if type(op) is str and op in OPERATORS:
            return True
        name = to_str(op)
        hint = did_you_mean(name, OPERATORS)
        allowed = ", ".join(OPERATORS)
        message = (
            f"'{name}' is not an operator{hint} Allowed: {allowed}"
            if hint
            else f"'{name}' is not an operator; allowed: {allowed}"
        )
        self.report(path, message, "unknown_operator")
        return False

    def check_arity(self, op: str, count: int, path: Segments) -> None:
        spec = OPERATORS[op]
        low, high = spec.min_args, spec.max_args
        if low <= count and (high is None or count <= high):
            return
        if high is None:
            need = f"at least {low} operand{'s' if low != 1 else ''}"
        elif low == high:
            need = f"exactly {low} operand{'s' if low != 1 else ''}"
        else:
            need = f"{low} to {high} operands" if high - low > 1 else f"{low} or {high} operands"
        self.report(path, f"'{op}' needs {need}, but has {count}", "arity")

    def var(self, args: list[Any], paths: list[Segments], path: Segments, env: _Env) -> _T:
        key = args[0] if args else None
        has_default = len(args) > 1 and args[1] is not None
        default = self.node(args[1], paths[1], env) if len(args) > 1 else _T(NULL, True)
        if type(key) in (dict, list):
            self.node(key, paths[0], env)  # a computed name: any fact, any type
            return _T(ANY)
        if key is None or key == "" or not env.top:
            return _T(ANY)  # the whole data, or the current item of a list
        fact = self.fact(to_str(key), path)
        if fact is None:
            return _T(ANY)  # reported; no second problem about it
        if has_default and fact.type == NUMBER and default.type not in _FITS[NUMBER]:
            self.report(
                paths[1],
                f"The default for '{fact.path}' should be a number, "
                f"but {_describe(args[1], default)} is {_WORDS[default.type]}",
                "type",
            )
        return _T(fact.type, fact.nullable and not has_default)

    def fact(self, name: str, path: Segments) -> Fact | None:
        fact = self.catalog.lookup(name)
        if fact is not None:
            return fact
        roots = self.catalog.roots
        if roots is not None and name.split(".")[0] not in roots:
            only = " and ".join(f"{r}.*" for r in sorted(roots))
            self.report(
                path, f"'{name}' is not available here; only {only} facts are", "unknown_variable"
            )
        else:
            hint = did_you_mean(name, self.catalog.names())
            self.report(path, f"'{name}' is not a known fact{hint}", "unknown_variable")
        return None

    def scoped(self, op: str, args: list[Any], paths: list[Segments], env: _Env) -> _T:
        items = self.node(args[0], paths[0], env) if args else _T(NULL, True)
        if items.type not in (ARRAY, ANY, NULL):
            self.report(
                paths[0],
                f"'{op}' works on a list, but {_describe(args[0], items)} is {_WORDS[items.type]}",
                "type",
            )
        if len(args) > 1:
            self.node(args[1], paths[1], _Env(top=False))  # names there are the item's own
        for arg, path in zip(args[2:], paths[2:], strict=True):
            self.node(arg, path, env)
        return _T(ANY if op == "reduce" else OPERATORS[op].result)

    def logic(self, op: str, args: list[Any], paths: list[Segments], env: _Env) -> _T:
        types = []
        for i, (arg, path) in enumerate(zip(args, paths, strict=True)):
            types.append(self.node(arg, path, env.knowing(tested_before(op, args, i))))
        if op in ("if", "?:"):
            branches = [t for i, t in enumerate(types) if i % 2 or i == len(types) - 1]
            may_be_null = len(args) % 2 == 0
            return _union(branches, may_be_null)
        return _union(types, False)

    def check_operands(
        self, op: str, args: list[Any], paths: list[Segments], types: list[_T], env: _Env
    ) -> None:
        if op in _RELATIONAL or op in _ARITHMETIC or op == "substr":
            self.check_numbers(op, args, paths, types)
        elif op in EQUALITY:
            self.check_equality(op, args, paths, types)
        elif op == "in" and len(types) > 1 and types[1].type in (NUMBER, BOOLEAN):
            self.report(
                paths[1],
                f"'in' {OPERATORS['in'].what}, but "
                f"{_describe(args[1], types[1])} is {_WORDS[types[1].type]}",
                "type",
            )
        elif op in ("missing", "missing_some"):
            self.check_fact_names(op, args, paths, env)
        if op in _RELATIONAL or op in _ARITHMETIC or op in EQUALITY:
            self.check_nulls(op, args, paths, types, env)

    def check_numbers(
        self, op: str, args: list[Any], paths: list[Segments], types: list[_T]
    ) -> None:
        texts = [t.type in (STRING, NUMERIC_TEXT) for t in types]
        if op in _RELATIONAL and len(types) > 1 and all(texts):
            return  # text against text compares alphabetically: ISO dates "2026-11-20"
        for i, (arg, path, t) in enumerate(zip(args, paths, types, strict=True)):
            if op == "substr" and i == 0:
                continue
            if t.type not in _FITS[NUMBER]:
                what = OPERATORS[op].what if op != "substr" else "counts characters with numbers"
                self.report(
                    path, f"'{op}' {what}, but {_describe(arg, t)} is {_WORDS[t.type]}", "type"
                )

    def check_equality(
        self, op: str, args: list[Any], paths: list[Segments], types: list[_T]
    ) -> None:
        if len(types) < 2:
            return
        (a, b), (ta, tb) = args[:2], types[:2]
        if {ta.type, tb.type} == {NUMBER, STRING}:
            text = b if tb.type == STRING else a  # a literal is surely not a number
            never = ": they are never equal" if type(text) is str or op in ("===", "!==") else ""
            self.report(
                paths[1 if tb.type == STRING else 0],
                f"'{op}' compares {_describe(a, ta)}, which is {_WORDS[ta.type]}, with "
                f"{_describe(b, tb)}, which is {_WORDS[tb.type]}{never}",
                "type",
            )

    def check_fact_names(self, op: str, args: list[Any], paths: list[Segments], env: _Env) -> None:
        names = args[1:2] if op == "missing_some" else args
        for name, path in _name_operands(names, paths[1:2] if op == "missing_some" else paths):
            if env.top and type(name) is str:
                self.fact(name, path)

    def check_nulls(
        self, op: str, args: list[Any], paths: list[Segments], types: list[_T], env: _Env
    ) -> None:
        for i, (arg, path, t) in enumerate(zip(args, paths, types, strict=True)):
            name = plain_var(arg)
            if not (t.nullable and name and env.top and name not in env.tested):
                continue
            if op in EQUALITY and not _equality_with_number(t, types[:2], i):
                continue
            self.report(path, null_message(name, t.type == STRING, op in EQUALITY), "nullable")

    def check_expect(self, t: _T, expect: str, at: Segments) -> None:
        fits = _FITS.get(expect, {expect, ANY})
        if t.type in fits:
            return
        what = {BOOLEAN: "A condition must be true or false", NUMBER: "A quantity must be a number"}
        start = what.get(expect, f"This must be {_WORDS.get(expect, expect)}")
        self.report(at, f"{start}, but this expression gives {_WORDS[t.type]}", "type")


def check(
    logic: Any,
    *,
    at: Segments = (),
    catalog: Catalog = CONDITION_CATALOG,
    expect: str | None = None,
    bound: bool = True,
) -> list[Problem]:
    """Every problem of a JsonLogic expression found without data, located under ``at``.

    ``expect`` is the type the place needs: "boolean" for conditions and group filters,
    "number" for quantities. ``bound``: refuse what may cost more than a condition may do
    (``jsonlogic_cost``); a stored version is loaded without it, as the run-time budget holds
    it anyway. Never raises for bad input; an expression over the size limits is reported as
    such and not looked into further.
    """
    at = tuple(at)
    problems = limits(logic, at)
    if problems:
        return problems
    checker = _Checker(catalog)
    inferred = checker.node(logic, at, _Env())
    if expect is not None:
        checker.check_expect(inferred, expect, at)
    if bound:
        checker.problems += check_cost(logic, at, catalog)
    return checker.problems


def infer_type(logic: Any, catalog: Catalog = CONDITION_CATALOG) -> str:
    """The type an expression gives: "number", "string", "boolean", "array" or "any"."""
    if limits(logic, ()):
        return ANY
    inferred = _Checker(catalog).node(logic, (), _Env()).type
    return _PUBLIC.get(inferred, inferred)


# --- small helpers -------------------------------------------------------------------------------


def _name_operands(args: list[Any], paths: list[Segments]) -> Iterator[tuple[Any, Segments]]:
    for arg, path in zip(args, paths, strict=True):
        if type(arg) is list:
            yield from ((name, (*path, j)) for j, name in enumerate(arg))
        else:
            yield arg, path


def _union(types: list[_T], may_be_null: bool) -> _T:
    kinds = {t.type for t in types}
    nullable = may_be_null or any(t.nullable for t in types)
    if kinds <= {STRING, NUMERIC_TEXT} and kinds:
        return _T(STRING if STRING in kinds else NUMERIC_TEXT, nullable)
    return _T(kinds.pop() if len(kinds) == 1 else ANY, nullable)


def _result(op: str, types: list[_T]) -> _T:
    result = OPERATORS[op].result
    if result == "same":
        return types[0] if types else _T(NULL, True)
    return _T(result)


def _equality_with_number(t: _T, pair: list[_T], i: int) -> bool:
    """Whether an equality on a nullable fact compares it with a number (null is never equal)."""
    other = pair[1 - i] if len(pair) == 2 and i < 2 else _T(NULL, True)
    if other.type == NULL:
        return False  # {"==": [{"var": x}, null]} says what null means
    return t.type == NUMBER or other.type in (NUMBER, NUMERIC_TEXT)


def _describe(logic: Any, t: _T) -> str:
    """How a message names an operand: 'stock.available', "ten", 5 or the result of 'cat'."""
    name, _ = var_name(logic)
    if name is not None:
        return f"'{name}'"
    if type(logic) is dict and len(logic) == 1:
        return f"the result of '{to_str(next(iter(logic)))}'"
    if type(logic) is list:
        return "the list"
    if logic is None or type(logic) is str:
        return json.dumps(logic, ensure_ascii=False)
    return to_str(logic)


def _shape_message(logic: dict[Any, Any]) -> str:
    if not logic:
        return 'An empty object is not an expression; write an operation such as {"<": [a, b]}'
    keys = ", ".join(f"'{to_str(k)}'" for k in logic)
    return (
        f"An operation has exactly one operator as its key, but this object has "
        f"{len(logic)}: {keys}"
    )
