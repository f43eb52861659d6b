"""The rule document pipeline: source → schema → references → JsonLogic check → compiled."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from types import MappingProxyType
from typing import Any

from engine.rules import jsonlogic
from engine.rules.compiled import (
    STOCK_CHANGING,
    Action,
    ApprovalThreshold,
    Calendar,
    CompiledRuleset,
    CreateRequisition,
    CreateTask,
    Escalate,
    Notify,
    Role,
    Rule,
    RulesetSettings,
    SkuGroup,
    SuggestTransfer,
    Transition,
    Workflow,
)
from engine.rules.problems import Problem, RulesetInvalid, Segments
from engine.rules.references import check_references, inherited_owner
from engine.rules.schema import validate_document
from engine.rules.source import parse_source
from engine.rules.template_check import check_templates
from engine.rules.variables import (
    ANY,
    ARRAY,
    BOOLEAN,
    GROUP_CATALOG,
    GROUP_FACTS,
    NUMBER,
    STRING,
    Catalog,
    Fact,
)
from forms.fields import Choice, FieldSpec

Doc = Mapping[str, Any]


def load_ruleset(text: str | bytes, fmt: str | None = None, *, stored: bool = False,
                 ) -> CompiledRuleset:
    """Check a rule document and compile it; raise ``RulesetInvalid`` with every problem.

    ``fmt`` is "yaml" or "json"; None guesses from the first character. Nothing is compiled
    unless the whole document is valid. ``stored``: a version saved earlier, loaded to run:
    the checks that only guard saving (the cost bound of conditions, templates) are left out,
    so that a version saved before them still runs (its rules under the run-time budget, its
    templates under the sandbox).
    """
    parsed = parse_source(text, fmt)
    problems = list(parsed.problems)
    doc: Doc = {}
    if parsed.readable:
        doc, found = validate_document(parsed.data, parsed.raw_booleans)
        problems += found
        problems += check_references(doc)
        problems += check_logic(doc, bound=not stored)
        if not stored:
            problems += check_templates(doc, lambda rule: params_catalog(doc, rule))
    if problems:
        raise RulesetInvalid(_unique(p.with_line(parsed.line_map) for p in problems))
    return build(doc, parsed.data)


def validate_ruleset(text: str | bytes, fmt: str | None = None) -> list[Problem]:
    """Every problem of a rule document, in line order; empty when it is valid."""
    try:
        load_ruleset(text, fmt)
    except RulesetInvalid as err:
        return err.problems
    return []


def _unique(problems: Iterator[Problem]) -> list[Problem]:
    seen: dict[tuple[Any, ...], Problem] = {}
    for problem in problems:
        seen.setdefault((problem.segments, problem.message), problem)
    return list(seen.values())


# --- JsonLogic stage --------------------------------------------------------------------------


def check_logic(doc: Doc, bound: bool = True) -> list[Problem]:
    """Conditions, group filters and quantity formulas against the facts each one can read;
    ``bound``: and against the cost a condition may have (``jsonlogic_cost``)."""
    problems: list[Problem] = []
    for index, group in _items(doc, "sku_groups"):
        if group.get("where") is not None:
            where: Segments = ("sku_groups", index, "where")
            problems += jsonlogic.check(
                group["where"], at=where, catalog=GROUP_CATALOG, expect="boolean", bound=bound
            )
    for index, rule in _items(doc, "rules"):
        catalog = params_catalog(doc, rule)
        if "when" in rule:
            when: Segments = ("rules", index, "when")
            problems += jsonlogic.check(rule["when"], at=when, catalog=catalog, expect="boolean",
                                        bound=bound)
        for a_index, expression in _quantity_formulas(rule):
            at: Segments = ("rules", index, "actions", a_index, "create_requisition", "quantity")
            problems += jsonlogic.check(expression, at=at, catalog=catalog, expect="number",
                                        bound=bound)
    return problems


def _quantity_formulas(rule: Doc) -> Iterator[tuple[int, Any]]:
    for index, action in enumerate(rule.get("actions") or []):
        if isinstance(action, Mapping) and action.get("kind") == "create_requisition":
            quantity = action.get("quantity") or {}
            if quantity.get("policy") == "expression":
                yield index, quantity["expression"]


def params_catalog(doc: Doc, rule: Doc) -> Catalog:
    """The facts a rule's condition sees, with the ``params.*`` its settings and groups define.

    Settings always have a value. A key only some groups define is nullable unless every group
    of the rule defines it.
    """
    settings = doc.get("settings") or {}
    always = {**RulesetSettings().as_params(), **_flat(settings)}
    groups = {g.get("id"): g for _, g in _items(doc, "sku_groups")}
    rule_groups = [groups[g] for g in _group_ids(rule) if g in groups]
    defined: dict[str, Any] = {}
    for group in groups.values():
        for key, value in _flat(group.get("params") or {}).items():
            defined.setdefault(key, value)
    facts = [Fact(f"params.{k}", _type_of(v)) for k, v in always.items()]
    if rule.get("per") == "group_warehouse":  # a group rule reads the group's aggregates
        facts += GROUP_FACTS.values()
    for key, value in defined.items():
        if key not in always:
            everywhere = bool(rule_groups) and all(
                key in _flat(g.get("params") or {}) for g in rule_groups
            )
            facts.append(Fact(f"params.{key}", _type_of(value), nullable=not everywhere))
    return Catalog(extra=facts)


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    return ARRAY if isinstance(value, list) else ANY


def _flat(params: Doc) -> dict[str, Any]:
    """Settings or group params as one mapping: the known keys and the custom (extra) ones."""
    return {**{k: v for k, v in params.items() if k != "extra"}, **(params.get("extra") or {})}


# --- compile stage ----------------------------------------------------------------------------


def build(doc: Doc, source: Any) -> CompiledRuleset:
    """The frozen ruleset from a document that passed every check."""
    owners = _group_owners(doc)
    return CompiledRuleset(
        name=doc["ruleset"],
        settings=_settings(doc.get("settings") or {}),
        groups=MappingProxyType({g["id"]: _group(g) for _, g in _items(doc, "sku_groups")}),
        roles=MappingProxyType({r["id"]: _role(r) for _, r in _items(doc, "roles")}),
        workflows=MappingProxyType({w["id"]: _workflow(w) for _, w in _items(doc, "workflows")}),
        rules=tuple(_rule(r, owners) for _, r in _items(doc, "rules")),
        document=_plain(source),
        calendars=tuple(_calendar(c) for _, c in _items(doc, "calendars")),
    )


def _plain(value: Any) -> Any:
    """The document as JSON can hold it: dates (a calendar's ``from``/``to`` written unquoted
    in YAML) as ISO text; the document is served by the API and edited by the forms."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def _calendar(cal: Doc) -> Calendar:
    return Calendar(
        id=cal["id"],
        name=cal.get("name") or cal["id"],
        kind=cal.get("kind", "promotion"),
        start=cal["start"],
        end=cal["end"],
        groups=tuple(cal.get("groups") or ()),
        multiplier=float(cal.get("demand_multiplier", 1.0)),
        lead_time_change=float(cal.get("lead_time_change_days", 0)),
        yearly=bool(cal.get("yearly", False)),
    )


