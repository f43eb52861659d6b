"""The engine's in-memory snapshot: reloaded on a catalogue change, and a big one kept out of
the cyclic garbage collector's passes without keeping a replaced one alive."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from sqlalchemy import update

from engine import snapshot
from engine.services import engine_cache
from engine.storage.tables import ruleset_state


def test_a_big_snapshot_is_frozen_and_a_replaced_one_is_let_go(services: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(engine_cache, "FREEZE_FROM_SKUS", 0)  # "big": any size, here
    try:
        with services.db.connect() as conn:
            first = services.cache.current(conn)
        assert gc.get_freeze_count() > 0
        first_ref = weakref.ref(first)
        del first
        with services.db.begin() as conn:  # the catalogue changed: a new snapshot
            conn.execute(update(ruleset_state).values(
                catalog_revision=ruleset_state.c.catalog_revision + 1))
        with services.db.connect() as conn:
            second = services.cache.current(conn)
        assert second.key[1] == 1 and gc.get_freeze_count() > 0
        assert first_ref() is None  # unfrozen and collected, not kept for good
    finally:
        gc.unfreeze()


SELECT_RULESET = """\
ruleset: select
sku_groups:
  - {id: tea, name: tea, where: {"==": [{"var": "sku.category"}, "tea"]}}
  - {id: east, name: east, where: {"==": [{"var": "warehouse.region"}, "east"]}}
  - id: a-east
    name: class A in the east
    where: {"and": [{"==": [{"var": "sku.abc_class"}, "A"]}, {"==": [{"var": "warehouse.region"}, "east"]}]}
  - id: computed
    name: a field named by a computation (unknown in advance)
    where: {"and": [{"==": [{"var": {"cat": ["sku.", "category"]}}, "tea"]}, {"==": [{"var": "warehouse.region"}, "west"]}]}
roles:
  - {id: buyer, name: buyer, members: [alice]}
rules:
  - {id: all-low, on: [sale], when: {"<": [{"var": "stock.available"}, 5]}, owner: buyer, actions: []}
  - {id: tea-low, group: tea, on: [sale, receipt], when: {"<": [{"var": "stock.available"}, 3]}, owner: buyer, actions: []}
  - {id: east-low, group: east, on: [sale], when: {"<": [{"var": "stock.available"}, 2]}, owner: buyer, actions: []}
  - {id: a-east-low, groups: [a-east, tea], on: [sale, count], when: {"<": [{"var": "stock.available"}, 1]}, owner: buyer, actions: []}
  - {id: computed-low, group: computed, on: [sale], when: {"<": [{"var": "stock.available"}, 1]}, owner: buyer, actions: []}
"""


def _snapshot(sku_ids: list[int], bounded_at: int | None = None) -> Any:
    """A snapshot of six SKUs under ``sku_ids`` and three warehouses, built as ``load_snapshot``
    builds one (its profile index included)."""
    from engine.evaluation import RuleIndex
    from engine.membership import GroupIndex
    from engine.rules.loader import load_ruleset
    from engine.services.rulesets import ActiveRuleset

    compiled = load_ruleset(SELECT_RULESET)
    kinds = [("tea", "A"), ("tea", "B"), ("coffee", "A"), ("coffee", None), ("tea", "A"), (None, "C")]
    sku_facts = {i: {"code": f"S{i}", **({"category": c} if c else {}), **({"abc_class": k} if k else {})}
                 for i, (c, k) in zip(sku_ids, kinds, strict=True)}
    wh_facts = {1: {"code": "W1", "region": "east"}, 2: {"code": "W2", "region": "west"}, 3: {"code": "W3"}}
    snap = engine_cache.Snapshot(
        key=(1, 1), ruleset=ActiveRuleset(1, 1, compiled),
        sku_ids={f["code"]: i for i, f in sku_facts.items()}, sku_facts=sku_facts,
        warehouse_ids={w["code"]: i for i, w in wh_facts.items()}, warehouse_facts=wh_facts,
        links={}, supplier_ids={}, supplier_contacts={})
    snap.rule_index = RuleIndex(compiled)
    snap.group_index = GroupIndex(compiled, sku_facts.values(), wh_facts.values())
    snap.index_profiles()
    return snap


def test_select_by_ids_answers_as_groups_for_then_candidates(monkeypatch: Any) -> None:
    monkeypatch.setattr(snapshot, "MAX_SELECTIONS", 2)  # the bounded cells start afresh often
    for sku_ids in ([1, 2, 3, 4, 5, 6], [3, 10_000, 7, 99_999, 5, 42]):  # dense ids; sparse ones
        snap = _snapshot(sku_ids)
        assert isinstance(snap._profile_by_id, list if sku_ids[0] == 1 else dict)
        assert snap._selections_bounded  # the computed field: a profile per SKU
        for _ in range(3):  # then from what it remembered
            for sku_id, sku in snap.sku_facts.items():
                for wh_id, wh in snap.warehouse_facts.items():
                    for event_type in ("sale", "receipt", "count", "issue"):
                        groups = snap.groups_for(sku["code"], wh["code"])
                        expected = snap.rule_index.candidates(event_type, groups)
                        got_groups, got = snap.select(sku_id, wh_id, event_type)
                        assert (got_groups, got) == (groups, expected)
                        assert [r.id for r in got] == [r.id for r in expected]
        assert all(len(cells) <= 2 for cells in snap._selections.values())
    snap = _snapshot([1, 2, 3, 4, 5, 6])
    assert [r.id for r in snap.select(1, 1, "sale")[1]] == ["all-low", "tea-low", "east-low", "a-east-low"]
    assert [r.id for r in snap.select(1, 2, "sale")[1]] == ["all-low", "tea-low", "a-east-low", "computed-low"]
    assert snap.select(1, 2, "sale")[0] == ("tea", "computed")
    assert [r.id for r in snap.select(3, 1, "count")[1]] == ["a-east-low"]
    # a SKU the snapshot does not know: the warehouse's groups only, as groups_for answers
    assert snap.select(404, 1, "sale")[0] == snap.groups_for("S404", "W1") == ("east",)
