"""Sandboxed rendering of task titles and notification messages (SPEC §3, RELIABILITY §4 #18–19).

Defence in depth: ``check_template`` accepts only a small positive subset of Jinja (values,
dotted names, constant subscripts, comparisons, arithmetic, ``{% if %}`` and a few filters), so a
template that passed it cannot loop, call, import or reach a private attribute. ``render`` runs
the same check, then renders in Jinja's ``ImmutableSandboxedEnvironment`` (≥ 3.1.6, the backstop)
with no globals, and caps output size and time.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.errors import EngineError

MAX_SOURCE_CHARS = 10_000
MAX_OUTPUT_BYTES = 10 * 1024  # UTF-8 bytes of rendered text, the "…" included
MAX_RENDER_SECONDS = 0.1
ELLIPSIS = "…"

ALLOWED_FILTERS = frozenset(
    {
        "round",
        "int",
        "float",
        "abs",
        "upper",
        "lower",
        "title",
        "capitalize",
        "trim",
        "default",
        "d",
        "length",
        "count",
        "string",
        "truncate",
    }
)  # nothing that formats (format, center, indent) or multiplies text (replace, join, wordwrap)
ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "number", "string", "true", "false"})

# Expression and statement nodes a template may contain; everything else is refused.
_ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.If,
    nodes.Const,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Filter,
    nodes.Test,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
    nodes.Add,
    nodes.Sub,
    nodes.Mul,
    nodes.Div,
    nodes.FloorDiv,
    nodes.Concat,
    nodes.Keyword,
)
_REFUSED_NAMES: dict[str, str] = {
    "For": "'{% for %}' loops",
    "Call": "calling functions such as range(…)",
    "Assign": "'{% set %}'",
    "AssignBlock": "'{% set %}'",
    "Macro": "'{% macro %}'",
    "CallBlock": "'{% call %}'",
    "FilterBlock": "'{% filter %}' blocks",
    "With": "'{% with %}'",
    "Block": "'{% block %}'",
    "Extends": "'{% extends %}'",
    "Include": "'{% include %}'",
    "Import": "'{% import %}'",
    "FromImport": "'{% from … import %}'",
    "Pow": "'**'",
    "Mod": "'%' formatting",
    "Slice": "slices",
    "List": "list literals",
    "Tuple": "tuples",
    "Dict": "dict literals",
}
_RESERVED_NAMES = frozenset({"self", "loop", "caller", "varargs", "kwargs"})


class TemplateInvalid(EngineError):
    """A template was refused (``problems`` as sentences) or could not be rendered."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _Environment(ImmutableSandboxedEnvironment):
    """The sandbox, with ``*`` limited to numbers: ``'x' * 10**9`` must not allocate a gigabyte."""

    intercepted_binops = frozenset({"*"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "*":
            if not (_is_number(left) and _is_number(right)):
                raise SecurityError("only numbers can be multiplied in a template")
            return operator.mul(left, right)
        return super().call_binop(context, operator_, left, right)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _finalize(value: Any) -> Any:
    """Show null as nothing and a whole float as an integer: "可用 3", not "可用 3.0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _null_safe(fn: Any) -> Any:
    """A numeric filter that passes a missing value through, so ``default`` can still replace it."""

    def wrapped(value: Any, *args: Any, **kwargs: Any) -> Any:
        return (
            value if value is None or isinstance(value, Undefined) else fn(value, *args, **kwargs)
        )

    return wrapped


_ENV = _Environment(autoescape=False, undefined=ChainableUndefined, finalize=_finalize)
_ENV.globals.clear()  # no range, dict, lipsum, cycler, joiner or namespace
_ENV.filters.update(
    {name: _null_safe(_ENV.filters[name]) for name in ("round", "int", "float", "abs")}
)


def check_template(text: str) -> list[str]:
    """Every reason to refuse ``text``, as sentences with the line; empty when it is acceptable."""
    if len(text) > MAX_SOURCE_CHARS:
        return [f"the template is {len(text):,} characters long; the limit is {MAX_SOURCE_CHARS:,}"]
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError as exc:
        return [f"line {exc.lineno}: {exc.message}"]
    problems: list[str] = []
    for node in tree.find_all(nodes.Node):
        problem = _problem(node)
        if problem and f"line {node.lineno}: {problem}" not in problems:
            problems.append(f"line {node.lineno}: {problem}")
    return problems


def template_names(text: str) -> list[tuple[str, int]]:
    """The dotted names a template reads (``sku.code``, ``warehouse.code`` from
    ``warehouse['code']``), each with its line; a subscript by number ends the name there
    (``sku.tags[0]`` reads ``sku.tags``). Empty when the template cannot be parsed."""
    try:
        tree = _ENV.parse(text)
    except TemplateSyntaxError:
        return []
    found: list[tuple[str, int]] = []
    stack: list[nodes.Node] = [tree]
    while stack:
        node = stack.pop()
        name = _dotted(node)
        if name is not None:
            found.append((name, node.lineno))
            continue
        stack.extend(reversed(list(node.iter_child_nodes())))
    return found


def _dotted(node: nodes.Node) -> str | None:
    """``a.b.c`` for a chain of attributes and constant subscripts on a name, else None."""
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Name):
            return ".".join([node.name, *reversed(parts)])
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            value = node.arg.value
            parts = [*parts, value] if isinstance(value, str) else []  # [0]: the list itself
        else:
            return None
        node = node.node


def _problem(node: nodes.Node) -> str | None:
    if not isinstance(node, _ALLOWED_NODES):
        kind = type(node).__name__
        return f"{_REFUSED_NAMES.get(kind, repr(kind))} not allowed; templates only show values"
    if isinstance(node, nodes.Name) and (node.name in _RESERVED_NAMES or node.name[:1] == "_"):
        return f"name '{node.name}' not allowed"
    if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
        return f"attribute '{node.attr}' not allowed"
    if isinstance(node, nodes.Mul) and any(
        isinstance(side, nodes.Const) and isinstance(side.value, str)
        for side in (node.left, node.right)
    ):
        return "text cannot be multiplied"
    if isinstance(node, nodes.Getitem):
        return _subscript_problem(node.arg)
    if isinstance(node, nodes.Filter | nodes.Test):
        return _call_problem(node)
    return None


def _subscript_problem(arg: nodes.Node) -> str | None:
    if not isinstance(arg, nodes.Const) or not isinstance(arg.value, int | str):
        return "only fixed subscripts such as x[0] or x['name'] are allowed"
    if isinstance(arg.value, str) and arg.value.startswith("_"):
        return f"attribute '{arg.value}' not allowed"
    return None


def _call_problem(node: nodes.Filter | nodes.Test) -> str | None:
    kind, allowed = (
        ("filter", ALLOWED_FILTERS) if isinstance(node, nodes.Filter) else ("test", ALLOWED_TESTS)
    )
    if node.name not in allowed:
        return f"{kind} '{node.name}' not allowed; allowed: {', '.join(sorted(allowed))}"
    if node.dyn_args is not None or node.dyn_kwargs is not None:
        return f"{kind} '{node.name}' cannot take *args or **kwargs"
    return None


@lru_cache(maxsize=1024)
def _compiled(text: str) -> Template:
    problems = check_template(text)
    if problems:
        raise TemplateInvalid(problems)
    return _ENV.from_string(text)


def render(text: str, context: Mapping[str, Any]) -> str:
    """Render a checked template; output over ``MAX_OUTPUT_BYTES`` is cut and ends with "…".

    Unknown variables render empty. Raises ``TemplateInvalid`` when the template is refused by
    ``check_template`` or fails while rendering (division by zero, a sandbox refusal).
    """
    template = _compiled(text)
    budget = MAX_OUTPUT_BYTES - len(ELLIPSIS.encode())
    # The time cap counts this thread's CPU time, not the clock: a machine busy with other
    # work, or a pause of this process, must not cut a title that rendered in microseconds
    # (the same event gave "Item 939…" in 2 of 12 replays on a loaded machine).
    deadline = time.thread_time() + MAX_RENDER_SECONDS
    parts: list[str] = []
    used = 0
    try:
        for chunk in template.generate(dict(context)):
            size = len(chunk.encode())
            if used + size > budget or time.thread_time() > deadline:
                parts.append(_cut(chunk, budget - used) + ELLIPSIS)
                break
            parts.append(chunk)
            used += size
    except (JinjaTemplateError, ArithmeticError, TypeError, ValueError) as exc:
        raise TemplateInvalid([f"the template could not be rendered: {exc}"]) from exc
    return "".join(parts)


def _cut(chunk: str, budget: int) -> str:
    """The longest prefix of ``chunk`` that fits in ``budget`` UTF-8 bytes (whole characters)."""
    return chunk.encode()[: max(budget, 0)].decode(errors="ignore")
