"""Issue #19's "Done when", one story through the REST API, each number derived by hand.

Suppliers: SA (preferred) lead time 4 d, σLT 1 d; SB (backup) lead time 2 d; SF (the fast
movers') 5 d, σLT 0; MOQ 1, pack 1. Settings: demand window 7 d, review 7 d, service 95 %
(z = 1.6448536), 3 receipts to learn. Warehouses: WH-1 (east), WH-BJ (north).

1. Water SKU-1…4 at WH-1 (group ``water``): seven days of sales of 10 (d = 10, σd = 0):
     safety stock  = z·√(LT·σd² + d²·σLT²) = 1.6448536·√(10²·1²) = 16.448536
     reorder point = 10·4 + 16.448536 = 56.448536; max stock = 56.448536 + 10·7 = 126.448536.
   On Nov 5 at 10:00 a sale leaves 50 < 56.45: ``below-rop`` orders 126.448536 − 50 = 76.45 →
   77 from SA for each SKU, ordered at 11:00 as PO-1…PO-4: promised for Nov 9 11:00.
2. The delay: at 12:00 SA announces PO-1 for Nov 19 11:00, 10 days after the promise. The
   projected stock-out at WH-1 is Nov 5 12:00 + 50 / 10 d = Nov 10 12:00; SB would land Nov 7
   12:00. ``supplier-late`` fires (50 < 56.45). PO-1 lands after both: it covers nothing, the
   position the actions work from is 50 + 77 − 77 = 50.
3. Transfer first: WH-BJ holds 31 of SKU-1 and sells none (d = 0: reorder point 0, max stock
   0), a surplus; it may give 31 − 1 = 30 (leaving 1 > 0). The need is 126.448536 − 50 =
   76.45 → 77, so 30 is proposed from WH-BJ.
4. The requisition: SA is late 10 d > 3 → SB, and orders up to max stock counting the
   transfer: 126.448536 − (50 + 30) = 46.448536 → 47 (not 77), from SB, the reasons in it.
5. Learning: PO-2…PO-4 arrive after 4, 5 and 7 days:
     mean = 16/3 = 5.3333, σ (sample) = √(((4−5.3333)² + (5−5.3333)² + (7−5.3333)²)/2)
          = √(4.6667/2) = 1.5275;
   on time (promised 4 d + 1 d): 4 and 5 yes, 7 no; PO-1 open and delayed counts late:
   on-time rate 2 / (3 + 1) = 0.5.
6. Group rule (fast movers F1–F7 at WH-1 from SF, service level 0.5: z = 0, reorder point =
   d·5): each sold 10 a day Nov 13–19. F1–F5 hold 30, F6 and F7 55. On Nov 20 the window is
   Nov 14–20: a member with no sale yet has d = 60/7 (reorder point 42.86), one that sold 10
   has d = 70/7 = 10 (reorder point 50). While the history filled at most F1–F5 were below:
   5, not > 5. F6's sale leaves 45 < 50: the sixth below → one alert; F7's sale (45 < 50, the
   seventh) is a hit on it, no second alert.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from engine.services.runner import sweep_once
from engine.storage.tables import alerts, notifications, requisitions, tasks, transfers
from tests.engine.services.test_replenishment_scenario import token

RULESET = """
ruleset: supply-side
settings: {demand_window_days: 7, review_period_days: 7, service_level: 0.95, timezone: UTC,
           lead_time_min_observations: 3}
sku_groups:
  - {id: water, where: {"==": [{"var": "sku.abc_class"}, "B"]}}
  - id: fast
    where: {"==": [{"var": "sku.abc_class"}, "A"]}
    params: {service_level: 0.5}
roles:
  - {id: buyer, name: 采购员, members: [alice], channels: [email]}
  - {id: store-bj, name: 北京仓管, members: [bob]}
workflows:
  - id: review
    states: [open, done]
    transitions: [{id: done, from: [open], to: done, roles: [buyer]}]
