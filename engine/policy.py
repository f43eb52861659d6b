"""Who may read and who may act: the authorisation model of the README ("Who may read and act"),
in one place for the REST API, the pages and the CLI (issue #13).

An identity is a user (admin or not, with the business roles the ACTIVE ruleset gives them) seen
through a scope. A page session and a ``full`` token carry the user's own rights; a ``read``
token only the user's reads; an ``ingest`` token only ingestion (stock events and imports),
including the events that set stock outright (``count``, ``adjustment``), which a person's own
token may not send unless that person is an admin.

Three layers, each a pure function of the identity and the object:
- ``may(identity, right)``: the endpoint or page as a whole (401/403 before any work);
- ``may_see_task`` / ``task_scope``: which tasks a user sees (others answer 404, as if absent);
- ``requisition_step_roles`` / ``may_take_requisition_step``: who takes which requisition step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from engine.rules.compiled import Workflow


class Scope(StrEnum):
    """What a token may be used for; stored with the token (``tokens create --scope``)."""

    FULL = "full"  # the user's own rights (pages are always full)
    READ = "read"  # the user's reads, no change of any kind
    INGEST = "ingest"  # stock events and imports, nothing else


class Right(StrEnum):
    """What an endpoint or page as a whole needs (the README's table names them)."""

    READ = "read"  # rules, alerts, the tasks one may see, requisitions, stock, SKUs, warehouses
    ACT = "act"  # take task and requisition transitions (each step is checked again)
    INGEST = "ingest"  # send stock events (other than count and adjustment)
    SET_STOCK = "set_stock"  # send count and adjustment events, run imports: they set stock
    READ_PRIVATE = "read_private"  # rejected events' payloads, notifications, supplier contacts
    ADMIN = "admin"  # change rules and master data, activate versions, replay, retry


# Events that set a stock level outright instead of recording a movement: a sales user who
# could send them could zero stock and raise requisitions (issue #13, finding 2).
SET_STOCK_EVENTS = frozenset({"count", "adjustment"})

EVERY_USER = frozenset({Right.READ, Right.ACT, Right.INGEST})
SCOPE_RIGHTS: Mapping[Scope, frozenset[Right]] = {
    Scope.FULL: frozenset(Right),
    Scope.READ: frozenset({Right.READ, Right.READ_PRIVATE}),
    Scope.INGEST: frozenset({Right.INGEST, Right.SET_STOCK}),
}


@dataclass(frozen=True)
class Identity:
    """Who is asking: the user, their business roles and the scope of their credential."""

    username: str
    is_admin: bool = False
    roles: frozenset[str] = frozenset()
    scope: Scope = Scope.FULL


def may(identity: Identity, right: Right) -> bool:
    """Whether ``identity`` may use an endpoint or page that needs ``right``.

    The scope bounds what a credential can do; within it, admins hold every right and other
    users the rights of every user. The ingest scope is the one grant: an ingest token sets
    stock (it is what an ERP synchronisation is made with), whoever its user.
    """
    if right not in SCOPE_RIGHTS[identity.scope]:
        return False
    if identity.scope is Scope.INGEST:
        return True
    return identity.is_admin or right in EVERY_USER


def event_right(event_type: object) -> Right:
    """The right needed to send one stock event of ``event_type``."""
    return Right.SET_STOCK if event_type in SET_STOCK_EVENTS else Right.INGEST


# -- tasks ------------------------------------------------------------------------------------
def workflows_with_a_step_for(roles: Iterable[str],
                              workflows: Mapping[str, Workflow]) -> frozenset[str]:
    """The workflows that give one of ``roles`` a step (a manager who may cancel a buyer's task
    must be able to open it)."""
    held = frozenset(roles)
    return frozenset(w.id for w in workflows.values()
                     if any(held.intersection(t.roles) for t in w.transitions))


def may_see_task(identity: Identity, role: str | None, assignee: str | None, workflow: str,
                 workflows: Mapping[str, Workflow]) -> bool:
    """Admins see every task; others those of their roles, assigned to them, or whose workflow
    gives one of their roles a step. Everyone else is answered 404, as if it did not exist."""
    if identity.is_admin or (role is not None and role in identity.roles):
        return True
    if assignee is not None and assignee == identity.username:
        return True
    return workflow in workflows_with_a_step_for(identity.roles, workflows)


@dataclass(frozen=True)
class TaskScope:
    """The tasks a non-admin sees, as a listing filter: any of these roles, assigned to this
    user, or in one of these workflows (``may_see_task`` as a query)."""

    roles: frozenset[str]
    assignee: str
    workflows: frozenset[str]


def task_scope(identity: Identity, workflows: Mapping[str, Workflow]) -> TaskScope | None:
    """The listing filter for ``identity``; None for an admin, who sees every task."""
    if identity.is_admin:
        return None
    return TaskScope(identity.roles, identity.username,
                     workflows_with_a_step_for(identity.roles, workflows))


# -- requisitions -----------------------------------------------------------------------------
APPROVER_STEPS = frozenset({"approve", "reject"})


def requisition_step_roles(transition: str, state: str, approval_role: str | None,
                           owner_role: str | None) -> tuple[frozenset[str], bool]:
    """Who may take ``transition`` on a requisition in ``state``: (roles, admins too).

    - approve, reject: the approval role only; an admin is no approver of spending.
    - cancel while waiting for approval is a rejection: the approval role, or an admin.
    - submit, order, receive, and cancel otherwise: the buying roles — the role responsible
      for the rule that raised it (the alert's owner) and its approval role — or an admin.
    """
    approvers = frozenset({approval_role}) if approval_role else frozenset()
    if transition in APPROVER_STEPS:
        return approvers, False
    if transition == "cancel" and state == "pending_approval":
        return approvers, True
    buyers = frozenset(r for r in (owner_role, approval_role) if r)
    return buyers, True


def may_take_requisition_step(identity: Identity, transition: str, state: str,
                              approval_role: str | None, owner_role: str | None) -> bool:
    roles, admins = requisition_step_roles(transition, state, approval_role, owner_role)
    return (admins and identity.is_admin) or not roles.isdisjoint(identity.roles)


# -- transfers (issue #19) --------------------------------------------------------------------
def transfer_step_roles(transition: str, ship_role: str | None,
                        receive_role: str | None) -> tuple[frozenset[str], bool]:
    """Who may take a transfer's step: (roles, admins too).

    - ship: the source's role (``ship``), who sends the goods;
    - receive: the destination's role (``receive``), who takes them in;
    - cancel (before shipping): either of them;
    - request (a transfer asked for by hand): the receiving role. Admins may take every step.
    """
    if transition == "ship":
        roles = {ship_role}
    elif transition in ("receive", "request"):
        roles = {receive_role}
    else:
        roles = {ship_role, receive_role}
    return frozenset(r for r in roles if r), True


def may_take_transfer_step(identity: Identity, transition: str, ship_role: str | None,
                           receive_role: str | None) -> bool:
    roles, admins = transfer_step_roles(transition, ship_role, receive_role)
    return (admins and identity.is_admin) or not roles.isdisjoint(identity.roles)


# -- noise control (issue #17) ----------------------------------------------------------------
def may_snooze_alert(identity: Identity, tasks: Iterable[tuple[str | None, str | None, str]],
                     workflows: Mapping[str, Workflow]) -> bool:
    """Snoozing an alert quiets its work: admins may, and whoever may see one of its tasks
    (``tasks``: each task's role, assignee and workflow); others are answered 404, as for the
    task. Muting a rule changes what the rules do: that is ``Right.ADMIN``."""
    if identity.is_admin:
        return True
    return any(may_see_task(identity, role, assignee, workflow, workflows)
               for role, assignee, workflow in tasks)
