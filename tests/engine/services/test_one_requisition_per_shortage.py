"""SPEC §3: a requisition is not raised when open requisitions already cover the shortage —
whichever rule raised them, in the same batch, in an earlier one, or in one applied at the
same moment (issue #13, finding 9).

"Cover": the SKU×warehouse has open requisitions (draft, pending approval, approved or
ordered, counted here or already in the ERP's on_order) and its inventory position, which
counts them, is at or above the reorder point. The scenario is test_replenishment_scenario's
(d = 10, ROP 56.45, MOQ 20, pack 10): on Nov 5 available 50 < ROP opens ``below-rop``, which
raises 80 (order_up_to), so the position is 130. A second rule, ``deep``, fires below 45 with a
fixed 50.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from engine.storage.tables import alerts, requisitions
from tests.engine.services.test_replenishment_scenario import (
    RULESET,
    count,
    event,
    history,
    on_order,
    setup,
    token,
)

DEEP = RULESET + """
  - id: deep
    name: 深度缺货
    on: [sale]
    when: {"<": [{"var": "stock.available"}, 45]}
    owner: buyer
    actions:
      - create_requisition: {quantity: {fixed: 50}, supplier: preferred}
"""
NOV6 = date(2026, 11, 6)


def use_deep_rule(client: Any, headers: dict[str, str]) -> None:
    setup(client, headers)
    r = client.put("/api/v1/ruleset", data=DEEP, content_type="application/yaml", headers=headers)
    assert r.status_code == 200, r.json


def skipped_because(services: Any, rule: str) -> str:
    with services.db.connect() as conn:
        facts = conn.execute(select(alerts.c.facts).where(alerts.c.rule == rule)).scalar_one()
    return str(facts["actions"][0]["skipped"])


def quantities(services: Any) -> list[float]:
    with services.db.connect() as conn:
        return list(conn.execute(select(requisitions.c.quantity).order_by(requisitions.c.id))
                    .scalars())


def test_a_second_rule_in_the_same_batch_raises_nothing_while_the_first_covers(
        client, admin_headers, services) -> None:
    use_deep_rule(client, admin_headers)
    batch = history() + [event("s-5", "sale", NOV6, 10)]  # available 40 < 45: deep fires
    assert client.post("/api/v1/events", json=batch, headers=admin_headers).json["accepted"] == 15
    assert count(services, alerts) == 2
    assert quantities(services) == [80]
    assert "open requisitions already cover the shortage" in skipped_because(services, "deep")


def test_a_second_rule_in_a_later_batch_raises_nothing_while_the_first_covers(
        client, admin_headers, services) -> None:
    use_deep_rule(client, admin_headers)
    client.post("/api/v1/events", json=history(), headers=admin_headers)
    client.post("/api/v1/events", json=[event("s-5", "sale", NOV6, 10)], headers=admin_headers)
    assert count(services, alerts) == 2
    assert quantities(services) == [80]


def test_an_ordered_requisition_the_erp_counts_still_covers_the_shortage(
        client, admin_headers, services, runner, clock) -> None:
    """Before: once the ERP's on_order included the ordered requisition, nothing was counted
    here any more, the pair looked as if it had no open requisition, and ``deep`` raised 50
    although the position (40 + the ERP's 80 = 120) was far above the reorder point."""
    use_deep_rule(client, admin_headers)
    client.post("/api/v1/events", json=history(), headers=admin_headers)
    carol, alice = token(runner, "carol"), token(runner, "alice")
    with services.db.connect() as conn:
        req = f"/api/v1/requisitions/{conn.execute(select(requisitions.c.id)).scalar_one()}/transitions"
    assert client.post(req, json={"transition": "approve"}, headers=carol).status_code == 200
    r = client.post(req, json={"transition": "order", "data": {"ref": "PO-77"}}, headers=alice)
    assert r.status_code == 200, r.json
    snap = event("erp-1", "count", date(2026, 11, 20), 50, on_order=80)
    clock.advance(timedelta(hours=2))
    snap["at"] = "2026-11-20T09:00:00+00:00"  # after the order (08:00)
    assert client.post("/api/v1/events", json=[snap], headers=admin_headers).json["accepted"] == 1
    assert on_order(client, admin_headers) == (80, 130)  # counted by the ERP, not here
    sale = event("s-9", "sale", date(2026, 11, 20), 10)  # available 40 < 45
    sale["at"] = "2026-11-20T09:30:00+00:00"
    r = client.post("/api/v1/events", json=[sale], headers=admin_headers)
    assert r.json["accepted"] == 1, r.json
    assert count(services, alerts, alerts.c.rule == "deep") == 1
    assert quantities(services) == [80]
    assert "open requisitions already cover the shortage" in skipped_because(services, "deep")


def test_a_shortage_the_open_requisitions_do_not_cover_raises_another(
        client, admin_headers, services) -> None:
    """What the load test saw: demand ate the position, open requisitions included, below the
    reorder point again; then another rule's requisition is the SPEC's rule, not a breach."""
    use_deep_rule(client, admin_headers)
    client.post("/api/v1/events", json=history(), headers=admin_headers)  # position 130
    client.post("/api/v1/events", json=[event("s-5", "sale", NOV6, 80)], headers=admin_headers)
    # available -30, position 50 < the reorder point (above 56.45: demand went up)
    assert quantities(services) == [80, 50]
    with services.db.connect() as conn:
        facts = conn.execute(select(alerts.c.facts).where(alerts.c.rule == "deep")).scalar_one()
    assert facts["stock"]["inventory_position"] < facts["metrics"]["reorder_point"]


def test_batches_applied_at_the_same_moment_raise_one_requisition(
        app, client, admin_headers, services) -> None:
    """Two batches for the pair, each crossing a different rule, posted concurrently: whichever
    applies second finds the first one's requisition (the pair's stock level row is locked
    while a batch applies), so one requisition, whatever the order."""
    use_deep_rule(client, admin_headers)
    early = history()[:-1]  # up to Nov 4: available 60, no alert yet
    assert client.post("/api/v1/events", json=early, headers=admin_headers).json["accepted"] == 13
    batches = [[event("x-1", "sale", date(2026, 11, 5), 10)],  # 50: below-rop
               [event("x-2", "sale", date(2026, 11, 5), 20, hour=11)]]  # 40 or 30: deep too
    start = threading.Barrier(2)
    answers: list[int] = []

    def post(batch: list[dict[str, Any]]) -> None:
        own = app.test_client()
        start.wait()
        answers.append(own.post("/api/v1/events", json=batch, headers=admin_headers).status_code)

    threads = [threading.Thread(target=post, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200, 200]
    assert count(services, alerts) == 2
    assert len(quantities(services)) == 1
