"""Issue #3's scenario, end to end through the REST API, with numbers derived by hand.

Supplier S1: lead time LT = 4 d, σLT = 1 d, MOQ 20, pack 10, price 5 (the backup S2 is cheaper,
so choosing it would be a bug). Settings: demand window 7 d, review period 7 d, service 95 %
(z = 1.6448536), cooldown 24 h.

Seven days of sales of 10 fill the window: d = 10, σd = 0, so
  safety stock = z·√(LT·σd² + d²·σLT²) = 1.6448536·√(0 + 100·1) = 16.448536
  reorder point = d·LT + ss = 40 + 16.448536 = 56.448536
  max stock     = ROP + d·review = 56.448536 + 70 = 126.448536
A count sets on hand to 100; sales of 10 per day leave 90, 80, 70, 60, 50: 50 < 56.45 is the
first breach (one alert), and
  order_up_to = 126.448536 − 50 = 76.448536 → MOQ 20 → 10-packs → 80, amount 80 × 5 = 400,
  above the 300 threshold → pending_approval for purchasing-manager.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from engine.storage.tables import alerts, escalations, notifications, requisitions, tasks

Z95 = 1.6448536269514722

RULESET = """
ruleset: scenario
settings: {demand_window_days: 7, review_period_days: 7, service_level: 0.95, timezone: UTC}
roles:
  - {id: buyer, name: 采购员, members: [alice], channels: [email]}
  - {id: purchasing-manager, name: 采购经理, members: [carol], channels: [email]}
workflows:
  - id: replenishment
    name: 补货处理
    states: [open, done]
    initial: open
    transitions:
      - id: resolve
        from: [open]
        to: done
        roles: [buyer]
        form:
          - {name: outcome, label: 处理结果, type: select, required: true, options: [replenished, false_alarm]}
          - {name: quantity, label: 数量, type: number, min: 0}
