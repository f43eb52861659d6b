"""Issue #19's scenario through the REST API, with numbers derived by hand.

Suppliers: SA (preferred) lead time 4 d, σLT 1 d; SB (backup) lead time 2 d; MOQ 1, pack 1.
Settings: demand window 7 d, review 7 d, service 95 % (z = 1.6448536), 3 receipts to learn.

As in test_replenishment_scenario: seven days of sales of 10 fill the window (d = 10, σd = 0):
  safety stock  = z·√(LT·σd² + d²·σLT²) = 1.6448536·√(100) = 16.448536
  reorder point = 10·4 + 16.448536 = 56.448536; max stock = 56.448536 + 70 = 126.448536.
On Nov 5 at 10:00 a sale leaves 50 < 56.45: ``below-rop`` orders 126.448536 − 50 → 77 from SA
(R1), ordered at 11:00 as PO-1: promised for Nov 9 11:00.

The delay: at 12:00 SA announces PO-1 for Nov 19 11:00, 10 days after the promise. The
projected stock-out is Nov 5 12:00 + 50/10 d = Nov 10 12:00. ``supplier-late`` fires (50 <
56.45) and orders: SA is late 10 d > 3 → SB. R1 lands after the stock-out and after SB's
order would (Nov 7 12:00): it covers nothing, so the position is 50 + 77 − 77 = 50 < ROP, and
the order is 126.448536 − 50 → 77 from SB, the reasons in the requisition.

Learning: three more SKUs ordered from SA at Nov 5 11:00 arrive after 4, 5 and 7 days:
  mean = 16/3 = 5.3333, σ (sample) = √(((4−5.3333)² + (5−5.3333)² + (7−5.3333)²)/2)
       = √(4.6667/2) = 1.5275;
on time (by the promised 4 d + 1 d): 4 and 5 yes, 7 no; with PO-1 still open and delayed,
the on-time rate is 2 / (3 + 1) = 0.5. The snapshots learn them at the next periodic pass.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine.services.runner import sweep_once
from engine.storage.supply_store import publish_learning
from engine.storage.tables import (
    alerts,
    lead_time_observations,
    notifications,
    purchase_orders,
    requisition_history,
    requisitions,
    supplier_delays,
)
from tests.engine.services.test_replenishment_scenario import token

RULESET = """
ruleset: supply
settings: {demand_window_days: 7, review_period_days: 7, service_level: 0.95, timezone: UTC,
           lead_time_min_observations: 3}
roles:
  - {id: buyer, name: 采购员, members: [alice], channels: [email]}
