"""The rule editor's reads: which SKU×warehouse a rule would alert on now (with the numbers its
condition saw), the live count of a group filter, and how often each rule fired. The catalogue,
ruleset and stock are set up through the REST API, as an integration would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from engine.rules import load_ruleset
from engine.rules.editing import dump_yaml, group_where, upsert_rule
from engine.services.preview import (
    count_group,
    current_revision,
    fired_counts,
    master_choices,
    preview_rule,
    read_levels,
)

RULESET = """\
ruleset: preview-test
sku_groups:
  - {id: teas, name: 茶, where: {"==": [{"var": ["sku.category", ""]}, "tea"]}}
roles:
  - {id: buyer, name: 采购员, members: [alice]}
rules:
  - id: low
    name: 低库存
    group: teas
    when: {"<": [{"var": "stock.available"}, 10]}
    owner: buyer
"""
STOCK = {("TEA-1", "WH-A"): 5, ("TEA-1", "WH-B"): 50, ("TEA-2", "WH-A"): 2,
         ("SNK-1", "WH-A"): 100}


@pytest.fixture
def catalogue(client: Any, admin_headers: dict[str, str], clock: Any) -> Any:
    def put(path: str, body: Any, content_type: str = "application/json") -> None:
        kwargs = {"json": body} if content_type == "application/json" else {
            "data": body, "content_type": content_type}
        answer = client.put(path, headers=admin_headers, **kwargs)
        assert answer.status_code == 200, answer.json

    put("/api/v1/warehouses", [{"code": "WH-A", "name": "上海仓", "region": "east"},
                               {"code": "WH-B", "name": "成都仓", "region": "west"}])
    put("/api/v1/skus", [
        {"code": "TEA-1", "name": "绿茶", "category": "tea", "tags": ["seasonal"],
         "abc_class": "A", "unit_cost": 2},
        {"code": "TEA-2", "name": "红茶", "category": "tea", "abc_class": "B", "unit_cost": 3},
        {"code": "SNK-1", "name": "薯片", "category": "snack", "abc_class": "C", "unit_cost": 1},
    ])
    put("/api/v1/ruleset", RULESET, "application/yaml")
    at = (clock.now() - timedelta(hours=1)).isoformat()
    events = [{"id": f"c-{sku}-{wh}", "type": "count", "sku": sku, "warehouse": wh, "qty": qty,
               "at": at} for (sku, wh), qty in STOCK.items()]
    answer = client.post("/api/v1/events", json=events, headers=admin_headers)
    assert answer.status_code == 200 and answer.json["accepted"] == len(events), answer.json
    return client


def test_the_preview_lists_the_pairs_that_would_alert_with_their_numbers(
        catalogue, services, clock) -> None:
    with services.uow() as uow:
        snap = services.cache.current(uow.conn)
        compiled = snap.ruleset.compiled
        result = preview_rule(read_levels(uow.conn), snap, compiled.rule("low"), compiled, clock.now())
    assert result.paths == ["stock.available"]
    assert [(r.sku, r.warehouse, r.numbers) for r in result.hits] == [
        ("TEA-1", "WH-A", {"stock.available": 5}),
        ("TEA-2", "WH-A", {"stock.available": 2}),
    ]
    assert result.hits[0].sku_name == "绿茶"
    assert (result.checked, result.in_groups, result.hit_count) == (3, 3, 2)  # no snack
    assert [(r.sku, r.warehouse, r.hit) for r in result.misses] == [("TEA-1", "WH-B", False)]
    assert not result.capped and not result.truncated


def test_an_unsaved_rule_is_previewed_against_the_edited_ruleset(
        catalogue, services, clock) -> None:
    with services.uow() as uow:
        snap = services.cache.current(uow.conn)
        document = snap.ruleset.compiled.document
        rule = {"id": "east-cover", "groups": ["east"],
                "when": {"or": [{"<": [{"var": "stock.on_hand"}, 3]},
                                {"<": [{"var": ["metrics.days_of_cover", 9999]}, 1]}]}}
        edited = upsert_rule(document, rule)
        edited["sku_groups"].append({"id": "east", "where": group_where(regions=["east"])})
        compiled = load_ruleset(dump_yaml(edited))
        result = preview_rule(read_levels(uow.conn), snap, compiled.rule("east-cover"), compiled, clock.now(),
                              max_hits=5)
    assert [(r.sku, r.warehouse) for r in result.hits] == [("TEA-2", "WH-A")]
    assert result.hits[0].values == (("stock.on_hand", 2), ("metrics.days_of_cover", None))
    assert result.checked == 3  # the three pairs in WH-A, the snack included


def test_hits_are_capped_and_said_to_be(catalogue, services, clock) -> None:
    with services.uow() as uow:
        snap = services.cache.current(uow.conn)
        compiled = load_ruleset(dump_yaml(upsert_rule(
            snap.ruleset.compiled.document, {"id": "all", "when": {">=": [{"var": "stock.on_hand"},
                                                                          0]}})))
        result = preview_rule(read_levels(uow.conn), snap, compiled.rule("all"), compiled, clock.now(),
                              max_hits=2, max_pairs=3)
    assert result.hit_count == 3 and len(result.hits) == 2 and result.capped
    assert result.in_groups == 4 and result.checked == 3 and result.truncated


def test_the_live_count_of_a_group_filter(catalogue, services) -> None:
    with services.uow() as uow:
        snap = services.cache.current(uow.conn)
    assert count_group(snap, group_where(categories=["tea"])) == (2, ["TEA-1", "TEA-2"])
    assert count_group(snap, group_where(tags=["seasonal"])) == (1, ["TEA-1"])
    assert count_group(snap, group_where(abc_classes=["A", "C"])) == (2, ["SNK-1", "TEA-1"])
    assert count_group(snap, group_where(skus=["SNK-1", "NOPE"])) == (1, ["SNK-1"])
    assert count_group(snap, group_where(regions=["west"]))[0] == 3  # every SKU, in WH-B
    assert count_group(snap, None) == (3, ["SNK-1", "TEA-1", "TEA-2"])
    with pytest.raises(ValueError):
        count_group(snap, {"==": [{"var": "stock.available"}, 1]})  # not a group fact
    choices = master_choices(snap)
    assert choices["categories"] == ["snack", "tea"] and choices["tags"] == ["seasonal"]
    assert choices["regions"] == ["east", "west"]
    assert choices["warehouses"] == [("WH-A", "上海仓"), ("WH-B", "成都仓")]


def test_fired_counts_and_revision(catalogue, services) -> None:
    with services.uow() as uow:
        assert fired_counts(uow.conn) == {"low": (2, 2)}
        assert current_revision(uow.conn) == 1


def test_the_preview_evaluates_after_its_read_ended_under_the_engine_budget(
        catalogue, services, clock, db_url) -> None:
    """As the rule editor's view does it: the levels are read in a short transaction, then the
    rule runs with nobody holding the database (on SQLite a writer that will not wait gets the
    lock while the condition runs: POST /events is not held up), each pair under the budget."""
    import sqlite3
    from dataclasses import replace

    from engine.rules.jsonlogic import compile as compile_logic
    from tests.engine.rules.test_jsonlogic_budget import BOMBS

    with services.uow() as uow:
        snap = services.cache.current(uow.conn)
        levels = read_levels(uow.conn)
    compiled = snap.ruleset.compiled
    locked: list[str] = []
    bomb = compile_logic(BOMBS["nested some"])

    def condition(facts: Any) -> Any:
        if db_url.startswith("sqlite"):
            writer = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=0)
            try:
                writer.execute("BEGIN IMMEDIATE")  # fails at once if the lock is held
                writer.rollback()
            except sqlite3.OperationalError as exc:
                locked.append(str(exc))
            finally:
                writer.close()
        return bomb(facts)

    rule = replace(compiled.rule("low"), condition=condition, when=BOMBS["nested some"])
    result = preview_rule(levels, snap, rule, compiled, clock.now())
    assert locked == []
    assert result.checked == 3 and result.hit_count == 0 and result.error_count == 3
    assert all("BudgetExceeded" in (row.error or "") for row in result.misses)
