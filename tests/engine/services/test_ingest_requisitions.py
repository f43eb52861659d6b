"""Receipts with a ref and ERP counts change ordered requisitions in event order, in one batch
as one event at a time (SPEC §4: a requisition is never counted twice)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from engine.storage.tables import requisition_history, requisitions, stock_levels

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # the test clock says 08:00


def _setup(client, admin_headers, services) -> None:  # type: ignore[no-untyped-def]
    h = admin_headers
    assert client.put("/api/v1/warehouses", json=[{"code": "WH-1", "name": "w"}], headers=h).status_code == 200
    assert client.put("/api/v1/skus", json=[{"code": "SKU-1", "name": "s"}], headers=h).status_code == 200
    reqs = [("PO-1", 30.0, T0 - timedelta(hours=2), "ordered"),
            ("PO-1", 20.0, T0 - timedelta(hours=1), "ordered"),
            ("PO-2", 40.0, T0 + timedelta(hours=1), "ordered"),
            (None, 10.0, None, "approved")]
    with services.db.begin() as conn:
        conn.execute(insert(stock_levels), {"sku_id": 1, "warehouse_id": 1, "on_order_local": 100.0})
        for i, (ref, qty, ordered_at, state) in enumerate(reqs):
            conn.execute(insert(requisitions), {
                "action_key": f"a{i}", "sku_id": 1, "warehouse_id": 1, "quantity": qty, "state": state,
                "ref": ref, "ordered_at": ordered_at, "created_at": T0, "updated_at": T0})


def _event(eid: str, type_: str, at: datetime, qty: float, **extra: Any) -> dict[str, Any]:
    return {"id": eid, "type": type_, "sku": "SKU-1", "warehouse": "WH-1", "qty": qty,
            "at": at.isoformat(), **extra}


EVENTS = [
    _event("e1", "receipt", T0, 30, ref="PO-1"),  # receives the first PO-1 (lowest id)
    _event("e2", "count", T0 + timedelta(minutes=30), 50, on_order=60),  # takes over the 2nd PO-1
    _event("e3", "receipt", T0 + timedelta(hours=2), 20, ref="PO-1"),  # the ERP's: erp 60 → 40
    _event("e4", "receipt", T0 + timedelta(hours=3), 5, ref="PO-9"),  # no requisition: erp → 35
    _event("e5", "count", T0 + timedelta(hours=4), 50, on_order=100),  # takes over PO-2
]


@pytest.mark.parametrize("per_request", [5, 1], ids=["one-batch", "event-by-event"])
def test_receipts_and_counts_move_requisitions_in_event_order(client, admin_headers, services,
                                                              per_request):
    _setup(client, admin_headers, services)
    for i in range(0, len(EVENTS), per_request):
        r = client.post("/api/v1/events", json=EVENTS[i:i + per_request], headers=admin_headers)
        assert r.status_code == 200, r.json
        assert {x["status"] for x in r.json["results"]} == {"accepted"}, r.json
    with services.db.connect() as conn:
        reqs = [(r.state, r.counted_by_erp, r.version) for r in
                conn.execute(select(requisitions).order_by(requisitions.c.id))]
        level = conn.execute(select(stock_levels)).one()
        history = [(h.requisition_id, h.transition, h.from_state, h.to_state, h.data) for h in
                   conn.execute(select(requisition_history).order_by(requisition_history.c.id))]
    assert reqs == [("received", False, 2), ("received", True, 2), ("ordered", True, 1),
                    ("approved", False, 1)]
    assert (level.on_order_local, level.on_order_erp, level.on_hand) == (10.0, 100.0, 50.0)
    assert history == [(1, "receive", "ordered", "received", {"event": "e1"}),
                       (2, "receive", "ordered", "received", {"event": "e3"})]