rules:
  - id: below-rop
    name: 低于再订货点
    on: [sale]
    when: {"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]}
    severity: high
    owner: buyer
    actions:
      - create_requisition: {quantity: order_up_to, supplier: preferred, fallback: backup}
  - id: supplier-late
    name: 供应商延迟交货
    on: [supplier_delay]
    when: {"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]}
    severity: high
    owner: buyer
    actions:
      - create_requisition: {quantity: order_up_to, supplier: preferred, fallback: backup,
                             fallback_after_late_days: 3}
      - notify: {to: supplier, channels: [email]}
"""
SKUS = ("SKU-1", "SKU-2", "SKU-3", "SKU-4")
T = datetime(2026, 11, 5, 11, 0, tzinfo=UTC)  # when the requisitions are ordered


def ev(eid: str, type_: str, sku: str, at: datetime, qty: float | None = None,
       **extra: Any) -> dict[str, Any]:
    out = {"id": eid, "type": type_, "sku": sku, "warehouse": "WH-1", "at": at.isoformat(), **extra}
    if qty is not None:
        out["qty"] = qty
    return out


def history(sku: str) -> list[dict[str, Any]]:
    def at(d: date, hour: int = 10) -> datetime:
        return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)
    start = date(2026, 10, 25)
    evs = [ev(f"{sku}-c0", "count", sku, at(start - timedelta(days=1)), 500)]
    evs += [ev(f"{sku}-h{i}", "sale", sku, at(start + timedelta(days=i)), 10) for i in range(7)]
    evs.append(ev(f"{sku}-c1", "count", sku, at(date(2026, 11, 1), 0), 100))
    evs += [ev(f"{sku}-s{i}", "sale", sku, at(date(2026, 11, 1) + timedelta(days=i)), 10)
            for i in range(5)]
    return evs


def setup(client: Any, h: dict[str, str]) -> None:
    assert client.put("/api/v1/warehouses", json=[{"code": "WH-1", "name": "一号仓"}],
                      headers=h).status_code == 200
    assert client.put("/api/v1/suppliers", headers=h, json=[
        {"code": "SA", "name": "Preferred", "lead_time_days": 4, "lead_time_std_days": 1,
         "moq": 1, "pack_size": 1, "contact": {"email": "sa@example.com"}},
        {"code": "SB", "name": "Backup", "lead_time_days": 2, "moq": 1, "pack_size": 1,
         "contact": {"email": "sb@example.com"}}]).status_code == 200
    assert client.put("/api/v1/skus", headers=h, json=[{
        "code": sku, "name": f"Water {sku}", "unit_cost": 4, "suppliers": [
            {"supplier": "SA", "preferred": True, "price": 5},
            {"supplier": "SB", "backup": True, "price": 6}]} for sku in SKUS]).status_code == 200
    r = client.put("/api/v1/ruleset", data=RULESET, content_type="application/yaml", headers=h)
    assert r.status_code == 200, r.json


def req_rows(services: Any) -> list[Any]:
    with services.db.connect() as conn:
        return list(conn.execute(select(requisitions).order_by(requisitions.c.id)))


def order_all(client: Any, services: Any, alice: dict[str, str], clock: Any) -> dict[str, int]:
    """Order each SKU's requisition at T as PO-<n>; their ids by SKU."""
    clock.at = T
    ids = {}
    sku_by_id = {1: "SKU-1", 2: "SKU-2", 3: "SKU-3", 4: "SKU-4"}
    for row in req_rows(services):
        sku = sku_by_id[row.sku_id]
        r = client.post(f"/api/v1/requisitions/{row.id}/transitions",
                        json={"transition": "order", "data": {"ref": f"PO-{sku[-1]}"}}, headers=alice)
        assert r.status_code == 200, r.json
        ids[sku] = row.id
    return ids


def snapshot_link(services: Any, sku: str, code: str) -> Any:
    with services.db.connect() as conn:
        snap = services.cache.current(conn)
    return next(link for link in snap.links[snap.sku_ids[sku]] if link.code == code)


def test_a_delay_sends_the_next_requisition_to_the_backup_and_receipts_teach_lead_times(
        client, admin_headers, services, runner, clock) -> None:
    h = admin_headers
    setup(client, h)
    batch = [e for sku in SKUS for e in history(sku)]
    assert client.post("/api/v1/events", json=batch, headers=h).json["accepted"] == 4 * 14
    rows = req_rows(services)
    assert [(r.quantity, r.state) for r in rows] == [(77, "approved")] * 4
    alice = token(runner, "alice")
    ids = order_all(client, services, alice, clock)

    # SA delays PO-1 by 10 days: the ETA moves, the history says so, the order's page shows it
    clock.at = datetime(2026, 11, 5, 12, 30, tzinfo=UTC)
    eta = datetime(2026, 11, 19, 11, 0, tzinfo=UTC)
    delay = {"id": "d-1", "type": "supplier_delay", "supplier": "SA", "ref": "PO-1",
             "eta": eta.isoformat(), "at": "2026-11-05T12:00:00+00:00"}
    r = client.post("/api/v1/events", json=[delay], headers=h)
    assert r.json["accepted"] == 1, r.json
    with services.db.connect() as conn:
        r1 = conn.execute(select(requisitions).where(requisitions.c.id == ids["SKU-1"])).one()
        assert r1.eta == eta
        entry = conn.execute(select(requisition_history.c.data).where(
            requisition_history.c.requisition_id == r1.id,
            requisition_history.c.transition == "delay")).scalar_one()
        assert entry["delay_days"] == 10 and entry["eta"][1] == eta.isoformat()
        stored = conn.execute(select(supplier_delays)).one()
        assert (stored.ref, stored.delay_days, stored.lines) == ("PO-1", 10, 1)

    # the requisition that follows goes to SB, 77 (R1 covers nothing: it lands too late)
    rows = req_rows(services)
    assert len(rows) == 5
    follow = rows[-1]
    assert (follow.quantity, follow.sku_id) == (77, 1)
    assert math.isclose(126.448536 - 50, 76.448536, rel_tol=1e-9)  # the hand derivation
    with services.db.connect() as conn:
        sb = conn.execute(select(requisitions.c.supplier_id).where(
            requisitions.c.id == follow.id)).scalar_one()
        assert sb == services.cache.current(conn).supplier_ids["SB"]
    assert "fallback SB for SA: late 10 days (threshold 3)" in follow.reason
    assert "not counted: 77 on order landing after the stock-out on 2026-11-10" in follow.reason
    # the supplier notice goes to SB, the requisition's supplier, not the SKU's preferred SA
    with services.db.connect() as conn:
        sent = [n.recipients for n in conn.execute(select(notifications))]
    assert sent == [["sb@example.com"]]
    # the alert saw the delayed order: order.* facts of the pair's open requisition
    with services.db.connect() as conn:
        facts = conn.execute(select(alerts.c.facts).where(alerts.c.rule == "supplier-late")
                             ).scalar_one()
    assert facts["order"] == {"eta": eta.isoformat(), "supplier": "SA", "delay_days": 10}
    assert facts["event"]["sku"] == "SKU-1" and facts["event"]["id"] == "d-1:SKU-1@WH-1"
    # the snapshot's SA: open delay 10 d, on-time rate 0 / 1 (the open delay counts as late)
    sa = snapshot_link(services, "SKU-1", "SA")
    assert (sa.open_delay_days, sa.on_time_rate, sa.lead_time_source) == (10, 0.0, "master")

    # three receipts of SA's other orders: after 4, 5 and 7 days
    clock.at = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    receipts = [ev(f"rcv-{sku}", "receipt", sku, T + timedelta(days=days), 77, ref=f"PO-{sku[-1]}")
                for sku, days in (("SKU-2", 4), ("SKU-3", 5), ("SKU-4", 7))]
    assert client.post("/api/v1/events", json=receipts, headers=h).json["accepted"] == 3
    with services.db.connect() as conn:
        observed = sorted(o.lead_time_days for o in conn.execute(select(lead_time_observations)))
    assert observed == [4, 5, 7]
    # the snapshots learn them at the next periodic pass (runner.sweep_once), once
    assert snapshot_link(services, "SKU-2", "SA").lead_time_source == "master"
    assert sweep_once(services) == 0  # no escalation: its other work ran, this among it
    with services.db.begin() as conn:
        assert publish_learning(conn) is False  # nothing new since
    sa = snapshot_link(services, "SKU-2", "SA")
    mean = 16 / 3
    sigma = math.sqrt(((4 - mean) ** 2 + (5 - mean) ** 2 + (7 - mean) ** 2) / 2)
    assert (sa.lead_time_days, sa.lead_time_std_days) == (round(mean, 3), round(sigma, 3))
    assert (sa.lead_time_source, sa.observations, sa.on_time_rate) == ("learned", 3, 0.5)
    # ... and the metrics use it: a sale on SKU-2 shows the learned lead time and its source
    sale = ev("s-late", "sale", "SKU-2", datetime(2026, 11, 20, 7, 0, tzinfo=UTC), 1)
    assert client.post("/api/v1/events", json=[sale], headers=h).json["accepted"] == 1
    with services.db.connect() as conn:
        po = conn.execute(select(purchase_orders)).all()
    assert po == []  # no purchase order was merged in this story: only requisitions
    stock = client.get("/api/v1/skus/SKU-2/stock", headers=h).json
    assert stock["warehouses"][0]["levels"]["on_hand"] == 50 + 77 - 1


def test_bad_delays_are_refused_with_their_field_and_nothing_is_applied(
        client, admin_headers, services, runner, clock) -> None:
    h = admin_headers
    setup(client, h)
    client.post("/api/v1/events", json=history("SKU-1"), headers=h)
    order_all(client, services, token(runner, "alice"), clock)
    clock.at = datetime(2026, 11, 5, 12, 30, tzinfo=UTC)
    base = {"type": "supplier_delay", "supplier": "SA", "at": "2026-11-05T12:00:00+00:00"}
    bad = [
        {**base, "id": "d-unknown", "ref": "PO-404", "eta": "2026-11-19T11:00:00+00:00"},
        {**base, "id": "d-past", "ref": "PO-1", "eta": "2026-11-01T11:00:00+00:00"},
        {**base, "id": "d-no-eta", "ref": "PO-1"},
        {**base, "id": "d-line", "ref": "PO-1", "sku": "SKU-1", "eta": "2026-11-19T11:00:00+00:00"},
        {**base, "id": "d-other", "supplier": "SB", "ref": "PO-1", "eta": "2026-11-19T11:00:00+00:00"},
    ]
    r = client.post("/api/v1/events", json=bad, headers=h).json
    assert r["accepted"] == 0 and r["rejected"] == 5, r
    fields = [[e["field"] for e in item["errors"]] for item in r["results"]]
    assert fields == [["ref"], ["eta"], ["eta"], ["warehouse"], ["ref"]]
    assert "PO-404" in r["results"][0]["errors"][0]["message"]
    assert "in the past" in r["results"][1]["errors"][0]["message"]
    with services.db.connect() as conn:
        assert conn.execute(select(requisitions.c.eta)).scalars().all() == [None]
        assert conn.execute(select(supplier_delays)).all() == []
    # the same delay, valid, is applied once: sent twice, the second is a duplicate
    good = {**base, "id": "d-ok", "ref": "PO-1", "eta": "2026-11-19T11:00:00+00:00"}
    assert client.post("/api/v1/events", json=[good], headers=h).json["accepted"] == 1
    again = client.post("/api/v1/events", json=[good], headers=h).json
    assert again["duplicates"] == 1 and again["accepted"] == 0
    with services.db.connect() as conn:
        assert len(conn.execute(select(supplier_delays)).all()) == 1