def _items(doc: Doc, key: str) -> Iterator[tuple[int, Doc]]:
    for index, item in enumerate(doc.get(key) or []):
        if isinstance(item, Mapping):
            yield index, item


def _settings(settings: Doc) -> RulesetSettings:
    known = {k: v for k, v in settings.items() if k != "extra"}
    return RulesetSettings(**known, extra=MappingProxyType(dict(settings.get("extra") or {})))


def _every(_data: Mapping[str, Any]) -> bool:
    """The filter of a group without ``where``: every SKU belongs."""
    return True


def _group(group: Doc) -> SkuGroup:
    where = group.get("where")
    return SkuGroup(
        id=group["id"],
        name=group.get("name") or group["id"],
        where=where,
        matches=_every if where is None else jsonlogic.compile(where),
        params=MappingProxyType(_flat(group.get("params") or {})),
        owner=group.get("owner"),
    )


def _role(role: Doc) -> Role:
    return Role(
        id=role["id"],
        name=role.get("name") or role["id"],
        members=tuple(role.get("members") or ()),
        channels=tuple(role.get("channels") or ()),
        escalate_to=role.get("escalate_to"),
        rate_limit=limit if isinstance(limit := role.get("rate_limit"), int) else None,
        rate_limits=tuple(sorted(limit.items())) if isinstance(limit, dict) else (),
        quiet_hours=role.get("quiet_hours"),
    )


