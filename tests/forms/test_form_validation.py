"""A transition form's answers: typed, bounded, and refused with a plain sentence per field."""

from __future__ import annotations

from datetime import date

import pytest

from forms.fields import FieldSpec
from forms.validation import validate_form

RESOLVE = (
    FieldSpec(
        "outcome",
        "处理结果",
        "select",
        required=True,
        options=("replenished", "transferred", "customer_notified", "false_alarm"),
    ),
    FieldSpec("quantity", "数量", "number", min=0),
    FieldSpec("note", "备注", "text"),
)


def test_the_spec_resolve_form_accepts_html_strings() -> None:
    clean, errors = validate_form(
        RESOLVE, {"outcome": "replenished", "quantity": "12", "note": "ok"}
    )
    assert errors == {}
    assert clean == {"outcome": "replenished", "quantity": 12.0, "note": "ok"}


def test_decimal_text_and_json_numbers_are_numbers() -> None:
    assert (
        validate_form(RESOLVE, {"outcome": "transferred", "quantity": "12.5"})[0]["quantity"]
        == 12.5
    )
    assert validate_form(RESOLVE, {"outcome": "transferred", "quantity": 7})[0]["quantity"] == 7


def test_text_is_stripped() -> None:
    assert validate_form(RESOLVE, {"outcome": " replenished ", "note": " ok\n"})[0] == {
        "outcome": "replenished",
        "note": "ok",
    }


def test_empty_strings_mean_not_given() -> None:
    clean, errors = validate_form(RESOLVE, {"outcome": "", "quantity": "", "note": "  "})
    assert errors == {"outcome": "'处理结果' is required"}
    assert clean == {}


def test_messages_are_sentences_with_the_label() -> None:
    _, errors = validate_form(RESOLVE, {"outcome": "lost", "quantity": "-1"})
    assert errors == {
        "outcome": "'处理结果' must be one of "
        "replenished, transferred, customer_notified, false_alarm",
        "quantity": "'数量' must be at least 0",
    }


def test_the_name_stands_in_for_a_missing_label() -> None:
    form = (FieldSpec("outcome", type="select", options=("a", "b")),)
    assert validate_form(form, {"outcome": "c"})[1] == {"outcome": "'outcome' must be one of a, b"}


@pytest.mark.parametrize(
    "bad", ["nan", "inf", "-Infinity", float("nan"), True, "twelve", [1], "1e400"]
)
def test_numbers_refuse_nan_infinity_booleans_and_text(bad: object) -> None:
    _, errors = validate_form(RESOLVE, {"outcome": "replenished", "quantity": bad})
    assert errors["quantity"].startswith("'数量' must be")


def test_unknown_fields_are_refused_with_a_hint() -> None:
    clean, errors = validate_form(
        RESOLVE, {"outcome": "replenished", "notes": "x", "role": "admin"}
    )
    assert errors == {
        "notes": "'notes' is not a field of this form; did you mean 'note'?",
        "role": "'role' is not a field of this form",
    }
    assert clean == {"outcome": "replenished"}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("3", None),
        (4.0, None),
        ("2.5", "'件数' must be a whole number"),
        (2.5, "'件数' must be a whole number"),
        ("0", "'件数' must be between 1 and 10"),
        ("11", "'件数' must be between 1 and 10"),
        ("9" * 5000, "'件数' must be a whole number"),
    ],
)
def test_integer_fields(value: object, error: str | None) -> None:
    form = (FieldSpec("n", "件数", "integer", min=1, max=10),)
    clean, errors = validate_form(form, {"n": value})
    assert errors.get("n") == error
    if error is None:
        assert isinstance(clean["n"], int)


def test_upper_bound_only() -> None:
    form = (FieldSpec("pct", "比例", "number", max=1.5),)
    assert validate_form(form, {"pct": "2"})[1] == {"pct": "'比例' must be at most 1.5"}


def test_text_length_is_capped() -> None:
    form = (FieldSpec("note", "备注", "text", max_length=5), FieldSpec("long", "详情", "textarea"))
    _, errors = validate_form(form, {"note": "123456", "long": "x" * 10_001})
    assert errors == {
        "note": "'备注' must be at most 5 characters long",
        "long": "'详情' must be at most 10,000 characters long",
    }
    assert validate_form(form, {"note": 12})[1] == {"note": "'备注' must be text"}


def test_dates_are_iso_and_come_back_as_iso_text() -> None:
    form = (FieldSpec("eta", "到货日期", "date", required=True),)
    assert validate_form(form, {"eta": "2026-11-20"}) == ({"eta": "2026-11-20"}, {})
    assert validate_form(form, {"eta": date(2026, 11, 21)}) == ({"eta": "2026-11-21"}, {})
    _, errors = validate_form(form, {"eta": "20/11/2026"})
    assert errors == {"eta": "'到货日期' must be a date written as YYYY-MM-DD"}


def test_booleans_from_checkboxes() -> None:
    form = (FieldSpec("urgent", "加急", "boolean"),)
    assert validate_form(form, {"urgent": "on"}) == ({"urgent": True}, {})
    assert validate_form(form, {}) == ({"urgent": False}, {})
    assert validate_form(form, {"urgent": "maybe"})[1] == {"urgent": "'加急' must be yes or no"}


def test_a_required_checkbox_must_be_sent() -> None:
    form = (FieldSpec("confirm", "确认", "boolean", required=True),)
    assert validate_form(form, {})[1] == {"confirm": "'确认' is required"}
    assert validate_form(form, {"confirm": False}) == ({"confirm": False}, {})


def test_labels_with_braces_do_not_break_messages() -> None:
    form = (FieldSpec("x", "{odd} label", "number", required=True),)
    assert validate_form(form, {})[1] == {"x": "'{odd} label' is required"}
    assert validate_form(form, {"x": "a"})[1] == {"x": "'{odd} label' must be a number"}


def test_an_empty_form_takes_no_data() -> None:
    assert validate_form((), {}) == ({}, {})
    assert validate_form((), {"x": 1})[1] == {"x": "'x' is not a field of this form"}
