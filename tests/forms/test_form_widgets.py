"""Widget descriptors: what the web templates need to draw each input, with no HTML."""

from __future__ import annotations

from forms.fields import FieldSpec
from forms.widgets import widget, widgets


def test_select_widget() -> None:
    spec = FieldSpec("outcome", "处理结果", "select", required=True, options=("a", "b"))
    assert widget(spec) == {
        "name": "outcome",
        "label": "处理结果",
        "input": "select",
        "choices": [{"value": "a", "label": "a", "labels": {}},
                    {"value": "b", "label": "b", "labels": {}}],
        "required": True,
        "min": None,
        "max": None,
        "step": None,
        "max_length": None,
        "help": "",
    }


def test_number_widgets_carry_bounds_and_step() -> None:
    number = widget(FieldSpec("quantity", "数量", "number", min=0))
    integer = widget(FieldSpec("n", "", "integer", min=1, max=9))
    assert (number["input"], number["min"], number["max"], number["step"]) == (
        "number",
        0,
        None,
        "any",
    )
    assert (integer["input"], integer["min"], integer["max"], integer["step"]) == (
        "number",
        1,
        9,
        1,
    )
    assert integer["label"] == "n"


def test_input_kinds() -> None:
    kinds = [
        widget(FieldSpec("f", type=t))["input"]
        for t in ("text", "textarea", "number", "integer", "select", "date", "boolean")
    ]
    assert kinds == ["text", "textarea", "number", "number", "select", "date", "checkbox"]


def test_text_keeps_its_length_and_help() -> None:
    w = widget(FieldSpec("note", "备注", "text", max_length=200, help="可选"))
    assert (w["max_length"], w["help"], w["choices"]) == (200, "可选", [])


def test_widgets_keep_the_form_order() -> None:
    form = (FieldSpec("b"), FieldSpec("a"))
    assert [w["name"] for w in widgets(form)] == ["b", "a"]


def test_select_choices_carry_their_labels_per_language() -> None:
    from forms.fields import Choice

    spec = FieldSpec("outcome", "处理结果", "select", options=("r", "t", "x"), choices=(
        Choice("r", (("zh", "已补货"), ("en", "Replenished"))), Choice("t", (("", "调拨"),)),
        Choice("x")))
    assert widget(spec)["choices"] == [
        {"value": "r", "label": "已补货", "labels": {"zh": "已补货", "en": "Replenished"}},
        {"value": "t", "label": "调拨", "labels": {}},
        {"value": "x", "label": "x", "labels": {}}]
    assert [spec.choice_label(v, "en") for v in ("r", "t", "x", "gone")] == [
        "Replenished", "调拨", "x", "gone"]
