"""The requisition lifecycle of SPEC §5: every allowed and refused transition, and who may take
each (engine/policy.py, issue #13)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.rules.compiled import ApprovalThreshold
from engine.workflows.errors import FormInvalid, RoleNotAllowed, TransitionNotAllowed
from engine.workflows.requisitions import (
    STATES,
    STEPS,
    Requisition,
    allowed_requisition_transitions,
    apply_requisition_transition,
    counts_on_order,
    draft_requisition,
    is_open,
)

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
THRESHOLDS = (ApprovalThreshold(10_000, "purchasing-manager"),)
MANAGER = {"purchasing-manager"}
BUYER = {"buyer"}
SALES = {"sales"}


def make_req(state: str = "draft", approval_role: str | None = "purchasing-manager") -> Requisition:
    return Requisition(
        "R-1",
        "A-1",
        "SKU-1",
        "WH-SH",
        "S1",
        1000,
        12.0,
        12_000.0,
        state=state,
        approval_role=approval_role,
        owner_role="buyer",
    )


def act(req: Requisition, transition: str, roles: set[str] = BUYER, admin: bool = False,
        **data: object) -> Requisition:
    return apply_requisition_transition(req, transition, "alice", roles, data, NOW, admin)


def test_draft_computes_amount_and_approval_role() -> None:
    big = draft_requisition("R-1", "A-1", "SKU-1", "WH-SH", "S1", 1000, 12.0, THRESHOLDS)
    small = draft_requisition("R-2", "A-1", "SKU-1", "WH-SH", "S1", 10, 12.0, THRESHOLDS)
    assert (big.state, big.amount, big.approval_role) == ("draft", 12_000.0, "purchasing-manager")
    assert (small.amount, small.approval_role) == (120.0, None)


def test_an_unknown_price_needs_the_highest_approval() -> None:
    req = draft_requisition("R-3", None, "SKU-1", "WH-SH", None, 10, None, THRESHOLDS)
    assert (req.amount, req.approval_role) == (None, "purchasing-manager")
    assert draft_requisition("R-4", None, "SKU-1", "WH-SH", None, 10, None).approval_role is None


def test_the_happy_path_with_approval() -> None:
    req = act(make_req(), "submit")
    assert req.state == "pending_approval"
    req = act(req, "approve", MANAGER)
    assert req.state == "approved"
    req = act(req, "order", ref=" PO-2026-001 ")
    assert (req.state, req.ref) == ("ordered", "PO-2026-001")
    req = act(req, "receive")
    assert req.state == "received"
    assert [(h.transition, h.from_state, h.to_state) for h in req.history] == [
        ("submit", "draft", "pending_approval"),
        ("approve", "pending_approval", "approved"),
        ("order", "approved", "ordered"),
        ("receive", "ordered", "received"),
    ]
    assert req.history[2].data == {"ref": "PO-2026-001"}
    assert all(h.actor == "alice" and h.at == NOW for h in req.history)


def test_submit_skips_approval_when_none_is_needed() -> None:
    assert act(make_req(approval_role=None), "submit").state == "approved"


def test_reject_by_the_approver_with_a_reason() -> None:
    req = act(make_req("pending_approval"), "reject", MANAGER, reason="太贵")
    assert req.state == "rejected"
    assert req.history[-1].data == {"reason": "太贵"}


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_rejection_says_why(reason: str | None) -> None:
    req = make_req("pending_approval")
    data = {} if reason is None else {"reason": reason}
    with pytest.raises(FormInvalid) as info:
        apply_requisition_transition(req, "reject", "carol", MANAGER, data, NOW)
    assert info.value.fields == {"reason": "'Reason' is required"}
    assert req.state == "pending_approval"


@pytest.mark.parametrize("transition", ["approve", "reject"])
def test_the_wrong_role_cannot_decide(transition: str) -> None:
    req = make_req("pending_approval")
    with pytest.raises(RoleNotAllowed) as info:
        act(req, transition, {"buyer", "admin"})
    assert info.value.required == ("purchasing-manager",)
    assert req.state == "pending_approval"


def test_order_needs_the_erp_reference() -> None:
    for data in ({}, {"ref": ""}, {"ref": "   "}):
        with pytest.raises(FormInvalid) as info:
            apply_requisition_transition(make_req("approved"), "order", "alice", BUYER, data, NOW)
        assert info.value.fields == {"ref": "'ERP purchase order' is required"}


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(FormInvalid) as info:
        act(make_req("approved"), "order", ref="PO-1", quantity=5)
    assert set(info.value.fields) == {"quantity"}


@pytest.mark.parametrize("state", ["draft", "pending_approval", "approved"])
def test_cancel_while_not_yet_ordered(state: str) -> None:
    roles = MANAGER if state == "pending_approval" else BUYER
    req = act(make_req(state), "cancel", roles, reason="duplicate")
    assert req.state == "cancelled"


def test_cancelling_while_waiting_for_approval_is_a_rejection() -> None:
    """Finding 1 of issue #13: a buyer (or a sales user) cancelled what waited for the manager."""
    pending = make_req("pending_approval")
    for roles in (BUYER, SALES, set()):
        with pytest.raises(RoleNotAllowed) as info:
            act(pending, "cancel", roles)
        assert info.value.required == ("purchasing-manager", "admin")
    assert act(pending, "cancel", MANAGER).state == "cancelled"
    assert act(pending, "cancel", set(), admin=True).state == "cancelled"


