"""Templates of a rule document checked when it is saved, not when a rule fires (issue #13).

Task titles and notification messages are sandboxed Jinja (``engine.templates``): each is parsed
and held to the small subset that only shows values — no loops, no calls such as ``range``, no
names or attributes starting with an underscore — and every name it reads must be a fact of the
catalogue (or ``rule.id``, ``rule.name``, ``rule.severity``), with "did you mean" for a slip.
Each problem is located at the template's field, with the template's own line when it has more
than one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from engine.rules.problems import Problem, Segments, did_you_mean
from engine.rules.variables import STRING, Catalog, Fact
from engine.templates import check_template, template_names

RULE_FACTS = (Fact("rule.id", STRING), Fact("rule.name", STRING), Fact("rule.severity", STRING))
# (action kind, field) of every template of a document
TEMPLATE_FIELDS = (("create_task", "title"), ("notify", "message"))


def check_templates(doc: Mapping[str, Any], catalog_for: Callable[[Any], Catalog]) -> list[Problem]:
    """Every problem of the document's templates; ``catalog_for(rule)``: the facts it sees."""
    problems: list[Problem] = []
    for index, rule in enumerate(doc.get("rules") or []):
        if not isinstance(rule, Mapping):
            continue
        catalog: Catalog | None = None
        for at, text in _templates(index, rule):
            if catalog is None:
                catalog = catalog_for(rule)
            problems += check_one(text, at, catalog)
    return problems


def _templates(index: int, rule: Mapping[str, Any]) -> Iterator[tuple[Segments, str]]:
    for a_index, action in enumerate(rule.get("actions") or []):
        if not isinstance(action, Mapping):
            continue
        for kind, name in TEMPLATE_FIELDS:
            text = action.get(name) if action.get("kind") == kind else None
            if isinstance(text, str):
                yield ("rules", index, "actions", a_index, kind, name), text


def check_one(text: str, at: Segments, catalog: Catalog) -> list[Problem]:
    """The problems of one template at ``at``: what the sandbox refuses, then unknown names."""
    multiline = "\n" in text.strip()
    refused = check_template(text)
    if refused:
        return [Problem(at, _where(m, multiline), code="template") for m in refused]
    known = Catalog(extra=[*catalog, *RULE_FACTS])
    problems = []
    for name, line in template_names(text):
        if known.lookup(name) is not None:
            continue
        hint = did_you_mean(name, known.names())
        where = f"line {line} of the template: " if multiline else ""
        problems.append(Problem(at, f"{where}'{name}' is not a known fact{hint}",
                                code="unknown_variable"))
    return problems


def _where(message: str, multiline: bool) -> str:
    """``line 1: …`` of a one-line template is just ``…``: the field's line says where."""
    if message.startswith("line ") and ": " in message:
        line, rest = message.split(": ", 1)
        return f"{line} of the template: {rest}" if multiline else rest
    return message
