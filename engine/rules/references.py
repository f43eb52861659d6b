"""Cross-references in a schema-checked document: ids exist, are unique, and do not loop."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.rules.problems import Problem, Segments, did_you_mean, format_path

Doc = Mapping[str, Any]


def check_references(doc: Doc) -> list[Problem]:
    """Every reference problem in ``doc`` (which may be partial: invalid parts are skipped)."""
    problems: list[Problem] = []
    groups = _ids(doc, "sku_groups", problems)
    roles = _ids(doc, "roles", problems)
    workflows = _ids(doc, "workflows", problems)
    _ids(doc, "rules", problems)
    refs = _Refs(groups, roles, workflows, problems)
    _check_roles(doc, refs)
    _check_workflows(doc, refs)
    owners: dict[str, str] = {}
    for index, group in _items(doc, "sku_groups"):
        owner = group.get("owner")
        refs.need(("sku_groups", index, "owner"), "role", owner, refs.roles)
        if isinstance(group.get("id"), str) and isinstance(owner, str):
            owners.setdefault(group["id"], owner)
    for index, rule in _items(doc, "rules"):
        _check_rule(rule, ("rules", index), refs, owners)
    _ids(doc, "calendars", problems)
    for index, cal in _items(doc, "calendars"):
        for g_index, group in enumerate(cal.get("groups") or []):
            refs.need(("calendars", index, "groups", g_index), "group", group, refs.groups)
    return problems


class _Refs:
    """The ids a document defines, and where problems go."""

    def __init__(
        self, groups: list[str], roles: list[str], workflows: list[str], out: list[Problem]
    ):
        self.groups, self.roles, self.workflows, self.out = groups, roles, workflows, out

    def need(self, at: Segments, kind: str, value: Any, known: list[str], of: str = "") -> None:
        """Report ``value`` when it is text and not among ``known``."""
        if isinstance(value, str) and value not in known:
            self.out.append(_unknown(at, kind, value, known, of))


_NOUNS = {"group": "SKU group", "role": "role", "workflow": "workflow", "state": "state"}


def _unknown(at: Segments, kind: str, value: str, known: list[str], of: str) -> Problem:
    noun = _NOUNS[kind]
    hint = did_you_mean(value, known)
    if not hint:
        listed = f"the {noun}s{of} are {', '.join(known)}"
        hint = f"; {listed}" if known else f"; no {noun}s are defined{of}"
    message = f"'{value}' is not a defined {noun}{of}{hint}"
    return Problem(at, message, code=f"unknown_{kind}")


def _items(doc: Doc, key: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(index, item) for the items of a list that survived the schema (partial ones included)."""
    value = doc.get(key)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                yield index, item


def _ids(doc: Doc, key: str, out: list[Problem], id_key: str = "id") -> list[str]:
    """The ids of a list in document order; a repeated id is a problem at its second use."""
    return _unique(list(_items(doc, key)), (key,), id_key, out)


def _unique(
    items: list[tuple[int, Mapping[str, Any]]], at: Segments, id_key: str, out: list[Problem]
) -> list[str]:
    first: dict[str, int] = {}
    for index, item in items:
        value = item.get(id_key)
        if not isinstance(value, str):
            continue
        if value in first:
            where = format_path((*at, first[value]))
            message = f"the {id_key} '{value}' is already used by {where}; each must be different"
            out.append(Problem((*at, index, id_key), message, code="duplicate_id"))
        else:
            first[value] = index
    return list(first)


def _check_roles(doc: Doc, refs: _Refs) -> None:
    targets: dict[str, str] = {}
    for index, role in _items(doc, "roles"):
        target = role.get("escalate_to")
        refs.need(("roles", index, "escalate_to"), "role", target, refs.roles)
        if isinstance(role.get("id"), str) and target in refs.roles:
            targets.setdefault(role["id"], target)
    positions = {role.get("id"): index for index, role in _items(doc, "roles")}
    for cycle in _cycles(targets):
        at = ("roles", positions[cycle[0]], "escalate_to")
        chain = " → ".join([*cycle, cycle[0]])
        message = (
            f"escalation goes round in a circle: {chain}; "
            "one role in the chain must not escalate further"
        )
        refs.out.append(Problem(at, message, code="escalation_cycle"))


def _cycles(targets: Mapping[str, str]) -> list[list[str]]:
    """Each loop in the escalation chains once, starting at the role listed first."""
    found: list[list[str]] = []
    seen: set[str] = set()
    for start in targets:
        chain: list[str] = []
        node: str | None = start
        while node is not None and node not in seen and node not in chain:
            chain.append(node)
            node = targets.get(node)
        if node is not None and node in chain:
            loop = chain[chain.index(node) :]
            first = min(loop, key=list(targets).index)
            turn = loop.index(first)
            found.append(loop[turn:] + loop[:turn])
        seen.update(chain)
    return found


