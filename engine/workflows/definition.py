"""Which transitions of a workflow a user may take from a state (SPEC §3 ``workflows``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from engine.rules.compiled import Transition, Workflow
from engine.workflows.errors import RoleNotAllowed, TransitionNotAllowed


def may_take(transition: Transition, user_roles: Iterable[str]) -> bool:
    """True when the user holds one of the transition's roles.

    A transition that names no roles is open to every user, as an Odoo button without groups.
    """
    return not transition.roles or not set(transition.roles).isdisjoint(user_roles)


def allowed_transitions(
    workflow: Workflow, state: str, user_roles: Iterable[str]
) -> list[Transition]:
    """The transitions from ``state`` this user may take, in the document's order."""
    roles = frozenset(user_roles)
    return [t for t in workflow.transitions if state in t.from_states and may_take(t, roles)]


def check_transition(
    workflow: Workflow, state: str, transition_id: str, user_roles: Iterable[str]
) -> Transition:
    """The transition ``transition_id`` if this user may take it from ``state``.

    Raises ``TransitionNotAllowed`` for an unknown transition or a wrong state, and
    ``RoleNotAllowed`` when the user lacks the roles; the state is checked first, so a user
    is never told to get a role for a transition that could not happen anyway.
    """
    transition = workflow.transition(transition_id)
    if transition is None:
        ids = [t.id for t in workflow.transitions]
        close = difflib.get_close_matches(transition_id, ids, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        reason = f"workflow '{workflow.id}' has no such transition{hint}"
        raise TransitionNotAllowed(transition_id, state, reason)
    if state not in transition.from_states:
        reason = f"it can only be taken from {', '.join(transition.from_states)}"
        raise TransitionNotAllowed(transition_id, state, reason)
    roles = frozenset(user_roles)
    if not may_take(transition, roles):
        raise RoleNotAllowed(transition_id, transition.roles, roles)
    return transition


def is_terminal(workflow: Workflow, state: str) -> bool:
    """A state is terminal when it is declared so or no transition leaves it."""
    if state in workflow.terminal:
        return True
    return not any(state in t.from_states for t in workflow.transitions)