rules:
  - id: below-rop
    name: 低于再订货点
    on: [sale, issue, count]
    when: {"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]}
    severity: high
    owner: buyer
    cooldown: 24h
    auto_resolve: true
    actions:
      - create_task: {title: "补货 {{ sku.code }}: 可用 {{ stock.available }}", workflow: replenishment, due: 4h}
      - create_requisition: {quantity: order_up_to, supplier: preferred, approval: [{above: 300, role: purchasing-manager}]}
      - notify: {to: owner}
      - escalate: {after: 8h, to: purchasing-manager}
"""


def event(eid: str, type_: str, day: date, qty: float, hour: int = 10, **extra: Any) -> dict[str, Any]:
    return {"id": eid, "type": type_, "sku": "SKU-1", "warehouse": "WH-1", "qty": qty,
            "at": f"{day.isoformat()}T{hour:02d}:00:00+00:00", **extra}


def setup(client, admin_headers) -> None:  # type: ignore[no-untyped-def]
    h = admin_headers
    assert client.put("/api/v1/warehouses", json=[{"code": "WH-1", "name": "一号仓"}], headers=h).status_code == 200
    assert client.put("/api/v1/suppliers", headers=h, json=[
        {"code": "S1", "name": "Preferred", "lead_time_days": 4, "lead_time_std_days": 1, "moq": 20, "pack_size": 10},
        {"code": "S2", "name": "Backup", "lead_time_days": 9, "moq": 1, "pack_size": 1}]).status_code == 200
    assert client.put("/api/v1/skus", headers=h, json=[{
        "code": "SKU-1", "name": "矿泉水 Water", "unit_cost": 4, "suppliers": [
            {"supplier": "S1", "preferred": True, "price": 5},
            {"supplier": "S2", "backup": True, "price": 3}]}]).status_code == 200
    r = client.put("/api/v1/ruleset", data=RULESET, content_type="application/yaml", headers=h)
    assert r.status_code == 200, r.json


def history() -> list[dict[str, Any]]:
    start = date(2026, 10, 25)
    evs = [event("c-0", "count", start - timedelta(days=1), 500)]
    evs += [event(f"h-{i}", "sale", start + timedelta(days=i), 10) for i in range(7)]
    evs.append(event("c-1", "count", date(2026, 11, 1), 100, hour=0))
    evs += [event(f"s-{i}", "sale", date(2026, 11, 1) + timedelta(days=i), 10) for i in range(5)]
    return evs


def count(services, table, *where) -> int:  # type: ignore[no-untyped-def]
    with services.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def one(services, table):  # type: ignore[no-untyped-def]
    with services.db.connect() as conn:
        return conn.execute(select(table)).one()


def test_falling_stock_raises_one_alert_task_and_requisition(client, admin_headers, services):
    setup(client, admin_headers)
    r = client.post("/api/v1/events", json=history(), headers=admin_headers)
    assert r.status_code == 200 and r.json["accepted"] == 14, r.json

    assert count(services, alerts) == 1
    alert = one(services, alerts)
    ss = Z95 * math.sqrt(4 * 0 + 10**2 * 1**2)
    rop = 10 * 4 + ss
    assert alert.state == "open" and alert.rule == "below-rop" and alert.hits == 1
    assert alert.facts["stock"]["available"] == 50
    assert math.isclose(alert.facts["metrics"]["safety_stock"], ss, rel_tol=1e-9)
    assert math.isclose(alert.facts["metrics"]["reorder_point"], rop, rel_tol=1e-9)
    assert math.isclose(alert.facts["metrics"]["max_stock"], rop + 70, rel_tol=1e-9)

    task = one(services, tasks)
    assert (task.title, task.role, task.state, task.workflow) == ("补货 SKU-1: 可用 50", "buyer", "open", "replenishment")
    req = one(services, requisitions)
    assert math.ceil((rop + 70 - 50) / 10) * 10 == 80  # the hand derivation, checked
    assert (req.quantity, req.unit_price, req.amount) == (80, 5, 400)
    assert (req.state, req.approval_role) == ("pending_approval", "purchasing-manager")
    assert count(services, notifications) == 1 and count(services, escalations) == 1

    # Repeats and duplicates change nothing: the same batch again is all duplicates.
    again = client.post("/api/v1/events", json=history(), headers=admin_headers).json
    assert again["duplicates"] == 14 and again["accepted"] == 0
    # A further breach counts a hit on the open alert: still one alert, task, requisition.
    client.post("/api/v1/events", json=[event("s-5", "sale", date(2026, 11, 6), 10)], headers=admin_headers)
    assert (count(services, alerts), count(services, tasks), count(services, requisitions)) == (1, 1, 1)
    assert one(services, alerts).hits == 2


def test_recovery_resolves_and_cooldown_holds_then_position_counts_open_requisition(
        client, admin_headers, services):
    setup(client, admin_headers)
    client.post("/api/v1/events", json=history(), headers=admin_headers)
    day6 = date(2026, 11, 6)
    # A receipt (not in the rule's `on`) still resolves the alert: 50 + 80 = 130 ≥ 56.45.
    client.post("/api/v1/events", json=[event("r-1", "receipt", day6, 80, hour=12)], headers=admin_headers)
    alert = one(services, alerts)
    assert alert.state == "resolved" and alert.resolution == "auto"
    with services.db.connect() as conn:
        assert conn.execute(select(escalations.c.cancelled_at)).scalar_one() is not None

    # Within the 24 h cooldown a new breach opens nothing.
    client.post("/api/v1/events", json=[event("s-6", "sale", day6, 85, hour=18)], headers=admin_headers)
    assert count(services, alerts) == 1
    # After it, a breach opens a second alert.
    day7 = date(2026, 11, 7)
    client.post("/api/v1/events", json=[event("s-7", "sale", day7, 1, hour=13)], headers=admin_headers)
    assert count(services, alerts) == 2 and count(services, alerts, alerts.c.state == "open") == 1

    # Its requisition counts the first one (80, still pending) in the inventory position:
    # window Nov 1–7 = [10, 10, 10, 10, 10, 85, 1]: d = 136/7, σd² = 7726/7 − d²
    d = 136 / 7
    var = 7726 / 7 - d * d
    rop = d * 4 + Z95 * math.sqrt(4 * var + d * d * 1)
    available = 130 - 85 - 1
    position = available + 80
    assert position < rop  # not covered by the open requisition
    expected = math.ceil((rop + 7 * d - position) / 10) * 10
    with services.db.connect() as conn:
        quantities = conn.execute(select(requisitions.c.quantity).order_by(requisitions.c.id)).scalars().all()
    assert quantities == [80, expected] and expected == 190


def test_two_rules_firing_together_raise_one_requisition(client, admin_headers, services):
    setup(client, admin_headers)
    doc = RULESET + """
  - id: low-cover
    name: 可售天数不足
    on: [sale]
    when: {"<": [{"var": ["metrics.days_of_cover", 9999]}, 6]}
    owner: buyer
    actions:
      - create_requisition: {quantity: order_up_to, supplier: preferred}
"""
    r = client.put("/api/v1/ruleset", data=doc, content_type="application/yaml", headers=admin_headers)
    assert r.status_code == 200, r.json
    client.post("/api/v1/events", json=history(), headers=admin_headers)
    # Both rules breach on the Nov 5 sale (cover 50/10 = 5 < 6); the first requisition (80)
    # already brings the position to 130 ≥ ROP 56.45, so the second orders nothing.
    assert count(services, alerts) == 2
    assert count(services, requisitions) == 1
    with services.db.connect() as conn:
        facts = conn.execute(select(alerts.c.facts).where(alerts.c.rule == "low-cover")).scalar_one()
    assert facts["stock"]["inventory_position"] == 130
    assert "open requisitions already cover the shortage" in facts["actions"][0]["skipped"]


def token(runner, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    runner.invoke(args=["users", "create", name, "--password", f"{name}-password-1"])
    return {"Authorization": "Bearer " + runner.invoke(args=["tokens", "create", name]).output.split()[-1]}


def on_order(client, headers) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    stock = client.get("/api/v1/skus/SKU-1/stock", headers=headers).json
    level = stock["warehouses"][0]["levels"]
    return level["on_order"], level["inventory_position"]


def test_requisition_is_counted_once_from_approval_to_receipt(client, admin_headers, services, runner, clock):
    setup(client, admin_headers)
    client.post("/api/v1/events", json=history(), headers=admin_headers)  # 50 left, 80 requested
    carol, alice = token(runner, "carol"), token(runner, "alice")
    assert on_order(client, admin_headers) == (80, 130)
    req_id = one(services, requisitions).id
    # Approval is the purchasing manager's: the buyer is refused.
    assert client.post(f"/api/v1/requisitions/{req_id}/transitions", json={"transition": "approve"},
                       headers=alice).status_code == 403
    assert client.post(f"/api/v1/requisitions/{req_id}/transitions", json={"transition": "approve"},
                       headers=carol).status_code == 200
    r = client.post(f"/api/v1/requisitions/{req_id}/transitions",
                    json={"transition": "order", "data": {"ref": "PO-77"}}, headers=alice)
    assert r.status_code == 200, r.json
    assert on_order(client, admin_headers) == (80, 130)  # ordered, not yet in the ERP's figure
    # A snapshot taken before the order cannot include it: still counted here only.
    early = event("erp-0", "count", date(2026, 11, 20), 50, hour=7, on_order=0)
    assert client.post("/api/v1/events", json=[early], headers=admin_headers).json["accepted"] == 1
    assert on_order(client, admin_headers) == (80, 130)
    # An hour later the ERP's snapshot includes PO-77: counted there, not here as well.
    clock.advance(timedelta(hours=1))
    snap = event("erp-1", "count", date(2026, 11, 20), 50, hour=8, on_order=80)
    snap["at"] = "2026-11-20T08:30:00+00:00"
    assert client.post("/api/v1/events", json=[snap], headers=admin_headers).json["accepted"] == 1
    assert on_order(client, admin_headers) == (80, 130)
    # The goods arrive against PO-77: received, and the ERP's open quantity drops.
    receipt = event("rcv-1", "receipt", date(2026, 11, 20), 80, hour=9, ref="PO-77")
    receipt["at"] = "2026-11-20T08:45:00+00:00"
    client.post("/api/v1/events", json=[receipt], headers=admin_headers)
    assert on_order(client, admin_headers) == (0, 130)
    with services.db.connect() as conn:
        assert conn.execute(select(requisitions.c.state)).scalar_one() == "received"
