"""The pipeline's pure core, without a database: state + events + snapshot in, changes out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.actions.context import NotificationDraft, RequisitionDraft, TaskDraft
from engine.metrics import DemandWindow, SupplierLink
from engine.pipeline.core import apply, touched
from engine.pipeline.memory import MemoryLedger
from engine.pipeline.state import Pair, StockState
from engine.rules.loader import load_ruleset
from engine.snapshot import Snapshot
from engine.stock import StockLevel, parse_event

RULES = """
ruleset: core
settings: {timezone: UTC}
roles: [{id: buyer, name: Buyer, members: [alice], channels: [email]}]
workflows:
  - {id: fix, name: Fix, states: [open, done], initial: open,
     transitions: [{id: done, from: [open], to: done, roles: [buyer]}]}
rules:
  - id: low
    name: Low stock
    on: [sale, count]
    when: {"<": [{"var": "stock.available"}, 10]}
    owner: buyer
    auto_resolve: true
    actions:
      - create_task: {title: "low {{ sku.code }}", workflow: fix}
      - create_requisition: {quantity: {fixed: 50}, supplier: preferred}
      - notify: {to: owner}
  - id: short-everywhere
    name: Short in every warehouse
    on: [sale]
    when: {"<": [{"var": "stock.total_available"}, 100]}
    owner: buyer
