"""Editing a rule document as data: sentences, simple group filters, upsert/delete, YAML."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.rules import load_ruleset
from engine.rules.editing import (
    base_document,
    condition_sentence,
    delete,
    delete_group,
    delete_rule,
    describe_where,
    dump_yaml,
    group_where,
    join_duration,
    split_duration,
    upsert_group,
    upsert_role,
    upsert_rule,
    upsert_workflow,
    usages,
    var_paths,
)

REPO = Path(__file__).resolve().parents[3]
AVAILABLE = {"var": "stock.available"}
ROP = {"var": "metrics.reorder_point"}
A = {"<": [AVAILABLE, ROP]}
B = {">": [{"var": "metrics.avg_daily_demand"}, 5]}
C = {"<": [{"var": ["metrics.days_of_cover", 9999]}, 3]}


def demo() -> dict:
    return dict(load_ruleset((REPO / "configs" / "demo-ruleset.yaml").read_text()).document)


# --- sentences -------------------------------------------------------------------------------


@pytest.mark.parametrize(("logic", "zh", "en"), [
    (A, "可用库存 < 再订货点", "available < reorder point"),
    ({"or": [{"and": [A, B]}, C]},
     "(可用库存 < 再订货点 且 日均需求 > 5) 或 可售天数（无值时按 9999） < 3",
     "(available < reorder point and average daily demand > 5) or "
     "days of cover (9999 when empty) < 3"),
    ({"and": [A, {"or": [B, C]}]},
     "可用库存 < 再订货点 且 (日均需求 > 5 或 可售天数（无值时按 9999） < 3)",
     "available < reorder point and (average daily demand > 5 or "
     "days of cover (9999 when empty) < 3)"),
    ({"<=": [AVAILABLE, 0]}, "可用库存 ≤ 0", "available ≤ 0"),
    ({"!=": [{"var": "sku.abc_class"}, "C"]}, "ABC分类 ≠ “C”", "ABC class ≠ 'C'"),
    ({"in": ["seasonal", {"var": "sku.tags"}]}, "标签 包含 “seasonal”", "tags contains 'seasonal'"),
    ({"in": [{"var": ["sku.category", ""]}, ["tea", "snack"]]}, "品类 是 “tea”、“snack” 之一",
     "category is one of 'tea', 'snack'"),
    ({"<": [{"var": "stock.inventory_position"},
            {"*": [{"+": [{"var": "metrics.avg_daily_demand"}, 1]}, 7]}]},
     "库存头寸(可用+在途) < (日均需求 + 1) × 7", "inventory position < (average daily demand + 1) × 7"),
    ({"<": [{"var": ["metrics.days_of_cover", 9999]}, {"var": "params.critical_cover_days"}]},
     "可售天数（无值时按 9999） < critical_cover_days",
     "days of cover (9999 when empty) < critical_cover_days"),
    ({"==": [{"var": "calendar.promotion"}, True]}, "促销日 = 是", "promotion day = yes"),
])
def test_conditions_read_as_sentences_with_plain_names(logic, zh, en) -> None:
    assert condition_sentence(logic, "zh") == zh
    assert condition_sentence(logic, "en") == en


def test_a_sentence_never_fails_on_what_it_does_not_know() -> None:
    odd = {"some": [{"var": "sku.tags"}, {"==": [{"var": ""}, "x"]}]}
    assert condition_sentence(odd, "zh").startswith("some(")
    assert condition_sentence({"if": [A, 1, 2]}, "en") == (
        "if available < reorder point then 1 else 2")
    assert condition_sentence({"!": [A]}, "zh") == "并非 (可用库存 < 再订货点)"


def test_var_paths_are_the_facts_a_condition_reads_in_order() -> None:
    assert var_paths({"or": [{"and": [A, B]}, C]}) == [
        "stock.available", "metrics.reorder_point", "metrics.avg_daily_demand",
        "metrics.days_of_cover"]
    scoped = {"some": [{"var": "sku.tags"}, {"==": [{"var": ""}, "x"]}]}
    assert var_paths(scoped) == ["sku.tags"]


# --- group filters -------------------------------------------------------------------------------


@pytest.mark.parametrize("selection", [
    {"categories": ["tea"]},
    {"categories": ["tea", "snack"], "tags": ["seasonal"]},
    {"tags": ["seasonal", "promo"], "abc_classes": ["A", "B"]},
    {"regions": ["east"], "warehouses": ["WH-1", "WH-2"]},
    {"skus": ["SKU-1", "SKU-2"]},
    {"categories": ["tea"], "tags": ["x"], "abc_classes": ["A"], "regions": ["east"],
     "warehouses": ["WH-1"], "skus": ["SKU-9"]},
])
def test_group_where_and_describe_where_are_inverse(selection) -> None:
    where = group_where(**selection)
    described = describe_where(where)
    assert described == {k: selection.get(k, []) for k in described}
    load_ruleset(dump_yaml({"ruleset": "t", "sku_groups": [{"id": "g", "where": where}]}))


def test_group_where_shapes() -> None:
    assert group_where() is None
    assert describe_where(None) == {k: [] for k in (
        "categories", "tags", "abc_classes", "regions", "warehouses", "skus")}
    assert group_where(abc_classes=["A"]) == {"==": [{"var": ["sku.abc_class", ""]}, "A"]}
    assert group_where(tags=[" seasonal ", "seasonal", ""]) == {
        "in": ["seasonal", {"var": "sku.tags"}]}
    assert group_where(categories=["a"], skus=["S1", "S2"]) == {"and": [
        {"==": [{"var": ["sku.category", ""]}, "a"]},
        {"in": [{"var": "sku.code"}, ["S1", "S2"]]}]}


def test_hand_written_simple_filters_are_understood_and_others_are_not() -> None:
    assert describe_where({"==": [{"var": "sku.abc_class"}, "A"]})["abc_classes"] == ["A"]
    assert describe_where({"in": ["seasonal", {"var": "sku.tags"}]})["tags"] == ["seasonal"]
    assert describe_where({"<": [{"var": ["sku.unit_cost", 0]}, 1]}) is None
    assert describe_where({"or": [{"==": [{"var": "sku.abc_class"}, "A"]},
                                  {"==": [{"var": "sku.category"}, "tea"]}]}) is None
    assert describe_where({"and": [{"==": [{"var": "sku.abc_class"}, "A"]},
                                   {"==": [{"var": "sku.abc_class"}, "B"]}]}) is None
    for group in demo()["sku_groups"]:
        assert describe_where(group["where"]) is not None, group["id"]


# --- upsert and delete ----------------------------------------------------------------------------


def test_upsert_replaces_in_place_and_keeps_everything_else() -> None:
    doc = demo()
    rule = {**next(r for r in doc["rules"] if r["id"] == "low-cover"), "severity": "low"}
    out = upsert_rule(doc, rule, old_id="low-cover")
    assert [r["id"] for r in out["rules"]] == [r["id"] for r in doc["rules"]]
    assert next(r for r in out["rules"] if r["id"] == "low-cover")["severity"] == "low"
    for key in ("settings", "sku_groups", "roles", "workflows", "description"):
        assert out[key] == doc[key]
    assert next(r for r in doc["rules"] if r["id"] == "low-cover")["severity"] == "critical"


def test_upsert_adds_new_items_at_the_end_and_to_an_empty_document() -> None:
    doc = demo()
    new = {"id": "new-rule", "when": A}
    out = upsert_rule(doc, new)
    assert out["rules"][-1] == new and len(out["rules"]) == len(doc["rules"]) + 1
    empty = upsert_rule(base_document(None), new)
    assert empty == {"ruleset": "default", "rules": [new]}
    twice = upsert_rule(doc, {"id": "stock-out", "when": A})  # a duplicate: validation says so
    assert [r["id"] for r in twice["rules"]].count("stock-out") == 2


def test_renaming_a_group_role_or_workflow_renames_its_uses() -> None:
    doc = demo()
    group = {**doc["sku_groups"][0], "id": "class-a"}
    out = upsert_group(doc, group, old_id="a-class")
    assert next(r for r in out["rules"] if r["id"] == "a-below-rop")["group"] == "class-a"
    role = {**doc["roles"][1], "id": "manager"}
    out = upsert_role(doc, role, old_id="purchasing-manager")
    text = dump_yaml(out)
    assert "purchasing-manager" not in text and "escalate_to: manager" in text
    load_ruleset(text)
    lead = {**doc["roles"][2], "id": "store-lead"}
    out = upsert_role(doc, lead, old_id="warehouse-lead")
    rule = next(r for r in out["rules"] if r["id"] == "a-below-rop")
    assert rule["actions"][1]["suggest_transfer"]["ship"] == "store-lead"
    load_ruleset(dump_yaml(out))
    workflow = {**doc["workflows"][0], "id": "restock"}
    out = upsert_workflow(doc, workflow, old_id="replenishment")
    assert "workflow: replenishment" not in dump_yaml(out)
    load_ruleset(dump_yaml(out))


def test_delete_removes_one_item_and_reports_what_still_uses_it() -> None:
    doc = demo()
    out = delete_rule(doc, "stock-out")
    assert [r["id"] for r in out["rules"]] == [r["id"] for r in doc["rules"]
                                               if r["id"] != "stock-out"]
    assert usages(doc, "group", "a-class") == ["a-below-rop", "slow-mover", "many-a-low"]
    assert "a-below-rop" in usages(doc, "role", "warehouse-lead")  # it ships the transfers
    manager = usages(doc, "role", "purchasing-manager")
    assert {"a-below-rop", "role:buyer", "workflow:replenishment"} <= set(manager)
    with pytest.raises(KeyError):
        delete(doc, "workflow", "nope")
    without = delete_group(doc, "seasonal")  # still used: validation will refuse it
    assert len(without["sku_groups"]) == len(doc["sku_groups"]) - 1
    assert usages(without, "group", "seasonal") == ["slow-mover"]


# --- YAML and durations --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["demo-ruleset.yaml", "retail-default.yaml"])
def test_dump_yaml_round_trips_through_the_strict_loader(name) -> None:
    source = load_ruleset((REPO / "configs" / name).read_text())
    text = dump_yaml(source.document)
    again = load_ruleset(text)
    assert again.document == source.document
    assert "'on':" in text or "on:" not in text  # the key stays text, not YAML's boolean
    assert "&" not in text.split("\n", 1)[0]


def test_shared_objects_are_written_twice_not_as_aliases() -> None:
    when = {"<": [AVAILABLE, 5]}
    doc = {"ruleset": "t", "rules": [{"id": "a", "when": when}, {"id": "b", "when": when}]}
    text = dump_yaml(doc)
    assert "&id" not in text and "*id" not in text
    assert load_ruleset(text).document == doc


@pytest.mark.parametrize(("value", "expected"), [
    ("4h", ("4", "h")), ("1d12h", ("36", "h")), ("90m", ("90", "m")), ("2d", ("2", "d")),
    ("1w", ("7", "d")), (timedelta(hours=8), ("8", "h")), (None, ("", "h")), ("0s", ("0", "h")),
    ("soon", ("soon", "h")),
])
def test_durations_split_for_a_number_and_unit_input(value, expected) -> None:
    assert split_duration(value) == expected


def test_durations_join_back() -> None:
    assert join_duration("4", "h") == "4h"
    assert join_duration(" 30 ", "m") == "30m"
    assert join_duration("", "d") is None
    assert join_duration("2", "x") == "2h"