rules:
  - id: below-rop
    group: water
    on: [sale]
    when: {"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]}
    owner: buyer
    actions:
      - create_requisition: {quantity: order_up_to, supplier: preferred, fallback: backup}
  - id: supplier-late
    group: water
    on: [supplier_delay]
    when: {"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]}
    owner: buyer
    actions:
      - suggest_transfer: {regions: [north], ship: store-bj}
      - create_requisition: {quantity: order_up_to, supplier: preferred, fallback: backup,
                             fallback_after_late_days: 3}
      - notify: {to: supplier, channels: [email]}
  - id: many-fast-low
    name: 畅销品多个低于再订货点
    group: fast
    per: group_warehouse
    on: [sale]
    when: {">": [{"var": "group.below_reorder_point"}, 5]}
    owner: buyer
    actions:
      - create_task: {title: "{{ group.below_reorder_point }} fast movers low", workflow: review}
"""
WATER = ("SKU-1", "SKU-2", "SKU-3", "SKU-4")
FAST = tuple(f"F{i}" for i in range(1, 8))
T = datetime(2026, 11, 5, 11, 0, tzinfo=UTC)  # when the requisitions are ordered


def at(d: date, hour: int = 10) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def ev(eid: str, type_: str, sku: str, when: datetime, qty: float, wh: str = "WH-1",
       **extra: Any) -> dict[str, Any]:
    return {"id": eid, "type": type_, "sku": sku, "warehouse": wh, "qty": qty,
            "at": when.isoformat(), **extra}


def water_history(sku: str) -> list[dict[str, Any]]:
    start = date(2026, 10, 25)
    evs = [ev(f"{sku}-c0", "count", sku, at(start - timedelta(days=1)), 500)]
    evs += [ev(f"{sku}-h{i}", "sale", sku, at(start + timedelta(days=i)), 10) for i in range(7)]
    evs.append(ev(f"{sku}-c1", "count", sku, at(date(2026, 11, 1), 0), 100))
    evs += [ev(f"{sku}-s{i}", "sale", sku, at(date(2026, 11, 1) + timedelta(days=i)), 10)
            for i in range(5)]  # Nov 1…5: 100 − 50 = 50 left
    return evs


def fast_history() -> list[dict[str, Any]]:
    start = date(2026, 11, 13)
    out = []
    for i, sku in enumerate(FAST, 1):
        out.append(ev(f"c-{sku}", "count", sku, at(start, 0), (30 if i <= 5 else 55) + 70))
        out += [ev(f"{sku}-{d}", "sale", sku, at(start + timedelta(days=d), 1), 10)
                for d in range(7)]
    return out


def setup(client: Any, h: dict[str, str]) -> None:
    assert client.put("/api/v1/warehouses", headers=h, json=[
        {"code": "WH-1", "name": "一号仓", "region": "east"},
        {"code": "WH-BJ", "name": "北京仓", "region": "north"}]).status_code == 200
    assert client.put("/api/v1/suppliers", headers=h, json=[
        {"code": "SA", "name": "Preferred", "lead_time_days": 4, "lead_time_std_days": 1,
         "moq": 1, "pack_size": 1, "contact": {"email": "sa@example.com"}},
        {"code": "SB", "name": "Backup", "lead_time_days": 2, "moq": 1, "pack_size": 1,
         "contact": {"email": "sb@example.com"}},
        {"code": "SF", "name": "Fast", "lead_time_days": 5, "lead_time_std_days": 0, "moq": 1,
         "pack_size": 1}]).status_code == 200
    items = [{"code": sku, "name": f"Water {sku}", "abc_class": "B", "unit_cost": 4,
              "suppliers": [{"supplier": "SA", "preferred": True, "price": 5},
                            {"supplier": "SB", "backup": True, "price": 6}]} for sku in WATER]
    items += [{"code": sku, "name": f"fast {sku}", "abc_class": "A", "unit_cost": 2,
               "suppliers": [{"supplier": "SF", "preferred": True, "price": 2}]} for sku in FAST]
    assert client.put("/api/v1/skus", headers=h, json=items).status_code == 200
    r = client.put("/api/v1/ruleset", data=RULESET, content_type="application/yaml", headers=h)
    assert r.status_code == 200, r.json


def count(services: Any, table: Any, *where: Any) -> int:
    with services.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def snapshot_link(services: Any, sku: str, code: str) -> Any:
    with services.db.connect() as conn:
        snap = services.cache.current(conn)
    return next(link for link in snap.links[snap.sku_ids[sku]] if link.code == code)


def test_delay_failover_transfer_learning_and_a_group_rule_in_sequence(
        client, admin_headers, services, runner, clock) -> None:
    h = admin_headers
    setup(client, h)
    batch = [e for sku in WATER for e in water_history(sku)]
    batch.append(ev("c-bj", "count", "SKU-1", at(date(2026, 10, 24)), 31, wh="WH-BJ"))
    r = client.post("/api/v1/events", json=batch, headers=h).json
    assert r["accepted"] == 4 * 14 + 1, r
    # 1. each water SKU: 126.448536 − 50 = 76.45 → 77 from SA
    with services.db.connect() as conn:
        snap = services.cache.current(conn)
        rows = conn.execute(select(requisitions).order_by(requisitions.c.id)).all()
    assert [(row.quantity, row.supplier_id) for row in rows] == [(77, snap.supplier_ids["SA"])] * 4
    alice = token(runner, "alice")
    clock.at = T
    code_of = {snap.sku_ids[s]: s for s in WATER}
    for row in rows:
        ref = f"PO-{code_of[row.sku_id][-1]}"
        r = client.post(f"/api/v1/requisitions/{row.id}/transitions", headers=alice,
                        json={"transition": "order", "data": {"ref": ref}})
        assert r.status_code == 200, r.json

    # 2. SA delays PO-1 by 10 days (Nov 9 11:00 → Nov 19 11:00)
    clock.at = datetime(2026, 11, 5, 12, 30, tzinfo=UTC)
    eta = datetime(2026, 11, 19, 11, 0, tzinfo=UTC)
    delay = {"id": "d-1", "type": "supplier_delay", "supplier": "SA", "ref": "PO-1",
             "eta": eta.isoformat(), "at": "2026-11-05T12:00:00+00:00"}
    r = client.post("/api/v1/events", json=[delay], headers=h).json
    assert r["accepted"] == 1, r
    with services.db.connect() as conn:
        r1_eta = conn.execute(select(requisitions.c.eta).where(
            requisitions.c.id == rows[0].id)).scalar_one()
    assert r1_eta == eta  # the delayed order's new ETA

    # 3. the transfer first: 30 from WH-BJ (31 − 1), the need 126.448536 − 50 → 77
    listed = client.get("/api/v1/transfers", headers=h).json
    assert listed["total"] == 1, listed
    [t] = listed["items"]
    assert (t["from_warehouse"], t["to_warehouse"], t["quantity"], t["state"]) == (
        "WH-BJ", "WH-1", 30, "requested")
    assert math.isclose(t["explanation"]["need"], 76.449, abs_tol=1e-3)
    assert t["explanation"]["source_left"] == 1

    # 4. the requisition that follows: SB, 126.448536 − (50 + 30) = 46.45 → 47, with the reasons
    with services.db.connect() as conn:
        follow = conn.execute(select(requisitions).order_by(requisitions.c.id.desc())
                              .limit(1)).one()
    assert follow.id not in {row.id for row in rows}
    assert (follow.quantity, follow.sku_id, follow.supplier_id) == (
        47, snap.sku_ids["SKU-1"], snap.supplier_ids["SB"])
    assert "fallback SB for SA: late 10 days (threshold 3)" in follow.reason
    assert "less 30 coming by open transfers" in follow.reason
    assert "not counted: 77 on order landing after the stock-out on 2026-11-10" in follow.reason
    with services.db.connect() as conn:
        sent = [n.recipients for n in conn.execute(select(notifications))]
    assert sent == [["sb@example.com"]]  # the notice goes to the requisition's supplier

    # 5. three receipts of SA's other orders, after 4, 5 and 7 days
    clock.at = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    receipts = [ev(f"rcv-{sku}", "receipt", sku, T + timedelta(days=days), 77, ref=f"PO-{sku[-1]}")
                for sku, days in (("SKU-2", 4), ("SKU-3", 5), ("SKU-4", 7))]
    assert client.post("/api/v1/events", json=receipts, headers=h).json["accepted"] == 3
    assert sweep_once(services) == 0  # the periodic pass publishes what was learned
    sa = snapshot_link(services, "SKU-2", "SA")
    mean = 16 / 3
    sigma = math.sqrt(((4 - mean) ** 2 + (5 - mean) ** 2 + (7 - mean) ** 2) / 2)
    assert math.isclose(sigma, 1.5275, abs_tol=1e-4)
    assert (sa.lead_time_days, sa.lead_time_std_days) == (round(mean, 3), round(sigma, 3))
    assert (sa.lead_time_source, sa.observations, sa.on_time_rate) == ("learned", 3, 0.5)

    # 6. the group rule: five below while the history fills, the sixth opens one alert
    group_alerts = alerts.c.rule == "many-fast-low"
    r = client.post("/api/v1/events", json=fast_history(), headers=h).json
    assert r["accepted"] == 7 * 8, r
    assert count(services, alerts, group_alerts) == 0
    today = date(2026, 11, 20)
    client.post("/api/v1/events", headers=h, json=[ev("f6-today", "sale", "F6", at(today, 7), 10)])
    assert count(services, alerts, group_alerts) == 1
    client.post("/api/v1/events", headers=h, json=[ev("f7-today", "sale", "F7", at(today, 7), 10)])
    assert count(services, alerts, group_alerts) == 1
    with services.db.connect() as conn:
        alert = conn.execute(select(alerts).where(group_alerts)).one()
        [task] = conn.execute(select(tasks).where(tasks.c.alert_id == alert.id)).all()
    assert (alert.scope_key, alert.hits, alert.state) == ("fast", 2, "open")
    assert alert.facts["group"]["below_reorder_point"] == 6  # as it opened
    assert task.title == "6 fast movers low"
    assert count(services, transfers) == 1