def _workflow(workflow: Doc) -> Workflow:
    transitions = tuple(_transition(t) for _, t in _items(workflow, "transitions"))
    leaving = {s for t in transitions for s in t.from_states}
    states = tuple(workflow["states"])
    return Workflow(
        id=workflow["id"],
        name=workflow.get("name") or workflow["id"],
        states=states,
        initial=workflow.get("initial") or states[0],
        transitions=transitions,
        terminal=tuple(s for s in states if s not in leaving),
    )


def _transition(transition: Doc) -> Transition:
    return Transition(
        id=transition["id"],
        from_states=tuple(transition["from_states"]),
        to=transition["to"],
        roles=tuple(transition.get("roles") or ()),
        form=tuple(_field(f) for _, f in _items(transition, "form")),
        label=transition.get("label") or "",
    )


def _field(spec: Doc) -> FieldSpec:
    return FieldSpec(
        name=spec["name"],
        label=spec.get("label") or spec["name"],
        type=spec.get("type", "text"),
        required=spec.get("required", False),
        options=tuple(_option_value(o) for o in spec.get("options") or ()),
        choices=tuple(_choice(o) for o in spec.get("options") or ()),
        min=spec.get("min"),
        max=spec.get("max"),
        max_length=spec.get("max_length"),
        help=spec.get("help", ""),
    )


def _option_value(option: Any) -> str:
    return str(option["value"]) if isinstance(option, Mapping) else str(option)


def _choice(option: Any) -> Choice:
    """An option with its labels: ``{value, label}`` with one label or one per language."""
    if not isinstance(option, Mapping):
        return Choice(str(option))
    label = option.get("label")
    if isinstance(label, Mapping):
        labels = tuple((str(k), str(v)) for k, v in label.items())
    else:
        labels = (("", str(label)),) if label else ()
    return Choice(str(option["value"]), labels)


def _group_ids(rule: Doc) -> tuple[str, ...]:
    if rule.get("groups"):
        return tuple(rule["groups"])
    return (rule["group"],) if rule.get("group") else ()


def _group_owners(doc: Doc) -> dict[str, str]:
    return {g["id"]: g["owner"] for _, g in _items(doc, "sku_groups") if g.get("owner")}


def _rule(rule: Doc, owners: Mapping[str, str]) -> Rule:
    return Rule(
        id=rule["id"],
        name=rule.get("name") or rule["id"],
        groups=_group_ids(rule),
        on=frozenset(rule["on"]) if rule.get("on") else STOCK_CHANGING,
        when=rule["when"],
        condition=jsonlogic.compile(rule["when"]),
        severity=rule.get("severity", "medium"),
        owner=inherited_owner(rule, owners),
        cooldown=rule.get("cooldown", timedelta(0)),
        auto_resolve=rule.get("auto_resolve", True),
        actions=tuple(_action(a) for a in rule.get("actions") or ()),
        enabled=rule.get("enabled", True),
        description=rule.get("description", ""),
        per=rule.get("per", "pair"),
    )


def _action(action: Doc) -> Action:
    kind = action["kind"]
    if kind == "create_task":
        return CreateTask(
            title=action["title"],
            workflow=action["workflow"],
            due=action.get("due"),
            role=action.get("role"),
        )
    if kind == "create_requisition":
        return _requisition(action)
    if kind == "suggest_transfer":
        return SuggestTransfer(
            sources=tuple(action.get("sources") or ()),
            regions=tuple(action.get("regions") or ()),
            min_cover_days=action.get("min_cover_days"),
            ship=action.get("ship"),
            receive=action.get("receive"),
        )
    if kind == "notify":
        return Notify(
            to=action.get("to", "owner"),
            channels=tuple(action.get("channels") or ()),
            message=action.get("message"),
            digest=action.get("digest"),
        )
    return Escalate(after=action["after"], to=action["to"])


def _requisition(action: Doc) -> CreateRequisition:
    quantity = action.get("quantity") or {"policy": "order_up_to"}
    expression = quantity.get("expression")
    steps = sorted(action.get("approval") or (), key=lambda s: s["above"])
    return CreateRequisition(
        policy=quantity["policy"],
        fixed=quantity.get("fixed"),
        expression=expression,
        quantity_fn=jsonlogic.compile(expression) if expression is not None else None,
        supplier=action.get("supplier", "preferred"),
        fallback=action.get("fallback"),
        fallback_after_late_days=float(action.get("fallback_after_late_days", 3.0)),
        approval=tuple(ApprovalThreshold(above=s["above"], role=s["role"]) for s in steps),
    )
