"""Issue #19 in the pure core, numbers derived by hand: a surplus elsewhere is proposed as a
transfer before buying and the requisition shrinks by it; a group rule alerts once per
group×warehouse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.actions.context import RequisitionDraft, Skipped, TransferDraft
from engine.metrics import DemandWindow, SupplierLink
from engine.pipeline.core import apply
from engine.pipeline.state import Pair, StockState
from engine.rules.loader import load_ruleset
from engine.snapshot import Snapshot
from engine.stock import StockLevel, parse_event

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
TODAY = T0.date()

TRANSFER_RULES = """
ruleset: transfers
settings: {timezone: UTC, demand_window_days: 28, review_period_days: 7, service_level: 0.95}
roles: [{id: buyer, members: [alice]}, {id: store, members: [bob]}]
rules:
  - id: low
    on: [sale]
    when: {"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]}
    owner: buyer
    actions:
      - suggest_transfer: {regions: [north], ship: store}
      - create_requisition: {quantity: order_up_to}
"""


def window(daily: float, days: range) -> DemandWindow:
    w = DemandWindow()
    for back in days:
        w.add(TODAY - timedelta(days=back), daily)
    return w


def sale(n: int, sku: str, wh: str, qty: float, minutes: int = 0):  # type: ignore[no-untyped-def]
    parsed = parse_event({"id": f"e{n}", "type": "sale", "sku": sku, "warehouse": wh,
                          "qty": qty, "at": (T0 + timedelta(minutes=minutes)).isoformat()})
    assert not isinstance(parsed, list), parsed
    return parsed


def transfer_snapshot() -> Snapshot:
    link = SupplierLink(code="P", lead_time_days=5, lead_time_std_days=0, price=2.0,
                        preferred=True, backup=False, moq=1, pack_size=1)
    whs = {1: {"code": "WH-SH", "region": "east"}, 2: {"code": "WH-BJ", "region": "north"},
           3: {"code": "WH-GZ", "region": "south"}}
    return Snapshot.in_memory(load_ruleset(TRANSFER_RULES), {1: {"code": "S1", "name": "one"}},
                              whs, links={1: (link,)}, suppliers={"P": 1})


def transfer_state(bj_on_hand: float = 60.0) -> StockState:
    state = StockState()
    # WH-SH sells 10 a day (27 days before today, 10 more today): d = 10, σ = 0
    state.pairs[(1, 1)] = Pair(1, 1, StockLevel(on_hand=55), window(10, range(1, 28)))
    # WH-BJ sells 2 a day over the whole window: d = 2, reorder point 10, max stock 24
    state.elsewhere[(1, 2)] = (StockLevel(on_hand=bj_on_hand), window(2, range(0, 28)))
    # WH-GZ has plenty and no demand, but is not in an allowed region
    state.elsewhere[(1, 3)] = (StockLevel(on_hand=1000), DemandWindow())
    return state


def test_a_surplus_in_another_warehouse_is_proposed_first_and_the_requisition_shrinks():
    # WH-SH after the sale: available 45 < reorder point 10·5 = 50; max stock 50 + 10·7 = 120;
    # need 120 − 45 = 75. WH-BJ: 60 > its max stock 24; it may give 49 (leaves 11 > 10).
    # The requisition orders up to max stock counting the transfer: 120 − (45 + 49) = 26.
    changes = apply(transfer_state(), [sale(1, "S1", "WH-SH", 10)], transfer_snapshot())
    [alert] = changes.new_alerts
    [transfer] = [d for d in alert.drafts if isinstance(d, TransferDraft)]
    [req] = [d for d in alert.drafts if isinstance(d, RequisitionDraft)]
    assert (transfer.from_warehouse, transfer.quantity) == ("WH-BJ", 49)
    assert (transfer.ship_role, transfer.receive_role) == ("store", "buyer")
    assert transfer.explanation["need"] == 75 and transfer.explanation["source_left"] == 11
    assert req.quantity == 26
    assert req.reason.endswith("; less 49 coming by open transfers")


def test_open_transfers_into_the_pair_shrink_the_requisition_too():
    state = transfer_state(bj_on_hand=20)  # 20 < BJ's max stock 24: no surplus
    state.inbound[(1, 1)] = 30.0  # a transfer already on its way
    changes = apply(state, [sale(1, "S1", "WH-SH", 10)], transfer_snapshot())
    drafts = changes.new_alerts[0].drafts
    assert [d.reason for d in drafts if isinstance(d, Skipped)] == [
        "no transfer: no allowed warehouse has a surplus above its reorder point"]
    [req] = [d for d in drafts if isinstance(d, RequisitionDraft)]
    assert req.quantity == 120 - (45 + 30)


def test_an_open_transfer_out_of_the_source_is_not_given_twice():
    state = transfer_state()
    state.outgoing[(1, 2)] = 30.0  # BJ counts 60 − 30 = 30, still above its max stock 24
    changes = apply(state, [sale(1, "S1", "WH-SH", 10)], transfer_snapshot())
    [transfer] = [d for d in changes.new_alerts[0].drafts if isinstance(d, TransferDraft)]
    assert transfer.quantity == 19  # 30 − 19 = 11 > its reorder point 10


GROUP_RULES = """
ruleset: groups
settings: {timezone: UTC, demand_window_days: 28, review_period_days: 7, service_level: 0.5}
sku_groups:
  - {id: fast, where: {"==": [{"var": "sku.abc_class"}, "A"]}}
roles: [{id: buyer, members: [alice]}]
rules:
  - id: many-fast-low
    group: fast
    per: group_warehouse
    on: [sale]
    when: {">": [{"var": "group.below_reorder_point"}, 5]}
    owner: buyer
"""


def group_snapshot() -> Snapshot:
    link = SupplierLink(code="P", lead_time_days=5, lead_time_std_days=0, price=2.0,
                        preferred=True, backup=False, moq=1, pack_size=1)
    skus = {i: {"code": f"F{i}", "name": f"fast {i}", "abc_class": "A"} for i in range(1, 8)}
    skus[8] = {"code": "C8", "name": "slow", "abc_class": "C"}
    return Snapshot.in_memory(load_ruleset(GROUP_RULES), skus,
                              {1: {"code": "WH-SH"}, 2: {"code": "WH-BJ"}},
                              links=dict.fromkeys(skus, (link,)), suppliers={"P": 1})


def group_state() -> StockState:
    # Every member sold 10 a day the 27 days before today. z = 0 (service level 0.5): the
    # reorder point is d·5: 270/28·5 = 48.2 without a sale today, 50 with one of 10.
    state = StockState()
    for sku in range(1, 8):
        on_hand = 30.0 if sku <= 5 else 55.0  # F1..F5 below 48.2; F6, F7 above
        state.elsewhere[(sku, 1)] = (StockLevel(on_hand=on_hand), window(10, range(1, 28)))
    state.elsewhere[(8, 1)] = (StockLevel(on_hand=0.0), window(10, range(1, 28)))  # not fast
    for sku in (6, 7):
        level, w = state.elsewhere.pop((sku, 1))
        state.pairs[(sku, 1)] = Pair(sku, 1, level, w)
    return state


def test_a_group_rule_fires_once_on_the_sixth_fast_mover_below_its_reorder_point():
    snap, state = group_snapshot(), group_state()
    # F6: 55 − 10 = 45 < 50: the sixth below → one alert; F7 likewise: the seventh → a hit
    changes = apply(state, [sale(1, "F6", "WH-SH", 10), sale(2, "F7", "WH-SH", 10, 5)], snap)
    [alert] = changes.new_alerts
    assert alert.scope_key == "fast" and alert.hits == 2
    group = alert.facts["group"]
    assert (group["skus"], group["below_reorder_point"], group["out_of_stock"]) == (7, 6, 0)
    assert group["on_hand"] == 5 * 30 + 45 + 55
    assert alert.facts["sku"]["code"] == "F6"


def test_five_below_is_not_more_than_five():
    snap, state = group_snapshot(), group_state()
    state.pairs[(6, 1)].level.on_hand = 70  # stays above after its sale: still five below
    changes = apply(state, [sale(1, "F6", "WH-SH", 10)], snap)
    assert changes.new_alerts == []
