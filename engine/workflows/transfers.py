"""A transfer between warehouses (issue #19): requested → shipped → received, or cancelled
before it ships. Who takes each step is the authorisation model's (engine/policy.py).

The stock moves as stock events (SPEC §4), applied by the one event pipeline in the step's
transaction: shipping reserves the quantity at the source (``reserve``: it is no longer
available there), receiving releases it and moves it (``release`` then ``transfer`` with
``to_warehouse``). A transfer to its own warehouse, of nothing, or of more than the source
holds is refused with the reason; nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from engine.errors import InputInvalid
from engine.policy import Identity, may_take_transfer_step, transfer_step_roles
from engine.workflows.errors import FormInvalid, RoleNotAllowed, TransitionNotAllowed
from engine.workflows.tasks import SYSTEM, HistoryEntry
from forms.fields import FieldSpec
from forms.validation import validate_form

STATES = ("requested", "shipped", "received", "cancelled")
OPEN_STATES = ("requested", "shipped")
_NOTE = FieldSpec("note", "Note", "textarea")
STEPS: Mapping[str, tuple[tuple[str, ...], str]] = {
    "ship": (("requested",), "shipped"),
    "receive": (("shipped",), "received"),
    "cancel": (("requested",), "cancelled"),
}


@dataclass(frozen=True)
class Transfer:
    id: int
    sku: str
    from_warehouse: str
    to_warehouse: str
    quantity: float
    state: str
    ship_role: str | None = None
    receive_role: str | None = None


def check_new(sku: str, from_warehouse: str, to_warehouse: str, quantity: Any,
              available: float | None) -> None:
    """Refuse a transfer that cannot be: every reason at once, each with its field."""
    errors: list[dict[str, object]] = []
    if from_warehouse == to_warehouse:
        errors.append({"field": "to_warehouse", "message": f"a transfer cannot go to the "
                       f"warehouse it comes from ({from_warehouse})"})
    if isinstance(quantity, bool) or not isinstance(quantity, int | float) or not quantity > 0:
        errors.append({"field": "quantity", "message": "the quantity must be a number above 0"})
    elif available is not None and quantity > available:
        errors.append({"field": "quantity", "message": below_zero(sku, from_warehouse, quantity,
                                                                  available)})
    if errors:
        raise InputInvalid(errors)


def below_zero(sku: str, warehouse: str, quantity: float, available: float) -> str:
    return (f"{quantity:g} of {sku} would take {warehouse} below zero: it has {available:g} "
            "available")


def allowed_transitions(t: Transfer, identity: Identity) -> list[str]:
    return [name for name, (froms, _) in STEPS.items()
            if t.state in froms and may_take_transfer_step(identity, name, t.ship_role,
                                                           t.receive_role)]


def take(t: Transfer, transition: str, identity: Identity, data: Mapping[str, Any],
         now: datetime) -> tuple[Transfer, HistoryEntry]:
    """The transfer after the step, and its history entry; ``t`` is left unchanged."""
    step = STEPS.get(transition)
    if step is None:
        raise TransitionNotAllowed(transition, t.state, f"transfers have only {', '.join(STEPS)}")
    froms, to = step
    if t.state not in froms:
        raise TransitionNotAllowed(transition, t.state,
                                   f"it can only be taken from {', '.join(froms)}")
    if not may_take_transfer_step(identity, transition, t.ship_role, t.receive_role):
        roles, admins = transfer_step_roles(transition, t.ship_role, t.receive_role)
        raise RoleNotAllowed(transition, sorted(roles) + (["admin"] if admins else []),
                             identity.roles)
    clean, errors = validate_form((_NOTE,), data)
    if errors:
        raise FormInvalid(errors)
    return replace(t, state=to), HistoryEntry(now, identity.username, transition, t.state, to,
                                              clean)


def events_of(t: Transfer, transition: str, now: datetime) -> list[dict[str, Any]]:
    """The stock events a step records (SPEC §4), with ids that make a replay harmless."""
    base = {"sku": t.sku, "warehouse": t.from_warehouse, "qty": t.quantity,
            "at": now.isoformat(), "ref": f"TR-{t.id}"}
    if transition == "ship":
        return [dict(base, id=f"transfer-{t.id}-ship", type="reserve")]
    if transition == "receive":
        return [dict(base, id=f"transfer-{t.id}-release", type="release"),
                dict(base, id=f"transfer-{t.id}-receive", type="transfer",
                     to_warehouse=t.to_warehouse)]
    return []


def proposed(alert_id: int | None, explanation: Mapping[str, Any], now: datetime,
             actor: str = SYSTEM) -> HistoryEntry:
    """The first history entry: proposed by an alert's action, or requested by hand."""
    data = {"alert": alert_id} if alert_id is not None else {}
    if explanation.get("note"):
        data["note"] = explanation["note"]
    return HistoryEntry(now, actor, "request", None, "requested", data)
