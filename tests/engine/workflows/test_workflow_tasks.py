"""Tasks move through their workflow by checked transitions with validated forms and history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.rules.compiled import Transition, Workflow
from engine.workflows.errors import FormInvalid, RoleNotAllowed, TransitionNotAllowed
from engine.workflows.tasks import HistoryEntry, Task, apply_transition, is_overdue
from forms.fields import FieldSpec

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
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
                FieldSpec(
                    "outcome",
                    "处理结果",
                    "select",
                    True,
                    ("replenished", "transferred", "customer_notified", "false_alarm"),
                ),
                FieldSpec("quantity", "数量", "number", min=0),
                FieldSpec("note", "备注", "text"),
            ),
        ),
        Transition("cancel", ("open", "in_progress"), "cancelled", ("purchasing-manager",)),
    ),
)


def make_task(**overrides: object) -> Task:
    fields: dict[str, object] = {
        "id": "T-1",
        "alert_id": "A-1",
        "title": "补货 SKU-1 @ WH-SH: 可用 3",
        "workflow": "replenishment",
        "state": "open",
        "role": "buyer",
        "due_at": NOW + timedelta(hours=4),
    }
    fields.update(overrides)
    return Task(**fields)  # type: ignore[arg-type]


def test_start_then_resolve_records_history_and_answers() -> None:
    task = make_task()
    started = apply_transition(task, REPLENISHMENT, "start", "alice", {"buyer"}, {}, NOW)
    later = NOW + timedelta(hours=1)
    done = apply_transition(
        started,
        REPLENISHMENT,
        "resolve",
        "alice",
        {"buyer"},
        {"outcome": "replenished", "quantity": "40"},
        later,
    )
    assert done.state == "done"
    assert done.data == {"outcome": "replenished", "quantity": 40.0}
    assert done.history == [
        HistoryEntry(NOW, "alice", "start", "open", "in_progress", {}),
        HistoryEntry(
            later,
            "alice",
            "resolve",
            "in_progress",
            "done",
            {"outcome": "replenished", "quantity": 40.0},
        ),
    ]
    assert done.history[1].as_dict()["at"] == "2026-11-20T09:00:00+00:00"


def test_the_original_task_is_left_unchanged() -> None:
    task = make_task()
    apply_transition(task, REPLENISHMENT, "start", "alice", {"buyer"}, {}, NOW)
    assert task.state == "open" and task.history == []


def test_form_errors_are_field_level_and_change_nothing() -> None:
    task = make_task()
    with pytest.raises(FormInvalid) as info:
        apply_transition(
            task,
            REPLENISHMENT,
            "resolve",
            "alice",
            {"buyer"},
            {"quantity": "-3", "colour": "red"},
            NOW,
        )
    assert info.value.fields == {
        "outcome": "'处理结果' is required",
        "quantity": "'数量' must be at least 0",
        "colour": "'colour' is not a field of this form",
    }
    assert {"field": "outcome", "message": "'处理结果' is required"} in info.value.errors
    assert task.state == "open"


def test_data_on_a_transition_without_a_form_is_refused() -> None:
    with pytest.raises(FormInvalid):
        apply_transition(make_task(), REPLENISHMENT, "start", "alice", {"buyer"}, {"x": 1}, NOW)


def test_wrong_role_wrong_state_and_unknown_transition() -> None:
    with pytest.raises(RoleNotAllowed):
        apply_transition(make_task(), REPLENISHMENT, "cancel", "alice", {"buyer"}, {}, NOW)
    with pytest.raises(TransitionNotAllowed):
        apply_transition(
            make_task(state="done"), REPLENISHMENT, "start", "alice", {"buyer"}, {}, NOW
        )
    with pytest.raises(TransitionNotAllowed):
        apply_transition(make_task(), REPLENISHMENT, "explode", "alice", {"buyer"}, {}, NOW)


def test_a_task_refuses_another_workflow() -> None:
    with pytest.raises(TransitionNotAllowed):
        apply_transition(
            make_task(workflow="other"), REPLENISHMENT, "start", "alice", {"buyer"}, {}, NOW
        )


def test_answers_accumulate_across_transitions() -> None:
    wf = Workflow(
        "w",
        "w",
        ("a", "b", "c"),
        "a",
        (
            Transition("t1", ("a",), "b", (), form=(FieldSpec("x", type="integer"),)),
            Transition("t2", ("b",), "c", (), form=(FieldSpec("y", type="text"),)),
        ),
    )
    task = make_task(workflow="w", state="a")
    task = apply_transition(task, wf, "t1", "bob", (), {"x": "1"}, NOW)
    task = apply_transition(task, wf, "t2", "bob", (), {"y": "z"}, NOW)
    assert task.data == {"x": 1, "y": "z"}


def test_is_overdue() -> None:
    task = make_task()
    assert not is_overdue(task, NOW)
    assert not is_overdue(task, NOW + timedelta(hours=4))
    assert is_overdue(task, NOW + timedelta(hours=4, seconds=1))
    assert not is_overdue(make_task(due_at=None), NOW + timedelta(days=9))


def test_a_closed_task_is_never_overdue() -> None:
    late = NOW + timedelta(days=1)
    assert is_overdue(make_task(state="done"), late)  # without the workflow it cannot know
    assert not is_overdue(make_task(state="done"), late, REPLENISHMENT)
    assert is_overdue(make_task(state="in_progress"), late, REPLENISHMENT)
