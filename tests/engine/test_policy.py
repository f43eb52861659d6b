"""The authorisation model itself (engine/policy.py): rights by user and scope, which tasks a
user sees, and who takes which requisition step. No I/O."""

from __future__ import annotations

import pytest

from engine.policy import (
    Identity,
    Right,
    Scope,
    event_right,
    may,
    may_see_task,
    may_take_requisition_step,
    requisition_step_roles,
    task_scope,
)
from engine.rules.compiled import Transition, Workflow

PERSON = Identity("dave", roles=frozenset({"sales"}))
ADMIN = Identity("root", is_admin=True)
EVERYONE = {Right.READ, Right.ACT, Right.INGEST}


def scoped(who: Identity, scope: Scope) -> Identity:
    return Identity(who.username, who.is_admin, who.roles, scope)


@pytest.mark.parametrize(("who", "rights"), [
    (PERSON, EVERYONE),
    (ADMIN, set(Right)),
    (scoped(PERSON, Scope.READ), {Right.READ}),
    (scoped(ADMIN, Scope.READ), {Right.READ, Right.READ_PRIVATE}),
    (scoped(PERSON, Scope.INGEST), {Right.INGEST, Right.SET_STOCK}),
    (scoped(ADMIN, Scope.INGEST), {Right.INGEST, Right.SET_STOCK}),
])
def test_rights_are_the_users_within_the_scope_and_ingest_tokens_set_stock(
        who: Identity, rights: set[Right]) -> None:
    assert {r for r in Right if may(who, r)} == rights


def test_count_and_adjustment_set_stock_other_events_move_it() -> None:
    assert {t for t in ("count", "adjustment", "sale", "receipt", None, 7)
            if event_right(t) is Right.SET_STOCK} == {"count", "adjustment"}


REPLENISHMENT = Workflow(
    "replenishment", "Replenishment", ("open", "done", "cancelled"), "open",
    (Transition("resolve", ("open",), "done", ("buyer",)),
     Transition("cancel", ("open",), "cancelled", ("purchasing-manager",))))
WORKFLOWS = {"replenishment": REPLENISHMENT}


@pytest.mark.parametrize(("who", "assignee", "sees"), [
    (Identity("alice", roles=frozenset({"buyer"})), None, True),  # the task's role
    (Identity("carol", roles=frozenset({"purchasing-manager"})), None, True),  # a step
    (Identity("dave", roles=frozenset({"sales"})), None, False),
    (Identity("dave", roles=frozenset({"sales"})), "dave", True),  # assigned to him
    (Identity("pat"), None, False),
    (ADMIN, None, True),
])
def test_who_sees_a_task(who: Identity, assignee: str | None, sees: bool) -> None:
    assert may_see_task(who, "buyer", assignee, "replenishment", WORKFLOWS) is sees
    scope = task_scope(who, WORKFLOWS)
    if who.is_admin:
        assert scope is None
    else:
        assert scope is not None
        listed = ("buyer" in scope.roles or assignee == scope.assignee
                  or "replenishment" in scope.workflows)
        assert listed is sees  # the listing filter says the same as the single check


@pytest.mark.parametrize(("transition", "state", "roles", "admins"), [
    ("approve", "pending_approval", {"manager"}, False),
    ("reject", "pending_approval", {"manager"}, False),
    ("cancel", "pending_approval", {"manager"}, True),
    ("cancel", "approved", {"buyer", "manager"}, True),
    ("cancel", "draft", {"buyer", "manager"}, True),
    ("submit", "draft", {"buyer", "manager"}, True),
    ("order", "approved", {"buyer", "manager"}, True),
    ("receive", "ordered", {"buyer", "manager"}, True),
])
def test_who_takes_each_requisition_step(transition: str, state: str, roles: set[str],
                                         admins: bool) -> None:
    assert requisition_step_roles(transition, state, "manager", "buyer") == (roles, admins)
    assert may_take_requisition_step(ADMIN, transition, state, "manager", "buyer") is admins
    for role in ("buyer", "manager", "sales"):
        who = Identity("x", roles=frozenset({role}))
        assert may_take_requisition_step(who, transition, state, "manager", "buyer") is (
            role in roles)
