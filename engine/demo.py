"""A realistic, seeded demo catalogue: warehouses, suppliers and 240 SKUs with zh/en names."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

WAREHOUSES = [
    {"code": "WH-SH", "name": "上海仓 Shanghai DC", "region": "east"},
    {"code": "WH-BJ", "name": "北京仓 Beijing DC", "region": "north"},
    {"code": "WH-GZ", "name": "广州仓 Guangzhou DC", "region": "south"},
]

SUPPLIERS = [
    {"code": "SUP-HZ", "name": "杭州优品供应链 Hangzhou Youpin", "lead_time_days": 3,
     "lead_time_std_days": 0.5, "moq": 20, "pack_size": 10, "on_time_rate": 0.97},
    {"code": "SUP-SZ", "name": "深圳华南贸易 Shenzhen Huanan Trading", "lead_time_days": 5,
     "lead_time_std_days": 1.5, "moq": 50, "pack_size": 25, "on_time_rate": 0.9},
    {"code": "SUP-NB", "name": "宁波海联 Ningbo Hailian", "lead_time_days": 10,
     "lead_time_std_days": 3, "moq": 100, "pack_size": 50, "on_time_rate": 0.85},
    {"code": "SUP-CD", "name": "成都西部物产 Chengdu West", "lead_time_days": 7,
     "lead_time_std_days": 2, "moq": 10, "pack_size": 1, "on_time_rate": 0.92},
    {"code": "SUP-QD", "name": "青岛北方食品 Qingdao North Foods", "lead_time_days": 4,
     "lead_time_std_days": 1, "moq": 30, "pack_size": 6, "on_time_rate": 0.95},
]

# (category, zh, en, unit cost range, base daily demand range, tags)
CATEGORIES = [
    ("beverage", "饮料", "Beverage", (2, 8), (5, 40), ["fmcg"]),
    ("snack", "零食", "Snack", (3, 15), (3, 25), ["fmcg"]),
    ("dairy", "乳制品", "Dairy", (4, 20), (4, 30), ["fresh", "fmcg"]),
    ("household", "日用品", "Household", (5, 60), (1, 10), []),
    ("personal-care", "个护", "Personal care", (8, 90), (1, 8), []),
    ("electronics", "数码配件", "Electronics accessory", (20, 300), (0.2, 3), ["high-value"]),
    ("seasonal", "季节商品", "Seasonal goods", (10, 120), (0.5, 6), ["seasonal"]),
    ("stationery", "文具", "Stationery", (1, 25), (0.5, 8), []),
]

ITEMS = {
    "beverage": [("矿泉水", "Mineral water"), ("绿茶", "Green tea"), ("可乐", "Cola"),
                 ("橙汁", "Orange juice"), ("咖啡饮料", "Coffee drink"), ("苏打水", "Soda water")],
    "snack": [("薯片", "Potato chips"), ("饼干", "Biscuits"), ("坚果", "Mixed nuts"),
              ("巧克力", "Chocolate"), ("辣条", "Spicy strips"), ("果冻", "Jelly cups")],
    "dairy": [("纯牛奶", "Whole milk"), ("酸奶", "Yogurt"), ("奶酪", "Cheese"), ("豆奶", "Soy milk")],
    "household": [("洗衣液", "Laundry liquid"), ("纸巾", "Tissues"), ("垃圾袋", "Bin bags"),
                  ("洗洁精", "Dish soap"), ("抹布", "Cleaning cloths")],
    "personal-care": [("洗发水", "Shampoo"), ("牙膏", "Toothpaste"), ("沐浴露", "Body wash"),
                      ("护手霜", "Hand cream")],
    "electronics": [("数据线", "USB-C cable"), ("充电宝", "Power bank"), ("耳机", "Earphones"),
                    ("手机壳", "Phone case")],
    "seasonal": [("月饼礼盒", "Mooncake gift box"), ("春联", "Spring couplets"), ("电暖器", "Heater"),
                 ("防晒霜", "Sunscreen"), ("雨伞", "Umbrella")],
    "stationery": [("中性笔", "Gel pen"), ("笔记本", "Notebook"), ("便利贴", "Sticky notes")],
}

VARIANTS = [("", ""), ("大包装 ", "Large "), ("小包装 ", "Small "), ("家庭装 ", "Family "),
            ("促销装 ", "Promo "), ("礼盒装 ", "Gift ")]


def build_catalog(n_skus: int = 240, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """Warehouses, suppliers and ``n_skus`` SKUs with supplier links; also a ``demand`` hint."""
    rng = random.Random(seed)
    skus: list[dict[str, Any]] = []
    i = 0
    while len(skus) < n_skus:
        cat, cat_zh, cat_en, cost, demand, tags = CATEGORIES[i % len(CATEGORIES)]
        names = ITEMS[cat]
        zh, en = names[(i // len(CATEGORIES)) % len(names)]
        vzh, ven = VARIANTS[(i // (len(CATEGORIES) * len(names))) % len(VARIANTS)]
        code = f"SKU-{i + 1:04d}"
        preferred, backup = rng.sample(SUPPLIERS, 2)
        unit_cost = round(rng.uniform(*cost), 2)
        skus.append({
            "code": code,
            "name": f"{vzh}{zh} {ven}{en}",
            "category": cat,
            "tags": list(tags) + (["promo"] if vzh.startswith("促销") else []),
            "unit": "EA",
            "unit_cost": unit_cost,
            "attributes": {"brand": rng.choice(["Acme", "华美", "Sunrise", "优选", "Nova"]),
                           "base_demand": round(rng.uniform(*demand), 2)},
            "suppliers": [
                {"supplier": preferred["code"], "preferred": True,
                 "price": round(unit_cost * rng.uniform(0.9, 1.05), 2)},
                {"supplier": backup["code"], "backup": True,
                 "price": round(unit_cost * rng.uniform(0.95, 1.2), 2)},
            ],
        })
        i += 1
    return {"warehouses": WAREHOUSES, "suppliers": SUPPLIERS, "skus": skus}


WEEKLY = (0.85, 0.9, 0.95, 1.0, 1.15, 1.35, 1.3)  # Monday … Sunday
WAREHOUSE_FACTOR = {"WH-SH": 1.25, "WH-BJ": 1.0, "WH-GZ": 0.8}


def build_history(skus: list[dict[str, Any]], end: date, days: int = 90, seed: int = 11,
                  tz: str = "+08:00") -> list[dict[str, Any]]:
    """Seeded stock events for ``days`` days before ``end``: sales with weekly seasonality and
    replenishment receipts; about one pair in eight stops being replenished three weeks before
    the end, so the demo finishes with real shortages to look at. Ids are stable, so loading the
    demo twice adds nothing.
    """
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    start = end - timedelta(days=days)
    for sku in skus:
        base = float(sku["attributes"]["base_demand"])
        for wh, factor in WAREHOUSE_FACTOR.items():
            events.extend(_pair_history(rng, sku["code"], wh, base * factor, start, days, tz))
    events.sort(key=lambda e: e["at"])
    return events


def _pair_history(rng: random.Random, sku: str, wh: str, base: float, start: date, days: int,
                  tz: str) -> list[dict[str, Any]]:
    def ev(kind: str, day: date, hour: int, qty: float, **extra: Any) -> dict[str, Any]:
        return {"id": f"demo-{sku}-{wh}-{day.isoformat()}-{kind}-{hour}", "type": kind, "sku": sku,
                "warehouse": wh, "qty": qty, "at": f"{day.isoformat()}T{hour:02d}:00:00{tz}", **extra}

    on_hand: float = round(base * rng.uniform(20, 35)) + 5
    out = [ev("count", start, 7, on_hand)]
    stops = days - 21 if rng.random() < 0.125 else days + 1
    arriving: dict[int, float] = {}
    for i in range(1, days + 1):
        day = start + timedelta(days=i)
        if i in arriving:
            qty = arriving.pop(i)
            on_hand += qty
            out.append(ev("receipt", day, 9, qty, ref=f"PO-{sku}-{wh}-{i}"))
        mean = base * WEEKLY[day.weekday()]
        sold = max(0, round(rng.gauss(mean, max(0.5, mean ** 0.5))))
        sold = min(sold, max(0, int(on_hand)))
        if sold:
            on_hand -= sold
            out.append(ev("sale", day, 19, sold, ref=f"POS-{day.isoformat()}"))
        if i < stops and not arriving and on_hand < base * 10:
            arriving[i + rng.randint(3, 6)] = round(base * rng.uniform(18, 26)) + 10
    return out


def demo_end(now: datetime) -> date:
    """The last day of demo history: yesterday in China, so no event is in the future."""
    return (now.astimezone(timezone(timedelta(hours=8))) - timedelta(days=1)).date()


def transfer_scenario(sku: str, source: str, found: float, sold: float,
                      at: str) -> list[dict[str, Any]]:
    """Two events that end the demo with a transfer and a smaller requisition to look at
    (issue #19): a stocktake at ``source`` finds ``found`` of ``sku`` (a misplaced pallet: just
    over 45 days of its demand there), then a large sale at WH-SH takes it well below its
    reorder point. The rule's ``suggest_transfer`` proposes what ``source`` can give and stay
    above its own reorder point, less than WH-SH needs, so its requisition buys only the rest.
    Stable ids: loading twice adds nothing."""
    return [
        {"id": f"demo-transfer-count-{sku}", "type": "count", "sku": sku, "warehouse": source,
         "qty": found, "at": at, "ref": "STOCKTAKE-DEMO"},
        {"id": f"demo-transfer-sale-{sku}", "type": "sale", "sku": sku, "warehouse": "WH-SH",
         "qty": sold, "at": at, "ref": "POS-DEMO"},
    ]