def _check_workflows(doc: Doc, refs: _Refs) -> None:
    for index, workflow in _items(doc, "workflows"):
        at: Segments = ("workflows", index)
        states = _states(workflow, at, refs.out)
        of = f" in workflow '{workflow.get('id', index)}'"
        if states:
            refs.need((*at, "initial"), "state", workflow.get("initial"), states, of)
        transitions = list(_items(workflow, "transitions"))
        _unique(transitions, (*at, "transitions"), "id", refs.out)
        for t_index, transition in transitions:
            _check_transition(transition, (*at, "transitions", t_index), states, of, refs)


def _states(workflow: Mapping[str, Any], at: Segments, out: list[Problem]) -> list[str]:
    states = workflow.get("states")
    if not isinstance(states, list):
        return []
    listed: list[str] = []
    for index, state in enumerate(states):
        if state in listed:
            message = f"the state '{state}' is listed twice"
            out.append(Problem((*at, "states", index), message, code="duplicate_id"))
        elif isinstance(state, str):
            listed.append(state)
    return listed


def _check_transition(
    transition: Mapping[str, Any], at: Segments, states: list[str], of: str, refs: _Refs
) -> None:
    if states:
        for index, state in enumerate(transition.get("from_states") or []):
            refs.need((*at, "from", index), "state", state, states, of)
        refs.need((*at, "to"), "state", transition.get("to"), states, of)
    for index, role in enumerate(transition.get("roles") or []):
        refs.need((*at, "roles", index), "role", role, refs.roles)
    fields = list(_items(transition, "form"))
    _unique(fields, (*at, "form"), "name", refs.out)


def inherited_owner(rule: Mapping[str, Any], owners: Mapping[str, str]) -> str | None:
    """The rule's ``owner``, else that of the first of its groups that names one (#17)."""
    if rule.get("owner") is not None:
        return rule.get("owner")
    groups = rule.get("groups") or ([rule["group"]] if rule.get("group") else [])
    return next((owners[g] for g in groups if isinstance(g, str) and g in owners), None)


def _check_rule(rule: Mapping[str, Any], at: Segments, refs: _Refs,
                owners: Mapping[str, str] | None = None) -> None:
    refs.need((*at, "group"), "group", rule.get("group"), refs.groups)
    for index, group in enumerate(rule.get("groups") or []):
        refs.need((*at, "groups", index), "group", group, refs.groups)
    refs.need((*at, "owner"), "role", rule.get("owner"), refs.roles)
    owner = inherited_owner(rule, owners or {})
    for index, action in enumerate(rule.get("actions") or []):
        if isinstance(action, Mapping) and isinstance(action.get("kind"), str):
            where = (*at, "actions", index, action["kind"])
            _check_action(action, where, has_owner=owner is not None, refs=refs)


def _check_action(action: Mapping[str, Any], at: Segments, has_owner: bool, refs: _Refs) -> None:
    kind = action["kind"]
    if kind == "create_task":
        _check_task(action, at, has_owner, refs)
    elif kind == "create_requisition":
        for index, step in _items(action, "approval"):
            refs.need((*at, "approval", index, "role"), "role", step.get("role"), refs.roles)
    elif kind == "notify":
        to = action.get("to", "owner")
        if to == "owner" and not has_owner:
            message = (
                "this notice goes to the owner, but the rule has no 'owner'; add one or set 'to'"
            )
            refs.out.append(Problem((*at, "to"), message, code="no_owner"))
        elif to not in ("owner", "supplier"):
            refs.need((*at, "to"), "role", to, refs.roles)
    elif kind == "escalate":
        refs.need((*at, "to"), "role", action.get("to"), refs.roles)
    elif kind == "suggest_transfer":
        for step_name in ("ship", "receive"):
            refs.need((*at, step_name), "role", action.get(step_name), refs.roles)
            if action.get(step_name) is None and not has_owner:
                refs.out.append(Problem((*at, step_name), f"who takes the '{step_name}' step? "
                                        f"give this suggest_transfer a '{step_name}' role or the "
                                        "rule an "
                                        "'owner'", code="no_owner"))


def _check_task(action: Mapping[str, Any], at: Segments, has_owner: bool, refs: _Refs) -> None:
    workflow = action.get("workflow")
    if workflow is None:
        known = ", ".join(refs.workflows) if refs.workflows else "none is defined yet"
        message = (
            f"a create_task needs a 'workflow' (the steps the task goes through); defined: {known}"
        )
        refs.out.append(Problem(at, message, code="missing_workflow"))
    refs.need((*at, "workflow"), "workflow", workflow, refs.workflows)
    role = action.get("role")
    refs.need((*at, "role"), "role", role, refs.roles)
    if role is None and not has_owner:
        message = (
            "the task needs someone to do it: give this create_task a 'role' or the rule an 'owner'"
        )
        refs.out.append(Problem(at, message, code="no_owner"))
