"""The purchase requisition lifecycle of SPEC §5: draft → approval → ERP order → receipt.

States: draft | pending_approval | approved | ordered | received | rejected | cancelled.
Transitions: submit (draft → pending_approval, or → approved when no approval is needed),
approve and reject (pending_approval), order (approved → ordered, with the ERP purchase order
number ``ref``), receive (ordered → received), cancel (draft | pending_approval | approved →
cancelled). Who may take each is the authorisation model's (engine/policy.py): approve and
reject only the approval role; cancelling one that waits for approval is a rejection (the
approval role or an admin); the other steps the buying roles or an admin.

On-order counting (SPEC §4, "never counted twice"): a requisition adds to ``on_order`` only
while it lives here alone (draft, pending_approval, approved). Once ordered it carries the ERP's
``ref``, and the quantity is counted by the ERP's own ``on_order`` for that purchase order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from engine.metrics import approval_role
from engine.policy import Identity, may_take_requisition_step, requisition_step_roles
from engine.rules.compiled import ApprovalThreshold
from engine.workflows.errors import FormInvalid, RoleNotAllowed, TransitionNotAllowed
from engine.workflows.tasks import SYSTEM, HistoryEntry
from forms.fields import FieldSpec
from forms.validation import validate_form

STATES = ("draft", "pending_approval", "approved", "ordered", "received", "rejected", "cancelled")
CLOSED = frozenset({"received", "rejected", "cancelled"})
ON_ORDER = frozenset({"draft", "pending_approval", "approved"})

_NOTE = FieldSpec("note", "Note", "textarea")
_REASON = FieldSpec("reason", "Reason", "textarea")
_REASON_REQUIRED = FieldSpec("reason", "Reason", "textarea", required=True)  # a rejection says why
_REF = FieldSpec("ref", "ERP purchase order", "text", required=True, max_length=100)


@dataclass(frozen=True)
class _Step:
    from_states: tuple[str, ...]
    to: str | None  # None: decided by the requisition (submit)
    form: tuple[FieldSpec, ...] = ()


STEPS: Mapping[str, _Step] = {
    "submit": _Step(("draft",), None, (_NOTE,)),
    "approve": _Step(("pending_approval",), "approved", (_NOTE,)),
    "reject": _Step(("pending_approval",), "rejected", (_REASON_REQUIRED,)),
    "order": _Step(("approved",), "ordered", (_REF, _NOTE)),
    "receive": _Step(("ordered",), "received", (_NOTE,)),
    "cancel": _Step(("draft", "pending_approval", "approved"), "cancelled", (_REASON,)),
}


@dataclass
class Requisition:
    id: str
    alert_id: str | None
    sku: str
    warehouse: str
    supplier: str | None
    quantity: float
    unit_price: float | None
    amount: float | None
    state: str = "draft"
    approval_role: str | None = None  # who must approve; None: no approval needed
    ref: str | None = None  # the ERP purchase order number, once ordered
    owner_role: str | None = None  # responsible for it: the owner of the rule that raised it
    history: list[HistoryEntry] = field(default_factory=list)


def draft_requisition(
    id: str,
    alert_id: str | None,
    sku: str,
    warehouse: str,
    supplier: str | None,
    quantity: float,
    unit_price: float | None,
    thresholds: Iterable[ApprovalThreshold] = (),
) -> Requisition:
    """A new draft with its amount and approval role.

    Without a unit price the amount is unknown, so the highest threshold's role must approve:
    an unknown amount never slips under an approval threshold.
    """
    thresholds = tuple(thresholds)
    amount = quantity * unit_price if unit_price is not None else None
    if amount is None:
        role = max(thresholds, key=lambda t: t.above).role if thresholds else None
    else:
        role = approval_role(amount, thresholds)
    return Requisition(
        id, alert_id, sku, warehouse, supplier, quantity, unit_price, amount, approval_role=role
    )


def raised(alert_id: int, state: str, reason: str, now: datetime) -> HistoryEntry:
    """The first history entry of a requisition an alert's action raised."""
    return HistoryEntry(now, SYSTEM, "create", None, state, {"alert": alert_id, "reason": reason})


def received_by_event(event_id: str, now: datetime) -> HistoryEntry:
    """An ordered requisition received by a receipt event naming its ``ref``."""
    return HistoryEntry(now, SYSTEM, "receive", "ordered", "received", {"event": event_id})


def is_open(state: str) -> bool:
    """Still in progress: not received, rejected or cancelled."""
    return state not in CLOSED


def counts_on_order(state: str) -> bool:
    """Whether a requisition in ``state`` is still to be ordered from the ERP.

    Ordered requisitions keep counting in ``stock_levels.on_order_local`` too, until the ERP's
    next ``count`` with ``on_order`` includes them (``counted_by_erp``) or they are received —
    see engine/pipeline/core.py; this predicate only names the pre-order states.
    """
    return state in ON_ORDER


def allowed_requisition_transitions(req: Requisition, actor_roles: Iterable[str],
                                    is_admin: bool = False) -> list[str]:
    """The transitions this user may take on ``req`` now, in lifecycle order."""
    who = Identity("", is_admin, frozenset(actor_roles))
    return [
        name
        for name, step in STEPS.items()
        if req.state in step.from_states
        and may_take_requisition_step(who, name, req.state, req.approval_role, req.owner_role)
    ]


def apply_requisition_transition(
    req: Requisition,
    transition: str,
    actor: str,
    actor_roles: Iterable[str],
    data: Mapping[str, Any],
    now: datetime,
    is_admin: bool = False,
) -> Requisition:
    """The requisition after ``actor`` takes ``transition``; ``req`` is left unchanged.

    Raises ``TransitionNotAllowed`` (unknown transition, wrong state), ``RoleNotAllowed``
    (someone the policy does not let take this step) or ``FormInvalid`` (``order`` without
    ``ref``).
    """
    step = _check(req, transition, Identity(actor, is_admin, frozenset(actor_roles)))
    clean, errors = validate_form(step.form, data)
    if errors:
        raise FormInvalid(errors)
    to = step.to or ("pending_approval" if req.approval_role else "approved")
    entry = HistoryEntry(now, actor, transition, req.state, to, clean)
    ref = clean["ref"] if transition == "order" else req.ref
    return replace(req, state=to, ref=ref, history=[*req.history, entry])


def _check(req: Requisition, transition: str, who: Identity) -> _Step:
    step = STEPS.get(transition)
    if step is None:
        reason = f"requisitions have only {', '.join(STEPS)}"
        raise TransitionNotAllowed(transition, req.state, reason)
    if req.state not in step.from_states:
        reason = f"it can only be taken from {', '.join(step.from_states)}"
        raise TransitionNotAllowed(transition, req.state, reason)
    if may_take_requisition_step(who, transition, req.state, req.approval_role, req.owner_role):
        return step
    roles, admins = requisition_step_roles(transition, req.state, req.approval_role,
                                           req.owner_role)
    if not roles and not admins:
        raise TransitionNotAllowed(transition, req.state, "the requisition has no approver")
    raise RoleNotAllowed(transition, sorted(roles) + (["admin"] if admins else []), who.roles)
