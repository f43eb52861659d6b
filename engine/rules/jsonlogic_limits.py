"""The size limits of a JsonLogic expression, measured without recursion.

``jsonlogic_check`` measures first and walks recursively only an expression within them (depth
≤ 32); one over them is reported as such and not looked into further.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.rules.jsonlogic_compile import MAX_DEPTH, MAX_LIST, MAX_NODES
from engine.rules.problems import Problem, Segments

WALK_CAP = 1_000_000  # nodes looked at before giving up counting


def limits(logic: Any, at: Segments) -> list[Problem]:
    """The limits ``logic`` breaks (too deep, too many parts, a list too long), located."""
    problems: list[Problem] = []
    stack: list[tuple[Any, Segments | None, int]] = [(logic, at, 1)]
    depth = nodes = 0
    while stack and nodes < WALK_CAP:
        node, path, level = stack.pop()
        nodes, depth = nodes + 1, max(depth, level)
        if type(node) is list and len(node) > MAX_LIST:
            problems.append(
                Problem(
                    path or at,
                    f"This list has {len(node):,} items; the limit is {MAX_LIST:,}",
                    code="too_large",
                )
            )
            continue
        keep = path if level <= MAX_DEPTH else None  # no long paths inside a depth bomb
        stack.extend((child, p, level + 1) for child, p in _children(node, keep))
    more = "more than " if stack else ""
    if depth > MAX_DEPTH:
        problems.insert(
            0,
            Problem(
                at,
                f"This expression is nested {more}{depth:,} levels deep; the limit is {MAX_DEPTH}",
                code="too_deep",
            ),
        )
    if nodes > MAX_NODES:
        problems.append(
            Problem(
                at,
                f"This expression has {more}{nodes:,} parts; the limit is {MAX_NODES:,}",
                code="too_large",
            )
        )
    return problems


def _children(node: Any, path: Segments | None) -> Iterator[tuple[Any, Segments | None]]:
    if type(node) is dict and len(node) == 1:
        op = next(iter(node))
        args, paths = located_operands(node[op], (*path, op) if path is not None else ())
        yield from zip(args, paths if path is not None else [None] * len(args), strict=True)
    elif type(node) is dict:
        yield from ((v, (*path, k) if path is not None else None) for k, v in node.items())
    elif type(node) is list:
        yield from ((v, (*path, i) if path is not None else None) for i, v in enumerate(node))


def located_operands(raw: Any, base: Segments) -> tuple[list[Any], list[Segments]]:
    """Operands and their locations; a lone operand (``{"!": true}``) sits at the operator."""
    if type(raw) is list:
        return raw, [(*base, i) for i in range(len(raw))]
    return [raw], [base]
