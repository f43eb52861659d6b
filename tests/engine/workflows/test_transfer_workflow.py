"""The transfer workflow and who takes its steps (issue #19), without a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.errors import InputInvalid
from engine.policy import Identity, transfer_step_roles
from engine.workflows.errors import RoleNotAllowed, TransitionNotAllowed
from engine.workflows.transfers import (
    Transfer,
    allowed_transitions,
    check_new,
    events_of,
    take,
)

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
T = Transfer(7, "S1", "WH-BJ", "WH-SH", 49, "requested", ship_role="store-bj",
             receive_role="buyer")
BOB = Identity("bob", roles=frozenset({"store-bj"}))
ALICE = Identity("alice", roles=frozenset({"buyer"}))
ROOT = Identity("root", is_admin=True)
PAT = Identity("pat")


def test_each_step_belongs_to_its_role_and_admins() -> None:
    assert allowed_transitions(T, BOB) == ["ship", "cancel"]
    assert allowed_transitions(T, ALICE) == ["cancel"]
    assert allowed_transitions(T, PAT) == []
    assert allowed_transitions(T, ROOT) == ["ship", "cancel"]
    shipped = take(T, "ship", BOB, {}, NOW)[0]
    assert allowed_transitions(shipped, ALICE) == ["receive"]
    assert allowed_transitions(shipped, BOB) == []
    assert transfer_step_roles("request", "store-bj", "buyer") == (frozenset({"buyer"}), True)


def test_a_step_out_of_turn_or_role_is_refused_and_the_transfer_is_unchanged() -> None:
    with pytest.raises(RoleNotAllowed) as refused:
        take(T, "ship", ALICE, {}, NOW)
    assert refused.value.required == ("store-bj", "admin")
    with pytest.raises(TransitionNotAllowed):
        take(T, "receive", ALICE, {}, NOW)  # not shipped yet
    with pytest.raises(TransitionNotAllowed):
        take(T, "approve", ROOT, {}, NOW)
    assert T.state == "requested"


def test_the_steps_history_and_events() -> None:
    shipped, entry = take(T, "ship", BOB, {"note": "pallet 3"}, NOW)
    assert (shipped.state, entry.from_state, entry.to_state, entry.data) == (
        "shipped", "requested", "shipped", {"note": "pallet 3"})
    [reserve] = events_of(T, "ship", NOW)
    assert (reserve["type"], reserve["warehouse"], reserve["qty"], reserve["id"]) == (
        "reserve", "WH-BJ", 49, "transfer-7-ship")
    release, move = events_of(shipped, "receive", NOW)
    assert (release["type"], release["warehouse"]) == ("release", "WH-BJ")
    assert (move["type"], move["warehouse"], move["to_warehouse"], move["qty"]) == (
        "transfer", "WH-BJ", "WH-SH", 49)
    assert events_of(T, "cancel", NOW) == []


@pytest.mark.parametrize(("source", "dest", "qty", "available", "fields"), [
    ("WH-SH", "WH-SH", 5, 100, ["to_warehouse"]),
    ("WH-BJ", "WH-SH", 0, 100, ["quantity"]),
    ("WH-BJ", "WH-SH", True, 100, ["quantity"]),
    ("WH-BJ", "WH-SH", 12, 11, ["quantity"]),
    ("WH-SH", "WH-SH", -1, None, ["to_warehouse", "quantity"]),
])
def test_bad_transfers_are_refused_with_every_reason(source, dest, qty, available, fields) -> None:
    with pytest.raises(InputInvalid) as refused:
        check_new("S1", source, dest, qty, available)
    assert [e["field"] for e in refused.value.errors] == fields


def test_more_than_the_source_has_says_below_zero() -> None:
    with pytest.raises(InputInvalid) as refused:
        check_new("S1", "WH-BJ", "WH-SH", 12, 11)
    assert refused.value.errors[0]["message"] == (
        "12 of S1 would take WH-BJ below zero: it has 11 available")
    check_new("S1", "WH-BJ", "WH-SH", 11, 11)  # all of it is allowed
