"""GroupIndex answers membership from keys of the fields a filter reads: the same answers as
evaluating every filter on every SKU, even for values Python equates and JsonLogic does not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from engine.evaluation import RuleIndex, evaluate
from engine.membership import GroupIndex, read_fields
from engine.rules.compiled import SkuGroup
from engine.rules.jsonlogic import compile

WHERES: list[Any] = [
    {"==": [{"var": ["sku.category", ""]}, "tea"]},
    {"in": [{"var": ["sku.category", ""]}, ["tea", "coffee"]]},
    {"===": [{"var": "sku.flag"}, 1]},  # 1, 1.0 and true are one Python dict key
    {"===": [{"var": "sku.flag"}, True]},
    {"==": [{"var": "sku.flag"}, "1"]},
    {"in": ["cold", {"var": "sku.tags"}]},
    {"some": [{"var": "sku.tags"}, {"==": [{"var": ""}, "fragile"]}]},
    {"missing": ["sku.abc_class"]},
    {"==": [{"var": "sku.attributes.color"}, "red"]},
    {"==": [{"var": {"cat": ["sku.", "category"]}}, "tea"]},  # computed name: no key
    {"==": [{"var": ["warehouse.region", ""]}, "east"]},
    {"and": [{"==": [{"var": "sku.abc_class"}, "A"]}, {"==": [{"var": "warehouse.region"}, "east"]}]},
]
SKUS = [
    {"code": f"S{i}", **values} for i, values in enumerate([
        {"category": "tea", "flag": 1, "tags": ["cold"], "abc_class": "A"},
        {"category": "coffee", "flag": 1.0, "tags": ["fragile", "cold"]},
        {"category": "tea", "flag": True, "tags": [], "attributes": {"color": "red"}},
        {"flag": "1", "tags": ["fragile"], "abc_class": "A", "attributes": {"color": "blue"}},
        {"category": "tea", "flag": None, "abc_class": "B", "attributes": {"color": "red"}},
        {"category": "tea", "flag": 1, "tags": ["cold"], "abc_class": "A"},
    ])
]
WAREHOUSES = [{"code": "W1", "region": "east"}, {"code": "W2", "region": "west"}, {"code": "W3"}]


def test_keyed_memberships_equal_evaluating_every_filter() -> None:
    groups = {f"g{i}": SkuGroup(f"g{i}", f"g{i}", w, compile(w)) for i, w in enumerate(WHERES)}
    index = GroupIndex(SimpleNamespace(groups=groups), SKUS, WAREHOUSES)  # type: ignore[arg-type]
    for _ in range(2):  # the second time from what the index remembered
        for sku in SKUS:
            for wh in [*WAREHOUSES, {"code": "W-unknown"}]:
                assert index.groups_for(sku["code"], wh["code"]) == _by_evaluation(groups, sku, wh)


def _by_evaluation(groups: dict[str, SkuGroup], sku: Any, wh: Any) -> tuple[str, ...]:
    """Every filter evaluated on the pair: the ids of the groups it is in, in document order."""
    data = {"sku": sku, "warehouse": {} if wh["code"] == "W-unknown" else wh}
    return tuple(g.id for g in groups.values() if bool(g.matches(data)) and (
        not isinstance(g.matches(data), list) or g.matches(data)))


def test_a_changed_sku_moves_between_groups_of_sku_and_warehouse_fields() -> None:
    wheres = [WHERES[11], WHERES[9], WHERES[0], WHERES[10]]  # class×region, computed, tea, east
    groups = {f"g{i}": SkuGroup(f"g{i}", f"g{i}", w, compile(w)) for i, w in enumerate(wheres)}
    skus = [dict(s) for s in SKUS]
    index = GroupIndex(SimpleNamespace(groups=groups), skus, WAREHOUSES)  # type: ignore[arg-type]
    assert index.groups_for("S0", "W1") == ("g0", "g1", "g2", "g3")  # A, tea, east
    assert index.groups_for("S4", "W1") == ("g1", "g2", "g3")  # a B SKU
    changed = {**skus[0], "abc_class": "B", "category": "coffee"}
    index.add_sku(changed)
    assert index.groups_for("S0", "W1") == _by_evaluation(groups, changed, WAREHOUSES[0]) == ("g3",)
    assert index.groups_for("S4", "W1") == ("g1", "g2", "g3")


def test_a_change_only_a_filter_of_unknown_fields_reads_is_seen() -> None:
    """The SKU keeps its sku-only groups; only a filter whose fields cannot be known reads the
    changed value: the answers remembered for the SKU must not survive the change."""
    computed = {"===": [{"var": {"cat": ["sku.", "flag"]}}, 1]}
    groups = {g: SkuGroup(g, g, w, compile(w)) for g, w in [("tea", WHERES[0]), ("flag1", computed)]}
    skus = [dict(s) for s in SKUS]
    index = GroupIndex(SimpleNamespace(groups=groups), skus, WAREHOUSES)  # type: ignore[arg-type]
    assert index.groups_for("S0", "W2") == ("tea", "flag1")
    assert index.groups_for("S5", "W2") == ("tea", "flag1")  # the same values as S0
    index.add_sku({**skus[0], "flag": 2})
    assert index.groups_for("S0", "W2") == ("tea",)
    assert index.groups_for("S5", "W2") == ("tea", "flag1")


def test_read_fields() -> None:
    assert read_fields(WHERES[0]) == {("sku", "category")}
    assert read_fields(WHERES[6]) == {("sku", "tags")}  # the item var is not the data's
    assert read_fields(WHERES[8]) == {("sku", "attributes")}
    assert read_fields(WHERES[9]) is None
    assert read_fields({"var": "sku"}) is None


def test_candidates_keep_document_order_over_units() -> None:
    rules = [SimpleNamespace(id=f"r{i}", on=frozenset({"sale"}), groups=g, enabled=True,
                             when={"==": [1, 1]}, condition=compile({"==": [1, 1]}))
             for i, g in enumerate([("a",), (), ("b",), ("a",), ("a", "b"), ("c",)])]
    index = RuleIndex(SimpleNamespace(rules=tuple(rules)))  # type: ignore[arg-type]
    assert [r.id for r in index.candidates("sale", ("a", "b"))] == ["r0", "r1", "r2", "r3", "r4"]
    assert [r.id for r in index.candidates("sale", ("c",))] == ["r1", "r5"]
    assert index.candidates("receipt", ("a",)) == ()
    # every rule hits: the outcomes of several fused units come back in document order
    assert [o.rule.id for o in evaluate(index.candidates("sale", ("a", "b")), {})] == [
        "r0", "r1", "r2", "r3", "r4"]
