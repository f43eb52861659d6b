"""What a group rule (``per: group_warehouse``, issue #19) and ``suggest_transfer`` cost the
pure core: the same seeded stream of sales applied three times in one run — with a per-SKU
rule only, with a group rule over every SKU added, with ``suggest_transfer`` on the per-SKU
rule — and the ratios of their times printed. Informational; no target.

    .venv/bin/python bench/group_rules.py                 # 2,000 SKUs × 3 warehouses
    .venv/bin/python bench/group_rules.py --skus 20000 --events 200000 --batch 5000
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from datetime import UTC, datetime, timedelta

from engine.alerts import OpenAlert
from engine.metrics import DemandWindow, SupplierLink
from engine.pipeline.core import apply
from engine.pipeline.state import Pair, StockState
from engine.rules.loader import load_ruleset
from engine.snapshot import Snapshot
from engine.stock import StockLevel, parse_event

BASE = """
ruleset: bench
settings: {timezone: UTC}
sku_groups: [{id: all-a, where: {"==": [{"var": "sku.abc_class"}, "A"]}}]
roles: [{id: buyer, members: [alice]}]
workflows:
  - {id: fix, states: [open, done], transitions: [{id: done, from: [open], to: done, roles: [buyer]}]}
rules:
  - id: low
    when: {"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]}
    owner: buyer
    actions: [ACTIONS]
"""
GROUP = """
  - id: many-low
    group: all-a
    per: group_warehouse
    when: {">": [{"var": "group.below_reorder_point"}, 5]}
    owner: buyer
    actions: [{create_task: {title: "many low", workflow: fix}}]
"""
REQ = "{create_requisition: {quantity: order_up_to}}"
TRANSFER = "{suggest_transfer: {min_cover_days: 30}}, " + REQ
WAREHOUSES = ("WH-1", "WH-2", "WH-3")
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def snapshot(text: str, n: int) -> Snapshot:
    link = SupplierLink(code="P", lead_time_days=5, lead_time_std_days=1, price=2.0,
                        preferred=True, backup=False, moq=1, pack_size=1)
    skus = {i: {"code": f"S{i}", "name": f"s{i}", "abc_class": "A"} for i in range(1, n + 1)}
    whs = {i: {"code": c, "region": "r"} for i, c in enumerate(WAREHOUSES, 1)}
    return Snapshot.in_memory(load_ruleset(text), skus, whs, dict.fromkeys(skus, (link,)),
                              {"P": 1})


def fresh_state(n: int, rng: random.Random) -> StockState:
    state = StockState()
    for sku in range(1, n + 1):
        for wh in range(1, len(WAREHOUSES) + 1):
            w = DemandWindow()
            for back in range(1, 29):
                w.add((T0 - timedelta(days=back)).date(), rng.choice((2.0, 3.0, 4.0)))
            state.pairs[(sku, wh)] = Pair(sku, wh, StockLevel(on_hand=rng.uniform(20, 200)), w)
    return state


def run(text: str, n: int, events: list, batch: int, seed: int) -> float:
    snap = snapshot(text, n)
    state = fresh_state(n, random.Random(seed))
    start = time.perf_counter()
    for i in range(0, len(events), batch):
        apply(state, events[i:i + batch], snap, keep_order=True)
        stored(state)
    return time.perf_counter() - start


def stored(state: StockState) -> None:
    """What saving and loading again do to the alerts a batch opened: they get ids."""
    for p in state.pairs.values():
        for rule, alert in p.open_alerts.items():
            if alert.id < 0:
                p.open_alerts[rule] = OpenAlert(next(IDS), rule, alert.hits)
    for key, alert in state.group_alerts.items():
        if alert.id < 0:
            state.group_alerts[key] = OpenAlert(next(IDS), alert.rule, alert.hits)


IDS = itertools.count(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--events", type=int, default=30000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    events = []
    for k in range(args.events):
        parsed = parse_event({"id": f"e{k}", "type": "sale", "sku": f"S{rng.randint(1, args.skus)}",
                              "warehouse": rng.choice(WAREHOUSES), "qty": 1,
                              "at": (T0 + timedelta(seconds=k)).isoformat()})
        assert not isinstance(parsed, list)
        events.append(parsed)
    plain = BASE.replace("ACTIONS", REQ)
    cases = {"per-SKU rule only": plain, "+ a group rule over every SKU": plain + GROUP,
             "+ suggest_transfer on the per-SKU rule": BASE.replace("ACTIONS", TRANSFER)}
    times = {name: run(text, args.skus, events, args.batch, args.seed)
             for name, text in cases.items()}
    base = times["per-SKU rule only"]
    print(f"{args.events} sales over {args.skus} SKUs × {len(WAREHOUSES)} warehouses, "
          f"batches of {args.batch} (pure core, no database)")
    for name, seconds in times.items():
        print(f"  {name:<42} {args.events / seconds:>10,.0f} events/s  ×{seconds / base:.2f}")


if __name__ == "__main__":
    main()