"""
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def snapshot() -> Snapshot:
    link = SupplierLink(code="P", lead_time_days=3, lead_time_std_days=0, price=2.0,
                        preferred=True, backup=False, moq=1, pack_size=1)
    return Snapshot.in_memory(load_ruleset(RULES), {1: {"code": "S1", "name": "one"}},
                              {1: {"code": "W1"}, 2: {"code": "W2"}}, links={1: (link,)},
                              suppliers={"P": 1})


def event(n: int, type_: str, qty: float, wh: str = "W1", minutes: int = 0):  # type: ignore[no-untyped-def]
    parsed = parse_event({"id": f"e{n}", "type": type_, "sku": "S1", "warehouse": wh, "qty": qty,
                          "at": (T0 + timedelta(minutes=minutes)).isoformat()})
    assert not isinstance(parsed, list), parsed
    return parsed


def state_of(**levels: float) -> StockState:
    state = StockState()
    for wh_id, on_hand in ((1, levels.get("w1", 0.0)), (2, levels.get("w2", 0.0))):
        state.pairs[(1, wh_id)] = Pair(1, wh_id, StockLevel(on_hand=on_hand), DemandWindow())
    return state


def test_a_sale_below_the_threshold_opens_one_alert_with_its_work_and_changes_the_level():
    snap = snapshot()
    state = state_of(w1=12, w2=500)
    changes = apply(state, [event(1, "sale", 5)], snap)
    assert state.pairs[(1, 1)].level.on_hand == 7
    assert dict(changes.demand) == {(1, 1, T0.date()): 5.0}
    [alert] = changes.new_alerts
    assert (alert.rule.id, alert.facts["stock"]["available"], alert.hits) == ("low", 7, 1)
    kinds = sorted(type(d).__name__ for d in alert.drafts)
    assert kinds == ["NotificationDraft", "RequisitionDraft", "TaskDraft"]
    task = next(d for d in alert.drafts if isinstance(d, TaskDraft))
    req = next(d for d in alert.drafts if isinstance(d, RequisitionDraft))
    note = next(d for d in alert.drafts if isinstance(d, NotificationDraft))
    assert (task.title, task.workflow, req.quantity, req.supplier, note.channel) == (
        "low S1", "fix", 50, "P", "email")
    assert state.pairs[(1, 1)].level.on_order_local == 50  # the next rule sees it ordered


def test_events_of_a_batch_apply_in_time_order_and_a_later_receipt_resolves_in_the_same_batch():
    snap = snapshot()
    state = state_of(w1=12, w2=500)
    receipt = parse_event({"id": "r", "type": "receipt", "sku": "S1", "warehouse": "W1", "qty": 40,
                           "at": (T0 + timedelta(hours=1)).isoformat()})
    count = parse_event({"id": "c", "type": "count", "sku": "S1", "warehouse": "W1", "qty": 45,
                         "at": (T0 + timedelta(hours=2)).isoformat()})
    changes = apply(state, [count, receipt, event(1, "sale", 5)], snap)  # given out of order
    [alert] = changes.new_alerts
    assert alert.resolved_at == T0 + timedelta(hours=1)  # an open alert hears every event type
    assert state.pairs[(1, 1)].level.on_hand == 45


def test_total_available_counts_the_warehouses_outside_the_batch():
    snap = snapshot()
    state = StockState(pairs={(1, 1): Pair(1, 1, StockLevel(on_hand=50), DemandWindow())},
                       others_available={1: 497.0})  # W2, as storage loads it
    changes = apply(state, [event(1, "sale", 11)], snap)
    assert changes.new_alerts == []  # 39 + 497 is not under 100: no alert for the whole SKU
    state.others_available = {1: 40.0}
    changes = apply(state, [event(2, "sale", 1)], snap)
    assert [a.rule.id for a in changes.new_alerts] == ["short-everywhere"]
    assert changes.new_alerts[0].facts["stock"]["total_available"] == 78


def test_touched_names_both_sides_of_a_transfer():
    snap = snapshot()
    transfer = parse_event({"id": "t", "type": "transfer", "sku": "S1", "warehouse": "W1",
                            "to_warehouse": "W2", "qty": 1, "at": T0.isoformat()})
    assert touched([transfer], snap) == ([(1, 1), (1, 2)], [])


def test_the_ledger_applies_a_history_in_memory_and_skips_ids_seen_before():
    ledger = MemoryLedger(snapshot())
    items = [{"id": "c", "type": "count", "sku": "S1", "warehouse": "W1", "qty": 30, "at": T0.isoformat()},
             {"id": "s", "type": "sale", "sku": "S1", "warehouse": "W1", "qty": 25,
              "at": (T0 + timedelta(hours=1)).isoformat()},
             {"id": "x", "type": "sale", "sku": "NOPE", "warehouse": "W1", "qty": 1, "at": T0.isoformat()}]
    answers = ledger.handle(items, T0 + timedelta(days=1))
    assert [r.status for r in answers] == ["accepted", "accepted", "rejected"]
    again = ledger.handle(items[1:2] + [{"id": "s2", "type": "sale", "sku": "S1", "warehouse": "W1",
                                          "qty": 1, "at": (T0 + timedelta(hours=2)).isoformat()}],
                          T0 + timedelta(days=1))
    assert [r.status for r in again] == ["duplicate", "accepted"]
    [low] = [a for a in ledger.open_alerts() if a.opened.rule.id == "low"]
    assert (low.hits, ledger.state.pairs[(1, 1)].level.on_hand) == (2, 4)


def test_a_muted_rule_opens_nothing_for_its_pair_and_orders_nothing():
    from engine.noise import Mute, Mutes

    snap = snapshot()
    state = state_of(w1=12, w2=5)
    state.mutes = Mutes.of([Mute(1, "low", None, 1)])  # "low" muted in warehouse W1
    changes = apply(state, [event(1, "sale", 5), event(2, "sale", 1, wh="W2")], snap)
    opened = [(a.rule.id, a.pair.wh_id) for a in changes.new_alerts]
    assert ("low", 1) not in opened and ("low", 2) in opened
    assert ("short-everywhere", 1) in opened  # another rule is not muted
    assert state.pairs[(1, 1)].level.on_order_local == 0  # no requisition for the muted pair
    state = state_of(w1=12)
    state.mutes = Mutes.of([Mute(1, "low", None, 1, until=T0)])  # ended before the sale
    assert "low" in [a.rule.id for a in apply(state, [event(1, "sale", 5)], snap).new_alerts]
