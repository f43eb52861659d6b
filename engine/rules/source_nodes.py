"""The node walk of a composed rule document (YAML or JSON), without recursion: the line of
every key and item, duplicate keys, booleans as written, and numbers that cannot be used (not
finite, too many digits, too large for a float).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.rules.problems import Problem, Segments

_BOOL = "tag:yaml.org,2002:bool"
_FLOAT = "tag:yaml.org,2002:float"
_INT = "tag:yaml.org,2002:int"
# Whole numbers of a rule document have at most 15 digits: JsonLogic's numbers are JavaScript's,
# exact up to 2**53, and no setting or threshold needs more. Longer ones are refused where they
# are written, before Python reads them (past 4,300 digits it refuses to, with a ValueError).
MAX_DIGITS = 15
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_NON_FINITE = {"NaN", "Infinity", "-Infinity", "+Infinity"}
LineMap = dict[Segments, int]


@dataclass
class Walk:
    line_map: LineMap = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    raw_booleans: dict[Segments, str] = field(default_factory=dict)


def walk_nodes(root: Node, *, json_mode: bool) -> Walk:
    """Iterate the node tree: line of every key and item, duplicate keys, odd scalars."""
    out = Walk()
    out.line_map[()] = mark_line(root.start_mark)
    stack: list[tuple[Node, Segments]] = [(root, ())]
    while stack:
        node, at = stack.pop()
        if isinstance(node, MappingNode):
            stack.extend(_walk_mapping(node, at, out))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                out.line_map[(*at, index)] = mark_line(item.start_mark)
                stack.append((item, (*at, index)))
        elif isinstance(node, ScalarNode):
            _check_scalar(node, at, out, json_mode)
    return out


def _walk_mapping(node: MappingNode, at: Segments, out: Walk) -> list[tuple[Node, Segments]]:
    seen: dict[str, int] = {}
    children = []
    for key, value in node.value:
        line = mark_line(key.start_mark)
        if not isinstance(key, ScalarNode):
            message = "a key must be a plain word, not a list or a mapping"
            out.problems.append(Problem(at, message, line, "yaml_complex_key"))
            continue
        if key.value in seen:  # reported; the last one wins, as in the loaded data
            message = (
                f"key '{key.value}' on line {line} is already defined at line {seen[key.value]}"
            )
            out.problems.append(Problem((*at, key.value), message, line, "duplicate_key"))
        seen.setdefault(key.value, line)
        out.line_map[(*at, key.value)] = line
        children.append((value, (*at, key.value)))
    return children


def _check_scalar(node: ScalarNode, at: Segments, out: Walk, json_mode: bool) -> None:
    plain = node.style is None
    if plain and node.tag == _BOOL:
        out.raw_booleans[at] = node.value
    non_finite = (
        node.value in _NON_FINITE
        if json_mode
        else node.tag == _FLOAT and node.value.lower().lstrip("+-") in (".inf", ".nan")
    )
    if plain and non_finite:
        out.problems.append(not_finite(at, node.value, mark_line(node.start_mark)))
    elif plain:
        problem = _number_problem(node.value, node.tag, json_mode)
        if problem:
            out.problems.append(Problem(at, problem, mark_line(node.start_mark), "out_of_range"))


def _number_problem(value: str, tag: str, json_mode: bool) -> str | None:
    """Why a number as written cannot be used: too many digits, or too large for a float."""
    if json_mode:
        match = _JSON_NUMBER.fullmatch(value)
        if match is None:
            return None
        whole = match.group(1) is None and match.group(2) is None
    elif tag in (_INT, _FLOAT):
        whole = tag == _INT
    else:
        return None
    if whole:
        digits = sum(c.isalnum() for c in value) - (2 if value.lstrip("+-")[1:2].isalpha() else 0)
        if digits > MAX_DIGITS:
            return (f"this whole number has {digits:,} digits; numbers in a rule document have "
                    f"at most {MAX_DIGITS}")
        return None
    try:
        number = float(value.replace("_", ""))
    except ValueError:
        return None  # a YAML 1.1 form such as 1:30.5, read by PyYAML itself
    if math.isinf(number):
        shown = value if len(value) <= 20 else value[:17] + "..."
        return f"'{shown}' is too large a number; write a number below 1e308"
    return None


def mark_line(mark: Any) -> int:
    """The 1-based line of a YAML mark (0-based inside PyYAML)."""
    return int(mark.line) + 1


def not_finite(at: Segments, value: str, line: int | None) -> Problem:
    message = f"'{value}' is not a number that can be used here; write a finite number"
    return Problem(at, message, line, "not_finite")