@pytest.mark.parametrize(("transition", "state"), [
    ("submit", "draft"), ("order", "approved"), ("receive", "ordered"), ("cancel", "draft"),
    ("cancel", "approved")])
def test_buying_steps_need_a_buying_role_or_an_admin(transition: str, state: str) -> None:
    """Finding 1 of issue #13: a user with no business role ordered and received."""
    req = make_req(state)
    data = {"ref": "PO-1"} if transition == "order" else {}
    for roles in (set(), SALES, {"warehouse-lead"}):
        with pytest.raises(RoleNotAllowed) as info:
            act(req, transition, roles, **data)
        assert info.value.required == ("buyer", "purchasing-manager", "admin")
    for roles, admin in ((BUYER, False), (MANAGER, False), (set(), True)):
        assert act(req, transition, roles, admin, **data).state != state


def test_an_admin_neither_approves_nor_rejects() -> None:
    for transition in ("approve", "reject"):
        with pytest.raises(RoleNotAllowed) as info:
            act(make_req("pending_approval"), transition, set(), admin=True)
        assert info.value.required == ("purchasing-manager",)


def test_without_an_owner_or_approver_only_an_admin_buys() -> None:
    orphan = Requisition("R-9", None, "SKU-1", "WH-SH", None, 5, None, None, state="approved")
    with pytest.raises(RoleNotAllowed):
        act(orphan, "order", BUYER, ref="PO-9")
    assert act(orphan, "order", set(), admin=True, ref="PO-9").state == "ordered"


ALLOWED_FROM = {
    "submit": {"draft"},
    "approve": {"pending_approval"},
    "reject": {"pending_approval"},
    "order": {"approved"},
    "receive": {"ordered"},
    "cancel": {"draft", "pending_approval", "approved"},
}
REFUSED = [(t, s) for t in STEPS for s in STATES if s not in ALLOWED_FROM[t]]


@pytest.mark.parametrize(("transition", "state"), REFUSED)
def test_every_transition_is_refused_outside_its_states(transition: str, state: str) -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        act(make_req(state), transition, MANAGER, ref="PO-1")
    assert (info.value.transition, info.value.state) == (transition, state)


def test_the_table_covers_exactly_the_spec_transitions() -> None:
    assert {t: set(s.from_states) for t, s in STEPS.items()} == ALLOWED_FROM


def test_unknown_transition() -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        act(make_req(), "approve_all")
    assert "submit, approve, reject, order, receive, cancel" in info.value.reason


def test_a_pending_requisition_without_approver_cannot_be_approved() -> None:
    with pytest.raises(TransitionNotAllowed):
        act(make_req("pending_approval", approval_role=None), "approve", MANAGER)


def test_allowed_transitions_for_the_inbox() -> None:
    pending = make_req("pending_approval")
    assert allowed_requisition_transitions(pending, BUYER) == []
    assert allowed_requisition_transitions(pending, MANAGER) == ["approve", "reject", "cancel"]
    assert allowed_requisition_transitions(pending, SALES, is_admin=True) == ["cancel"]
    assert allowed_requisition_transitions(make_req("approved"), BUYER) == ["order", "cancel"]
    assert allowed_requisition_transitions(make_req("approved"), SALES) == []
    assert allowed_requisition_transitions(make_req("received"), MANAGER) == []


@pytest.mark.parametrize(
    ("state", "open_", "on_order"),
    [
        ("draft", True, True),
        ("pending_approval", True, True),
        ("approved", True, True),
        ("ordered", True, False),  # the ERP's on_order counts it, linked by ref
        ("received", False, False),
        ("rejected", False, False),
        ("cancelled", False, False),
    ],
)
def test_open_and_on_order(state: str, open_: bool, on_order: bool) -> None:
    assert is_open(state) is open_
    assert counts_on_order(state) is on_order
