"""Issue #19 in the rule document: suggest_transfer and group rules, validated with located
errors, and the group sums (no database)."""

from __future__ import annotations

import pytest

from engine.pipeline.groups import Tally, group_facts, member
from engine.rules.compiled import SuggestTransfer
from engine.rules.loader import load_ruleset
from engine.rules.problems import RulesetInvalid

HEAD = """
ruleset: t
sku_groups: [{id: fast, where: {"==": [{"var": "sku.abc_class"}, "A"]}}]
roles: [{id: buyer}, {id: store}]
rules:
"""


def problems(rules: str) -> list[tuple[str, str]]:
    with pytest.raises(RulesetInvalid) as invalid:
        load_ruleset(HEAD + rules)
    return [(p.path, p.message) for p in invalid.value.problems]


def test_suggest_transfer_compiles_with_its_settings() -> None:
    rs = load_ruleset(HEAD + """
  - id: low
    owner: buyer
    when: {"<": [{"var": "stock.available"}, 5]}
    actions:
      - suggest_transfer: {sources: [WH-BJ, WH-GZ], regions: north, min_cover_days: 30, ship: store}
""")
    assert rs.rules[0].actions[0] == SuggestTransfer(("WH-BJ", "WH-GZ"), ("north",), 30, "store",
                                                     None)


def test_suggest_transfer_mistakes_are_located() -> None:
    found = problems("""
  - id: low
    when: {"<": [{"var": "stock.available"}, 5]}
    actions:
      - suggest_transfer: {min_cover_days: -3, ship: nobody, recieve: buyer}
""")
    paths = [p for p, _ in found]
    assert "rules[0].actions[0].suggest_transfer.min_cover_days" in paths
    assert "rules[0].actions[0].suggest_transfer.recieve" in paths
    assert "rules[0].actions[0].suggest_transfer.ship" in paths


def test_group_rules_need_a_group_read_group_facts_and_take_no_pair_actions() -> None:
    found = problems("""
  - id: g1
    per: group_warehouse
    when: {">": [{"var": "group.below_reorder_point"}, 5]}
    actions: [{suggest_transfer: {}}]
  - id: g2
    when: {">": [{"var": "group.below_reorder_point"}, 5]}
  - id: g3
    per: per_group
    group: fast
    when: {">": [{"var": "group.out_of_stock"}, 0]}
""")
    paths = dict(found)
    assert "'group'" in paths["rules[0].per"]
    assert "create_task or notify" in paths["rules[0].actions[0].suggest_transfer"]
    assert "not a known fact" in paths['rules[1].when[">"][0]']  # not a group rule
    assert "rules[2].per" in paths


def test_a_group_rules_days_of_cover_is_nullable_like_a_skus() -> None:
    found = problems("""
  - id: g
    group: fast
    per: group_warehouse
    when: {"<": [{"var": "group.days_of_cover"}, 3]}
""")
    assert [p for p, _ in found] == ['rules[0].when["<"][0]']
    load_ruleset(HEAD + """
  - id: g
    group: fast
    per: group_warehouse
    when: {"<": [{"var": ["group.all.days_of_cover", 9999]}, 3]}
""")


def test_the_group_sums_follow_each_members_changes() -> None:
    here = Tally()
    here.put(1, member(30, 30, 30, 48.2, 9.6))  # below
    here.put(2, member(0, 0, 20, 50, 10))  # below and out of stock
    here.put(3, member(55, 55, 55, 48.2, 9.6))
    facts = here.facts()
    assert (facts["skus"], facts["below_reorder_point"], facts["out_of_stock"]) == (3, 2, 1)
    assert facts["on_hand"] == 85 and facts["inventory_position"] == 105
    assert facts["days_of_cover"] == pytest.approx(85 / 29.2)
    here.put(3, member(45, 45, 45, 50, 10))  # its sale: now below too
    assert here.facts()["below_reorder_point"] == 3 and here.facts()["on_hand"] == 75
    there = Tally()
    there.put(1, member(10, 10, 10, 5, 0))
    both = group_facts("fast", here, [here, there], skus=3)
    assert both["all"]["skus"] == 3 and both["all"]["on_hand"] == 85 and both["id"] == "fast"
    assert "days_of_cover" not in Tally().facts()  # no demand: null, left out
    assert "all" not in group_facts("fast", here)  # only for a rule that reads group.all


def test_a_members_reorder_point_is_the_facts_own() -> None:
    from datetime import UTC, date, datetime, timedelta

    from engine.facts import FactMaker
    from engine.metrics import DemandWindow, SupplierLink
    from engine.stock import StockEvent, StockLevel

    link = SupplierLink(code="P", lead_time_days=4.5, lead_time_std_days=1.3, price=1.0,
                        preferred=True, backup=False, moq=1, pack_size=1)
    window = DemandWindow()
    today = date(2026, 11, 20)
    for back, qty in enumerate((3.0, 0.0, 7.5, 2.25, 11.0, 4.0)):
        window.add(today - timedelta(days=back), qty)
    maker = FactMaker((link,), {"service_level": 0.97, "demand_window_days": 14}, UTC)
    event = StockEvent("e", "sale", "S", "W", datetime(2026, 11, 20, 9, tzinfo=UTC))
    metrics = maker.facts(event, {"code": "S"}, {"code": "W"}, StockLevel(), window)["metrics"]
    assert maker.reorder_point(window, today) == (metrics["avg_daily_demand"],
                                                   metrics["reorder_point"])
    seasonal = FactMaker((link,), {"forecast_method": "ses"}, UTC)
    assert seasonal.reorder_point(window, today) is None  # forecast-driven: the full facts
