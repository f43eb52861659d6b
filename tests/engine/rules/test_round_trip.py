"""Saving a form's change into the document's own text (#17): only what was edited changes;
comments, order and spelling elsewhere stay; the result reads back as the new document."""

from __future__ import annotations

import copy
import difflib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.rules.loader import load_ruleset
from engine.rules.round_trip import update_text

ROOT = Path(__file__).resolve().parents[3]
FILES = ["configs/demo-ruleset.yaml", "configs/retail-default.yaml", "tests/data/work-ruleset.yaml"]


def _doc(text: str) -> dict[str, Any]:
    return json.loads(json.dumps(load_ruleset(text, "yaml").document))


def _changed(old: str, new: str) -> list[str]:
    return [ln for ln in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


@pytest.mark.parametrize("name", FILES)
def test_an_unchanged_document_keeps_its_text_byte_for_byte(name: str) -> None:
    text = (ROOT / name).read_text()
    assert update_text(text, "yaml", _doc(text)) == text


def test_one_edited_value_changes_one_line_and_keeps_the_comments() -> None:
    text = (ROOT / "configs/retail-default.yaml").read_text()
    doc = _doc(text)
    doc["rules"][0]["severity"] = "critical"
    out = update_text(text, "yaml", doc)
    assert _changed(text, out) == [
        "-    severity: high                  # info | low | medium | high | critical",
        "+    severity: critical"]
    assert "# the responsible role" in out and _doc(out) == doc


def test_a_duration_written_differently_but_equal_keeps_its_spelling() -> None:
    text = (ROOT / "configs/retail-default.yaml").read_text()
    doc = _doc(text)
    doc["rules"][0]["cooldown"] = "1d"  # the form's spelling of 24h
    assert update_text(text, "yaml", doc) == text
    doc["rules"][0]["cooldown"] = "36h"
    assert _changed(text, update_text(text, "yaml", doc))[1] == "+    cooldown: 36h"


def test_items_added_and_removed_by_id_leave_the_others_alone() -> None:
    text = (ROOT / "configs/demo-ruleset.yaml").read_text()
    doc = _doc(text)
    doc["sku_groups"].append({"id": "snacks", "name": "零食",
                              "where": {"==": [{"var": "sku.category"}, "snack"]}})
    removed = doc["rules"].pop()
    out = update_text(text, "yaml", doc)
    assert _doc(out) == doc
    changed = _changed(text, out)
    assert all(ln.startswith("-") for ln in changed if removed["id"] in ln)
    assert "+  - id: snacks" in changed
    assert not any(ln.startswith("-") and "sku_groups" in ln for ln in changed)


def test_a_json_original_is_written_as_yaml_whole() -> None:
    doc = _doc((ROOT / "configs/retail-default.yaml").read_text())
    out = update_text(json.dumps(doc), "json", doc)
    assert _doc(out) == doc


EDITS = st.lists(st.tuples(st.sampled_from(["severity", "delete-rule", "add-group", "name",
                                            "setting", "delete-key"]),
                           st.integers(0, 50)), max_size=6)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(FILES), edits=EDITS)
def test_any_edits_read_back_as_the_new_document(name: str, edits: list[tuple[str, int]]) -> None:
    text = (ROOT / name).read_text()
    doc = _doc(text)
    new = copy.deepcopy(doc)
    for kind, n in edits:
        rules = new.get("rules") or []
        if kind == "severity" and rules:
            rules[n % len(rules)]["severity"] = ["low", "medium", "high"][n % 3]
        elif kind == "delete-rule" and len(rules) > 1:
            rules.pop(n % len(rules))
        elif kind == "add-group":
            new.setdefault("sku_groups", []).append({"id": f"g-{n}-{len(new['sku_groups'])}",
                                                     "name": f"组 {n}"})
        elif kind == "name" and new.get("workflows"):
            new["workflows"][n % len(new["workflows"])]["name"] = f"流程 {n}"
        elif kind == "setting":
            new.setdefault("settings", {})["service_level"] = 0.9 + (n % 9) / 100
        elif kind == "delete-key" and "description" in new:
            del new["description"]
    out = update_text(text, "yaml", new)
    assert _doc(out) == new
    if new == doc:
        assert out == text
