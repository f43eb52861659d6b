"""Which transitions a user may take from a state, and the errors when they may not."""

from __future__ import annotations

import pytest

from engine.errors import Conflict, PermissionDenied
from engine.rules.compiled import Transition, Workflow
from engine.workflows.definition import allowed_transitions, check_transition, is_terminal
from engine.workflows.errors import RoleNotAllowed, TransitionNotAllowed
from forms.fields import FieldSpec

REPLENISHMENT = Workflow(
    id="replenishment",
    name="补货处理",
    states=("open", "in_progress", "done", "cancelled"),
    initial="open",
    transitions=(
        Transition("start", ("open",), "in_progress", ("buyer",)),
        Transition(
            "resolve",
            ("open", "in_progress"),
            "done",
            ("buyer",),
            form=(
                FieldSpec("outcome", "处理结果", "select", True, ("replenished", "false_alarm")),
            ),
        ),
        Transition("cancel", ("open", "in_progress"), "cancelled", ("purchasing-manager",)),
        Transition("comment", ("open", "in_progress"), "in_progress", ()),
    ),
)


def ids(transitions: list[Transition]) -> list[str]:
    return [t.id for t in transitions]


def test_a_buyer_sees_the_buyer_transitions_and_open_ones() -> None:
    assert ids(allowed_transitions(REPLENISHMENT, "open", {"buyer"})) == [
        "start",
        "resolve",
        "comment",
    ]
    assert ids(allowed_transitions(REPLENISHMENT, "in_progress", ["buyer"])) == [
        "resolve",
        "comment",
    ]


def test_a_manager_may_only_cancel() -> None:
    assert ids(allowed_transitions(REPLENISHMENT, "open", {"purchasing-manager"})) == [
        "cancel",
        "comment",
    ]


def test_nothing_leaves_a_terminal_state() -> None:
    assert allowed_transitions(REPLENISHMENT, "done", {"buyer", "purchasing-manager"}) == []


def test_a_transition_without_roles_is_open_to_everyone() -> None:
    assert check_transition(REPLENISHMENT, "open", "comment", ()).id == "comment"


def test_check_returns_the_transition() -> None:
    assert check_transition(REPLENISHMENT, "open", "start", {"buyer"}).to == "in_progress"


def test_unknown_transition_suggests_the_closest() -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        check_transition(REPLENISHMENT, "open", "resolv", {"buyer"})
    assert (info.value.transition, info.value.state) == ("resolv", "open")
    assert "did you mean 'resolve'?" in info.value.reason
    assert isinstance(info.value, Conflict)


def test_wrong_state_is_refused() -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        check_transition(REPLENISHMENT, "in_progress", "start", {"buyer"})
    assert info.value.reason == "it can only be taken from open"


def test_wrong_role_is_refused() -> None:
    with pytest.raises(RoleNotAllowed) as info:
        check_transition(REPLENISHMENT, "open", "cancel", {"buyer"})
    assert info.value.required == ("purchasing-manager",)
    assert info.value.held == ("buyer",)
    assert isinstance(info.value, PermissionDenied)


def test_the_state_is_checked_before_the_role() -> None:
    with pytest.raises(TransitionNotAllowed):
        check_transition(REPLENISHMENT, "done", "cancel", set())


@pytest.mark.parametrize(
    ("state", "terminal"),
    [("open", False), ("in_progress", False), ("done", True), ("cancelled", True)],
)
def test_is_terminal(state: str, terminal: bool) -> None:
    assert is_terminal(REPLENISHMENT, state) is terminal


def test_a_declared_terminal_state_is_terminal() -> None:
    wf = Workflow("w", "w", ("a", "b"), "a", (Transition("t", ("a",), "b", ()),), terminal=("a",))
    assert is_terminal(wf, "a")
