"""JsonLogic for rule conditions: compile once to fast Python, evaluate, and check statically.

Semantics are json-logic-js's, as pinned by the official jsonlogic.com suite (vendored in
``tests/data/jsonlogic``): JavaScript's loose ``==`` and coercing ``<``, truthiness in which an
empty array is false and ``"0"`` true, ``and``/``or`` returning an operand. The few deliberate
departures (division by zero raises, a ``var`` default also replaces null) are listed in
``jsonlogic_ops``. ``method`` is not supported.

Compilation turns an expression into Python *source* once, then into a function of the data. It
is safe by construction: no text from the document ever enters the generated source. Literals
(text, numbers, lists, ``var`` paths) are passed in a constants tuple and referenced by index; the
source holds only fixed fragments of ``jsonlogic_compile``, generated local names and integers; it
runs with no builtins, seeing only the runtime helpers; and only operators of ``OPERATORS`` compile.

The engine leaves facts without a value (null) out of the data dict, so a ``var`` default such as
``{"var": ["metrics.days_of_cover", 9999]}`` applies to them; ``check`` accepts a default as the way
to say what null means (SPEC §3).

Public API: ``compile``, ``evaluate``, ``check``, ``infer_type``, ``OPERATORS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from engine.rules.jsonlogic_check import check, infer_type
from engine.rules.jsonlogic_compile import (
    MAX_DEPTH,
    MAX_LIST,
    MAX_NODES,
    OPERATORS,
    OpSpec,
    build,
    too_big,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_LIST",
    "MAX_NODES",
    "OPERATORS",
    "OpSpec",
    "check",
    "compile",
    "evaluate",
    "infer_type",
]

Compiled = Callable[[Mapping[str, Any]], Any]


@lru_cache(maxsize=2048)
def _compile_text(text: str) -> Compiled:
    return build(json.loads(text))


def compile(logic: Any) -> Compiled:
    """Compile a JsonLogic expression once into a function of the data.

    Equal expressions share one compiled function (cached by their canonical JSON). Raises
    ``ValueError`` for an operator outside ``OPERATORS`` or an expression over the size limits.
    """
    too_big(logic)  # before json.dumps, which recurses
    try:
        text = json.dumps(logic, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError):  # not plain JSON (a set, a circular list): compile uncached
        return build(logic)
    return _compile_text(text)


def evaluate(logic: Any, data: Any = None) -> Any:
    """Evaluate a JsonLogic expression against ``data`` (compiled and cached on first use)."""
    return compile(logic)(data)
