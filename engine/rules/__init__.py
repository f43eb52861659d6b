"""Rule documents: load and validate them, and evaluate JsonLogic (SPEC §3).

Names are resolved on first use (PEP 562), so that importing one submodule (``compiled``,
``problems``) does not pull in the YAML, marshmallow and JsonLogic machinery.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.rules.compiled import CompiledRuleset
    from engine.rules.jsonlogic import compile, evaluate
    from engine.rules.loader import load_ruleset, validate_ruleset
    from engine.rules.problems import Problem, RulesetInvalid

_EXPORTS = {
    "CompiledRuleset": "engine.rules.compiled",
    "Problem": "engine.rules.problems",
    "RulesetInvalid": "engine.rules.problems",
    "compile": "engine.rules.jsonlogic",
    "evaluate": "engine.rules.jsonlogic",
    "load_ruleset": "engine.rules.loader",
    "validate_ruleset": "engine.rules.loader",
}

__all__ = [
    "CompiledRuleset",
    "Problem",
    "RulesetInvalid",
    "compile",
    "evaluate",
    "load_ruleset",
    "validate_ruleset",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
