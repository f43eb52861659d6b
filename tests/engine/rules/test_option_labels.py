"""Select options may carry labels in Chinese and English (issue #18): {value, label: {zh, en}}."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin.web.workflows import options_from_text, options_text
from engine.rules import load_ruleset
from engine.rules.problems import RulesetInvalid

DOC = (Path(__file__).parents[2] / "data" / "work-ruleset.yaml").read_text(encoding="utf-8")
PLAIN = "options: [replenished, transferred, false_alarm]"


def test_options_with_labels_keep_their_values_for_validation_and_read_by_language() -> None:
    doc = DOC.replace(PLAIN, "options: [{value: replenished, label: {zh: 已补货, en: "
                             "Replenished}}, {value: transferred, label: 调拨}, false_alarm]")
    field = load_ruleset(doc, "yaml").workflows["replenishment"].transition("resolve").form[0]
    assert field.options == ("replenished", "transferred", "false_alarm")
    assert [field.choice_label(v, "zh") for v in field.options] == ["已补货", "调拨", "false_alarm"]
    assert field.choice_label("replenished", "en") == "Replenished"


def test_a_bad_option_is_named_by_its_path() -> None:
    doc = DOC.replace(PLAIN, "options: [{value: replenished, label: {zh: 已补货, fr: Réassort}}, "
                             "{label: 调拨}, {value: x, colour: red}]")
    with pytest.raises(RulesetInvalid) as caught:
        load_ruleset(doc, "yaml")
    found = {p.path: p.message for p in caught.value.problems}
    prefix = "workflows[0].transitions[1].form[0].options"
    assert "'fr' is not a language of the labels" in found[f"{prefix}[0].label.fr"]
    assert "'value' is required" in found[f"{prefix}[1].value"]
    assert "not a known field" in found[f"{prefix}[2].colour"]


def test_the_workflow_editor_writes_options_as_one_line_and_reads_them_back() -> None:
    options = [{"value": "replenished", "label": {"zh": "已补货", "en": "Replenished stock"}},
               {"value": "transferred", "label": "调拨"}, "false_alarm"]
    text = options_text(options)
    assert text == "replenished=已补货/Replenished stock, transferred=调拨, false_alarm"
    assert options_from_text(text) == options
    assert options_from_text("a，b、c") == ["a", "b", "c"]
