"""The seeded synthetic workload of ``bench/replay.py``: catalogue, rule document, stock events.

Everything here is a pure function of the sizes and the seed (``random.Random(seed)``), so two runs
with the same flags see the same SKUs, the same 500 rules and the same event stream. Nothing here
touches the database or times anything.

Event stream model (one SKU×warehouse "pair" at a time):
- SKU popularity is Zipf-like over the SKU rank (``SKU-000001`` sells most); a popular SKU is
  stocked in all warehouses, a tail SKU in two; within a SKU the first warehouse sells most.
- Every pair starts with an opening stock (``EventStream.opening``: the ERP's stocktake, loaded
  before the stream as ``count`` events), so stock does not start at 0 and the engine does not
  see a stock-out on every first sale.
- Then: sales (~86 %), issues, returns, reserve/release, adjustments and counts; the generator
  keeps its own stock per pair and sells only what is available.
- Replenishment is an (s, S) policy of the generator's own (expected demand × lead time): when
  the position drops below s a purchase order is placed, and its ``receipt`` (with a PO ``ref``)
  arrives after the supplier's lead time, at the pair's next event after the due time.
- Times increase monotonically over ``days`` days from ``START`` in +08:00.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import yaml

from engine.metrics import abc_classes

TZ = timezone(timedelta(hours=8))
START = datetime(2026, 8, 3, 8, 0, tzinfo=TZ)  # a Monday, safely in the past
DAY = 86400.0

CATEGORIES = [f"cat-{i:02d}" for i in range(50)]
TAGS = [  # (tag, share of SKUs carrying it)
    ("seasonal", 0.10), ("promo", 0.12), ("fragile", 0.08), ("imported", 0.15),
    ("cold-chain", 0.05), ("bulky", 0.07), ("new-arrival", 0.06), ("clearance", 0.04),
    ("organic", 0.05), ("private-label", 0.10), ("hazmat", 0.02), ("gift", 0.05),
    ("bundle", 0.03), ("online-only", 0.04), ("heavy", 0.06), ("premium", 0.08),
    ("budget", 0.09), ("kids", 0.05), ("eco", 0.04), ("limited", 0.02),
]
GROUPED_TAGS = ["seasonal", "promo", "fragile", "imported", "cold-chain", "bulky",
                "new-arrival", "clearance"]
REGIONS = ["east", "north", "south", "west", "central"]
UNITS = ["EA", "EA", "EA", "BOX", "KG", "PACK"]

# Mix of the events after a pair's opening count, when no receipt is due.
MIX = [("sale", 0.85), ("issue", 0.02), ("return", 0.01), ("reserve", 0.04),
       ("release", 0.03), ("adjustment", 0.03), ("count", 0.02)]
SKU_ZIPF = 1.05
WH_DECAY = 0.6  # weight of the j-th warehouse of a SKU: (j + 1) ** -WH_DECAY


# --- catalogue ---------------------------------------------------------------------------------


@dataclass
class Catalogue:
    n_skus: int
    warehouses: list[dict[str, Any]]  # PUT /warehouses rows (= warehouse facts)
    suppliers: list[dict[str, Any]]  # PUT /suppliers rows
    skus: list[dict[str, Any]]  # SKU facts, as master_data.sku_facts gives them
    links: list[list[dict[str, Any]]]  # per SKU index: its ``suppliers`` rows
    sku_weight: list[float]  # popularity (not normalised)
    sku_cum: list[float] = field(default_factory=list)  # cumulative popularity, for bisect

    @property
    def total_weight(self) -> float:
        return self.sku_cum[-1]

    def sku_rows(self, start: int, stop: int) -> list[dict[str, Any]]:
        """PUT /skus rows (facts + supplier links) for SKUs ``start:stop``."""
        return [dict(self.skus[i], suppliers=self.links[i]) for i in range(start, stop)]


def stocked_warehouses(rank: int, n_skus: int, n_wh: int) -> list[int]:
    """Warehouse indexes a SKU is sold from, busiest first: all for the top 10 %, else 4 or 2."""
    count = n_wh if rank < 0.1 * n_skus else 4 if rank < 0.4 * n_skus else 2
    count = min(count, n_wh)
    first = (rank * 3) % n_wh
    return [(first + j) % n_wh for j in range(count)]


def make_catalogue(rng: random.Random, n_skus: int, n_wh: int, n_suppliers: int = 12) -> Catalogue:
    warehouses = [{"code": f"WH-{h + 1:02d}", "name": f"Warehouse {h + 1}",
                   "region": REGIONS[h % len(REGIONS)]} for h in range(n_wh)]
    suppliers = []
    for s in range(n_suppliers):
        suppliers.append({
            "code": f"SUP-{s + 1:02d}", "name": f"Supplier {s + 1}",
            "lead_time_days": float(rng.choice([3, 5, 7, 7, 10, 14, 21])),
            "lead_time_std_days": round(rng.uniform(0.5, 3.0), 1),
            "moq": float(rng.choice([0, 0, 10, 24, 50])),
            "pack_size": float(rng.choice([1, 1, 6, 12])),
            "on_time_rate": round(rng.uniform(0.8, 0.99), 2),
        })
    cat_weights = [1 / (c + 1) ** 0.8 for c in range(len(CATEGORIES))]
    cat_cum = list(itertools.accumulate(cat_weights))
    weights = [1 / (i + 1) ** SKU_ZIPF for i in range(n_skus)]
    raw: list[dict[str, Any]] = []
    links: list[list[dict[str, Any]]] = []
    revenue: dict[str, float] = {}
    for i in range(n_skus):
        code = f"SKU-{i + 1:06d}"
        cat = bisect.bisect(cat_cum, rng.random() * cat_cum[-1])
        tags = [t for t, share in TAGS if rng.random() < share]
        cost = round(math.exp(rng.gauss(3.0, 1.0)), 2)
        sku = {
            "code": code, "name": f"Item {i + 1}", "category": CATEGORIES[cat], "tags": tags,
            "unit": rng.choice(UNITS), "unit_cost": cost,
            "attributes": {"brand": f"B{rng.randrange(300):03d}",
                           "shelf_life_days": rng.choice([0, 30, 90, 365]),
                           "origin": rng.choice(["CN", "CN", "JP", "KR", "US", "DE"])},
        }
        raw.append(sku)
        pref = cat % n_suppliers
        link = [{"supplier": suppliers[pref]["code"], "preferred": True, "backup": False,
                 "price": round(cost * rng.uniform(0.55, 0.8), 2)}]
        if n_suppliers > 1 and rng.random() < 0.35:
            link.append({"supplier": suppliers[(pref + 5) % n_suppliers]["code"],
                         "preferred": False, "backup": True,
                         "price": round(link[0]["price"] * 1.08, 2)})
        links.append(link)
        revenue[code] = weights[i] * cost
    classes = abc_classes(revenue)
    for sku in raw:
        sku["abc_class"] = classes[sku["code"]]
    cat = Catalogue(n_skus, warehouses, suppliers, raw, links, weights)
    cat.sku_cum = list(itertools.accumulate(weights))
    return cat


# --- rule document -----------------------------------------------------------------------------


def V(path: str, default: Any = None) -> dict[str, Any]:
    return {"var": [path, default]} if default is not None else {"var": path}


DEPLETING = ["sale", "issue", "adjustment", "count", "transfer", "reserve"]
FILLING = ["receipt", "return", "adjustment", "count", "transfer", "release"]
CHECKS = ["count", "adjustment"]


def _condition(kind: str, r: random.Random) -> tuple[dict[str, Any], list[str] | None, str]:
    """(when, on, English name) of one rule template, with randomised thresholds."""
    avail, rop = V("stock.available"), V("metrics.reorder_point")
    d = V("metrics.avg_daily_demand")
    if kind == "below-rop":
        f = r.choice([0.2, 0.3, 0.4])
        return {"<": [avail, {"*": [rop, f]}]}, DEPLETING, f"available below {f:g}×ROP"
    if kind == "low-cover":
        n = r.choice([0.5, 1, 1.5])
        return ({"<=": [V("metrics.days_of_cover", 9999), n]}, DEPLETING,
                f"cover ≤ {n:g} days")
    if kind == "position-below-ss":
        x = r.choice([0.5, 1, 2])
        below = {"<": [V("stock.inventory_position"), {"*": [V("metrics.safety_stock"), 0.7]}]}
        return {"and": [below, {">": [d, x]}]}, DEPLETING, "position below safety stock"
    if kind == "out-or-critical":
        cover = V("metrics.days_of_cover", 9999)
        return ({"or": [{"<=": [avail, 0]}, {"<": [cover, V("params.critical_cover_days")]}]},
                DEPLETING, "stock-out or critical cover")
    if kind == "tag-cover":
        tag = r.choice(GROUPED_TAGS)
        k = r.choice([0.5, 1])
        return ({"and": [{"in": [tag, V("sku.tags")]}, {"<": [avail, {"*": [d, k]}]}]},
                DEPLETING, f"{tag}: less than {k:g} day of demand")
    if kind == "lead-time-gap":
        return ({"<": [{"+": [avail, V("stock.on_order")]},
                       {"*": [d, V("metrics.lead_time_days"), 0.5]}]},
                DEPLETING, "position below half the lead-time demand")
    if kind == "below-half-ss":
        return ({"<": [0, avail, {"*": [V("metrics.safety_stock"), 0.3]}]},
                DEPLETING, "available between 0 and 0.3×safety stock")
    if kind == "big-order":
        q = r.choice([15, 20, 30])
        return ({"and": [{"==": [V("event.type"), "sale"]}, {">=": [V("event.qty"), q]}]},
                ["sale"], f"sale of {q}+ units")
    if kind == "over-reserved":
        return ({"and": [{">": [V("stock.on_hand"), 0]},
                         {">": [V("stock.reserved"), {"*": [V("stock.on_hand"), 0.9]}]}]},
                ["reserve", "count"], "over 90 % of on hand reserved")
    if kind == "class-a-low":
        return ({"and": [{"==": [V("sku.abc_class", ""), "A"]},
                         {"<": [avail, {"*": [rop, 0.25]}]}]},
                DEPLETING, "A item below 0.25×ROP")
    if kind == "costly-low":
        c = r.choice([50, 100, 200])
        return ({"and": [{">": [V("sku.unit_cost"), c]},
                         {"<": [avail, {"*": [V("metrics.safety_stock"), 0.4]}]}]},
                None, f"cost > {c}: below 0.4×safety stock")
    if kind == "overstock":
        k = r.choice([3, 4, 5])
        above = {">": [V("stock.on_hand"), {"*": [V("metrics.max_stock"), k]}]}
        return ({"and": [{">": [d, 0.5]}, above]},
                FILLING, f"on hand above {k:g}×max stock")
    if kind == "slow-mover":
        idle = {">=": [V("metrics.days_since_last_sale", 0), V("params.slow_mover_days")]}
        return ({"and": [idle, {">": [V("stock.on_hand"), 20]}]}, ["count"],
                "no sale for slow_mover_days")
    if kind == "long-cover":
        n = r.choice([90, 120, 180])
        return ({"and": [{">": [d, 1]}, {">": [V("metrics.days_of_cover", 0), n]}]}, FILLING,
                f"cover above {n} days")
    if kind == "negative":
        return {"<": [V("stock.on_hand"), 0]}, CHECKS, "negative on hand"
    if kind == "reserved-over-hand":
        return {">": [V("stock.reserved"), V("stock.on_hand")]}, CHECKS, "reserved above on hand"
    raise ValueError(kind)


# (template, weight, actions profile)
TEMPLATES = [
    ("below-rop", 12, "replenish"), ("low-cover", 10, "task"),
    ("position-below-ss", 8, "replenish"),
    ("out-or-critical", 8, "task"), ("tag-cover", 6, "none"), ("lead-time-gap", 6, "task"),
    ("below-half-ss", 6, "none"), ("big-order", 4, "notify"), ("over-reserved", 4, "none"),
    ("class-a-low", 6, "replenish"), ("costly-low", 5, "task"), ("overstock", 8, "review"),
    ("slow-mover", 5, "review"), ("long-cover", 5, "none"), ("negative", 4, "review"),
    ("reserved-over-hand", 3, "none"),
]


def _actions(profile: str, r: random.Random) -> list[dict[str, Any]]:
    if profile == "replenish":
        return [
            {"create_task": {"title": "补货 {{ sku.code }} @ {{ warehouse.code }}: "
                                      "可用 {{ stock.available }}",
                             "workflow": "replenishment", "due": "4h"}},
            {"create_requisition": {"quantity": "order_up_to", "supplier": "preferred",
                                    "approval": [{"above": 10000, "role": "purchasing-manager"}]}},
        ]
    if profile == "task":
        return [{"create_task": {"title": "{{ sku.name }} @ {{ warehouse.code }}: cover "
                                          "{{ metrics.days_of_cover }} days",
                                 "workflow": "replenishment", "due": "8h"}}]
    if profile == "review":
        return [{"create_task": {"title": "复核 {{ sku.code }} @ {{ warehouse.code }}",
                                 "workflow": "stock-review", "due": "24h",
                                 "role": "warehouse-lead"}}]
    if profile == "notify":
        return [{"notify": {"to": "owner", "channels": ["email"]}}]
    return []


def make_groups(n_groups: int, n_wh: int) -> list[dict[str, Any]]:
    """Category groups (a partition of the SKUs), ABC, tags, regions, and one SKU×region mix."""
    groups: list[dict[str, Any]] = []
    special: list[dict[str, Any]] = [
        {"id": "class-a", "name": "A类商品", "where": {"==": [V("sku.abc_class", ""), "A"]},
         "params": {"service_level": 0.98}},
        {"id": "class-b", "name": "B类商品", "where": {"==": [V("sku.abc_class", ""), "B"]}},
        {"id": "class-c", "name": "C类商品", "where": {"==": [V("sku.abc_class", ""), "C"]},
         "params": {"service_level": 0.9}},
    ]
    for tag in GROUPED_TAGS:
        special.append({"id": f"tag-{tag}", "name": f"标签 {tag}",
                        "where": {"in": [tag, V("sku.tags")]}})
    for region in REGIONS[:3]:
        special.append({"id": f"region-{region}", "name": f"区域 {region}",
                        "where": {"==": [V("warehouse.region", ""), region]}})
    special.append({"id": "a-east", "name": "华东A类",
                    "where": {"and": [{"==": [V("sku.abc_class", ""), "A"]},
                                      {"==": [V("warehouse.region", ""), "east"]}]},
                    "params": {"review_period_days": 5}})
    n_cat = max(n_groups - len(special), 1)
    # The first categories get a group each; the rest are shared out over the last groups.
    singles = max(n_cat - 5, 1) if n_cat > 5 else n_cat
    for c in range(singles):
        g = {"id": f"cat-{c:02d}", "name": f"品类 {c:02d}",
             "where": {"==": [V("sku.category", ""), CATEGORIES[c]]}}
        if c % 4 == 0:
            g["params"] = {"review_period_days": 14}
        groups.append(g)
    rest = CATEGORIES[singles:]
    buckets = n_cat - singles
    for b in range(buckets):
        members = rest[b::buckets]
        groups.append({"id": f"cats-{b}", "name": f"品类组 {b}",
                       "where": {"in": [V("sku.category", ""), members]}})
    return (groups + special)[:n_groups]


def make_ruleset(rng: random.Random, n_groups: int, n_rules: int, n_wh: int,
                 notify: bool = True) -> dict[str, Any]:
    groups = make_groups(n_groups, n_wh)
    ids = [g["id"] for g in groups]
    names = [t for t, _, _ in TEMPLATES]
    tweights = list(itertools.accumulate(w for _, w, _ in TEMPLATES))
    profiles = {t: p for t, _, p in TEMPLATES}
    rules = []
    for j in range(n_rules):
        kind = names[bisect.bisect(tweights, rng.random() * tweights[-1])]
        when, on, label = _condition(kind, rng)
        rule: dict[str, Any] = {"id": f"r{j:03d}-{kind}"}
        roll = rng.random()
        if roll < 0.01:
            scope = "all SKUs"  # no group: every SKU
        elif roll < 0.06 and len(ids) > 1:
            two = rng.sample(ids, 2)
            rule["groups"] = two
            scope = "+".join(two)
        else:
            rule["group"] = ids[j % len(ids)]
            scope = rule["group"]
        rule["name"] = f"{scope}: {label}"
        if on is not None and rng.random() < 0.9:
            rule["on"] = on
        rule["when"] = when
        rule["severity"] = rng.choice(["low", "medium", "medium", "high", "critical"])
        rule["owner"] = rng.choice(["buyer", "buyer", "planner", "warehouse-lead"])
        if rng.random() < 0.5:
            rule["cooldown"] = rng.choice(["12h", "24h", "3d"])
        actions = _actions(profiles[kind], rng)
        if not notify:
            actions = [a for a in actions if "notify" not in a]
        if actions and rng.random() < 0.5:  # half of the rules of a kind only alert
            actions = []
        if actions:
            rule["actions"] = actions
        rules.append(rule)
    return {
        "ruleset": "bench-synthetic",
        "description": f"bench/replay.py: {n_groups} groups, {n_rules} rules (generated)",
        "settings": {"demand_window_days": 28, "review_period_days": 7, "service_level": 0.95,
                     "timezone": "Asia/Shanghai", "default_lead_time_days": 10,
                     "critical_cover_days": 1.5, "slow_mover_days": 30},
        "sku_groups": groups,
        "roles": [
            {"id": "buyer", "name": "采购员", "members": ["alice"], "channels": ["email"],
             "escalate_to": "purchasing-manager"},
            {"id": "planner", "name": "计划员", "members": ["erin"], "channels": ["email"]},
            {"id": "warehouse-lead", "name": "仓库主管", "members": ["bob"], "channels": ["email"]},
            {"id": "purchasing-manager", "name": "采购经理", "members": ["carol"],
             "channels": ["email"]},
        ],
        "workflows": [
            {"id": "replenishment", "name": "补货处理",
             "states": ["open", "in_progress", "done", "cancelled"], "initial": "open",
             "transitions": [
                 {"id": "start", "from": ["open"], "to": "in_progress",
                  "roles": ["buyer", "planner"]},
                 {"id": "resolve", "from": ["open", "in_progress"], "to": "done",
                  "roles": ["buyer", "planner"],
                  "form": [{"name": "outcome", "label": "处理结果", "type": "select", "required": True,
                            "options": ["replenished", "transferred", "false_alarm"]}]},
                 {"id": "cancel", "from": ["open", "in_progress"], "to": "cancelled",
                  "roles": ["purchasing-manager"]}]},
            {"id": "stock-review", "name": "库存复核", "states": ["open", "closed"], "initial": "open",
             "transitions": [{"id": "close", "from": ["open"], "to": "closed",
                              "roles": ["warehouse-lead", "purchasing-manager"]}]},
        ],
        "rules": rules,
    }


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:  # the rule loader refuses YAML anchors
        return True


def ruleset_text(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=_NoAliases, allow_unicode=True, sort_keys=False, width=120)


# --- events ------------------------------------------------------------------------------------

# One generated event: (index, type, sku index, warehouse index, qty, unix time, ref, on_order)
# (``on_order``: what a count reports as open purchase orders, else None)
Ev = tuple[int, str, int, int, float, float, "str | None", "float | None"]


class EventStream:
    """The seeded event stream; ``chunks(n)`` yields lists of ``Ev`` tuples in time order."""

    def __init__(self, cat: Catalogue, n_events: int, seed: int, days: float = 60.0) -> None:
        self.cat = cat
        self.n = n_events
        self.rng = random.Random(seed * 7919 + 17)
        self.n_wh = len(cat.warehouses)
        self.step = days * DAY / max(n_events, 1)
        self.t0 = START.timestamp()
        self.events_per_day = n_events / days
        self.lead = {s["code"]: (s["lead_time_days"], s["lead_time_std_days"], s["pack_size"])
                     for s in cat.suppliers}
        wh_tables = {}
        for count in range(1, self.n_wh + 1):
            w = [(j + 1) ** -WH_DECAY for j in range(count)]
            wh_tables[count] = (list(itertools.accumulate(w)), sum(w))
        self.wh_tables = wh_tables
        # pair key -> [on_hand, reserved, pending_qty, due_time, orders, s, S, lead_days, pack,
        #              opening on_hand]
        self.pairs: dict[int, list[Any]] = {}
        self.mix_cum = list(itertools.accumulate(p for _, p in MIX))
        self.mix_types = [t for t, _ in MIX]
        self.counts: dict[str, int] = {}

    def _pair_policy(self, si: int, whs: list[int], j: int) -> list[Any]:
        """The generator's own (s, S) for a new pair, and its opening stock."""
        cat, rng = self.cat, self.rng
        cum, total = self.wh_tables[len(whs)]
        share = (cum[j] - (cum[j - 1] if j else 0.0)) / total
        rate = self.events_per_day * cat.sku_weight[si] / cat.total_weight * share  # events/day
        demand = rate * 0.87 * 2.6  # sales+issues share × mean qty: units/day
        link = cat.links[si][0]
        lead, lead_std, pack = self.lead[link["supplier"]]
        # s covers the lead-time demand plus a safety stock for demand and lead-time variability
        # (daily demand is lumpy, with the odd bulk order: σ² ≈ d·E[q²]/E[q] ≈ 6d), a little
        # above the engine's ROP, like a planner who does not want to hear from it every day.
        safety = 2.3 * math.sqrt(lead * 6.0 * demand + (demand * lead_std) ** 2)
        s = demand * lead * rng.uniform(1.1, 1.4) + safety + 3
        # S − s covers at least the lead time, so one open order at a time is enough
        big_s = s + demand * (lead * rng.uniform(1.0, 1.5) + rng.uniform(3, 7)) + 5
        opening = float(round(big_s * rng.uniform(0.6, 1.0)))
        return [opening, 0.0, 0.0, 0.0, 0, s, big_s, lead, max(pack, 1.0), opening]

    def events(self) -> Iterator[Ev]:
        cat, rng, pairs = self.cat, self.rng, self.pairs
        cum, total = cat.sku_cum, cat.total_weight
        n_skus, n_wh = cat.n_skus, self.n_wh
        mix_cum, mix_types = self.mix_cum, self.mix_types
        counts = self.counts
        rand, bis = rng.random, bisect.bisect
        k = 0
        while k < self.n:
            t = float(int(self.t0 + (k + 0.5 * rand()) * self.step))
            si = bis(cum, rand() * total)
            if si >= n_skus:
                si = n_skus - 1
            whs = stocked_warehouses(si, n_skus, n_wh)
            wcum, wtotal = self.wh_tables[len(whs)]
            j = bis(wcum, rand() * wtotal)
            if j >= len(whs):
                j = len(whs) - 1
            wi = whs[j]
            key = si * n_wh + wi
            p = pairs.get(key)
            ref = on_order = None
            if p is None:  # its opening stock is known before the stream: see ``opening``
                p = pairs[key] = self._pair_policy(si, whs, j)
            if p[2] > 0 and t >= p[3]:
                etype, qty = "receipt", p[2]
                p[0] += qty
                p[2] = 0.0
                ref = f"PO-{key}-{p[4]}"
            else:
                etype = mix_types[bis(mix_cum, rand() * mix_cum[-1])]
                avail = p[0] - p[1]
                if etype in ("sale", "issue"):
                    qty = 1.0 + int(rng.expovariate(1 / 1.6))
                    if rand() < 0.01:
                        qty = float(rng.randint(12, 40))
                    if avail < 1:
                        continue  # nothing to sell here now: another customer, another pair
                    qty = min(qty, float(int(avail)))
                    p[0] -= qty
                elif etype == "return":
                    qty = 1.0
                    p[0] += qty
                elif etype == "reserve":
                    qty = float(rng.randint(1, 5))
                    if avail < qty:
                        continue
                    p[1] += qty
                elif etype == "release":
                    if p[1] < 1:
                        continue
                    qty = float(rng.randint(1, int(p[1])))
                    p[1] -= qty
                elif etype == "adjustment":
                    qty = float(rng.choice([-3, -2, -1, -1, 1, 2]))
                    if p[0] + qty < 0:
                        qty = -qty
                    p[0] += qty
                else:  # count: a stocktake finds a little shrinkage now and then; the ERP
                    if rand() < 0.3 and p[0] >= 2:  # also reports its open purchase orders
                        p[0] -= float(rng.randint(1, 2))
                    qty = p[0]
                    on_order = p[2]
                # (s, S): order when the position falls below s and nothing is on the way
                if p[2] == 0 and p[0] - p[1] < p[5]:
                    need = p[6] - (p[0] - p[1])
                    pack = p[8]
                    p[2] = float(math.ceil(need / pack) * pack)
                    p[3] = t + p[7] * rng.uniform(0.7, 1.4) * DAY
                    p[4] += 1
            counts[etype] = counts.get(etype, 0) + 1
            yield (k, etype, si, wi, qty, t, ref, on_order)
            k += 1

    def opening(self, key: int) -> float:
        """The opening on-hand of pair ``key`` (sku index × warehouses + warehouse index)."""
        return float(self.pairs[key][9])

    def opening_events(self, seed: int) -> Iterator[dict[str, Any]]:
        """Opening ``count`` events (one hour before the stream) for every pair seen so far."""
        at = datetime.fromtimestamp(self.t0 - 3600, TZ).isoformat(timespec="seconds")
        cat, n_wh = self.cat, self.n_wh
        for key in sorted(self.pairs):
            si, wi = divmod(key, n_wh)
            yield {"id": f"BENCH{seed}-OPEN-{key}", "type": "count", "sku": cat.skus[si]["code"],
                   "warehouse": cat.warehouses[wi]["code"], "qty": int(self.pairs[key][9]),
                   "at": at}

    def chunks(self, size: int) -> Iterator[list[Ev]]:
        it = self.events()
        while True:
            chunk = list(itertools.islice(it, size))
            if not chunk:
                return
            yield chunk


def event_json(ev: Ev, cat: Catalogue, seed: int) -> dict[str, Any]:
    """The SPEC §4 JSON of one generated event."""
    k, etype, si, wi, qty, t, ref, on_order = ev
    out: dict[str, Any] = {
        "id": f"BENCH{seed}-{k:08d}", "type": etype, "sku": cat.skus[si]["code"],
        "warehouse": cat.warehouses[wi]["code"], "qty": int(qty) if qty == int(qty) else qty,
        "at": datetime.fromtimestamp(t, TZ).isoformat(timespec="seconds"),
    }
    if ref is not None:
        out["ref"] = ref
    if on_order is not None:
        out["on_order"] = int(on_order) if on_order == int(on_order) else on_order
    return out
