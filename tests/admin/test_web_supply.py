"""The supply side on the pages (issue #19), in both languages: a delayed order's ETA on its
requisition, the failover requisition's reasons, the supplier's supply record (open delay,
learned lead time) and its availability switch."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from admin.web import explain
from engine.storage.supply_store import publish_learning
from engine.storage.tables import alerts, audit_log, requisitions
from tests.admin.web_seed import csrf_token, login
from tests.engine.services.test_replenishment_scenario import token
from tests.engine.services.test_supply_scenario import SKUS, T, ev, history, order_all, setup


def delayed_world(client: Any, h: dict[str, str], services: Any, runner: Any, clock: Any) -> None:
    setup(client, h)
    client.post("/api/v1/events", json=[e for sku in SKUS for e in history(sku)], headers=h)
    order_all(client, services, token(runner, "alice"), clock)
    clock.at = datetime(2026, 11, 5, 12, 30, tzinfo=UTC)
    delay = {"id": "d-1", "type": "supplier_delay", "supplier": "SA", "ref": "PO-1",
             "eta": "2026-11-19T11:00:00+00:00", "at": "2026-11-05T12:00:00+00:00"}
    assert client.post("/api/v1/events", json=[delay], headers=h).json["accepted"] == 1
    login(client, "root")


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_delay_and_the_failover_show_on_the_requisitions_in_both_languages(
        app, client, admin_headers, services, runner, clock) -> None:
    delayed_world(client, admin_headers, services, runner, clock)
    with services.db.connect() as conn:
        ids = list(conn.execute(select(requisitions.c.id).order_by(requisitions.c.id)).scalars())
    client.get("/lang/en?next=/")
    first = text(client.get(f"/requisitions/{ids[0]}").get_data(as_text=True))
    assert "Expected arrival" in first and "2026-11-19" in first
    assert "delayed by the supplier: 10 days late" in first
    assert "Delayed by the supplier" in first  # the history entry
    follow = text(client.get(f"/requisitions/{ids[-1]}").get_data(as_text=True))
    assert ("Ordered from SB instead of SA, which is 10 days late on an open order (more than 3)."
            in follow)
    assert ("77 already on order were not counted: they arrive after the projected stock-out on "
            "2026-11-10." in follow)
    # the explanation of the alert's metrics says where their lead time comes from
    with services.db.connect() as conn:
        facts = conn.execute(select(alerts.c.facts).where(alerts.c.rule == "supplier-late")
                             ).scalar_one()
    assert facts["supplier"]["lead_time_source"] == "master"
    learned = {**facts, "supplier": {**facts["supplier"], "lead_time_source": "learned"}}
    for language, says in (("en", "Lead time 4 days ± 1: from the master data"),
                           ("zh", "提前期 4 天 ± 1：取自主数据")):
        with app.test_request_context(headers={"Accept-Language": language}):
            assert says in explain.formulas(facts)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert "Lead time 4 days ± 1: learned from the supplier's receipts" in explain.formulas(
            learned)
    client.get("/lang/zh?next=/")
    follow_zh = text(client.get(f"/requisitions/{ids[-1]}").get_data(as_text=True))
    assert "改向 SB 订购" in follow_zh and "预计断货" in follow_zh
    first_zh = text(client.get(f"/requisitions/{ids[0]}").get_data(as_text=True))
    assert "预计到货" in first_zh and "供应商延误" in first_zh


def test_the_supplier_page_shows_its_record_and_switches_its_availability(
        client, admin_headers, services, runner, clock) -> None:
    delayed_world(client, admin_headers, services, runner, clock)
    client.get("/lang/en?next=/")
    settings = client.get("/admin/settings").get_data(as_text=True)
    assert "Receipts before a lead time is learned" in settings
    assert re.search(r'name="lead_time_min_observations"[^>]*value="3"', settings) or re.search(
        r'value="3"[^>]*name="lead_time_min_observations"', settings)
    page = text(client.get("/admin/data/suppliers/item/SA").get_data(as_text=True))
    assert "Supply record" in page and "PO-1" in page
    assert "master data (0 of 3 receipts needed to learn it)" in page
    assert "On-time rate from receipts 0% (an open delay counts as late)" in page
    clock.at = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    receipts = [ev(f"rcv-{sku}", "receipt", sku, T + timedelta(days=days), 77, ref=f"PO-{sku[-1]}")
                for sku, days in (("SKU-2", 4), ("SKU-3", 5), ("SKU-4", 7))]
    assert client.post("/api/v1/events", json=receipts, headers=admin_headers).json["accepted"] == 3
    with services.db.begin() as conn:
        publish_learning(conn)  # the periodic pass
    page = text(client.get("/admin/data/suppliers/item/SA").get_data(as_text=True))
    assert "5.33 ± 1.53 · learned from the last 3 receipts" in page
    assert "On-time rate from receipts 50% " in page
    client.get("/lang/zh?next=/")
    zh = text(client.get("/admin/data/suppliers/item/SA").get_data(as_text=True))
    assert "供货记录" in zh and "根据最近 3 次到货学习" in zh

    form = client.get("/admin/data/suppliers/item/SB")
    answer = client.post("/admin/data/suppliers/item/SB/availability",
                         data={"csrf_token": csrf_token(form), "unavailable": "1"})
    assert answer.status_code == 303
    assert "不可用" in text(client.get("/admin/data/suppliers/item/SB").get_data(as_text=True))
    with services.db.connect() as conn:
        snap = services.cache.current(conn)
        sb = next(link for link in snap.links[snap.sku_ids["SKU-1"]] if link.code == "SB")
        assert sb.unavailable is True
        assert conn.execute(select(audit_log.c.action).where(
            audit_log.c.target == "SB")).scalar_one() == "supplier.unavailable"
    missing = client.post("/admin/data/suppliers/item/NOPE/availability",
                          data={"csrf_token": csrf_token(form), "unavailable": "1"})
    assert missing.status_code == 404


def test_a_covered_shortage_says_why_in_both_languages(app) -> None:
    """The skip reason create_requisition writes, read on a task's page (issue #19)."""
    from admin.web.requisition_view import skipped_reason
    from engine.actions.context import Skipped
    from engine.pipeline.core import apply
    from engine.rules.loader import load_ruleset
    from engine.snapshot import Snapshot
    from engine.supply import OpenOrder
    from tests.engine.test_supply import T0, A, B, pair_with, sale

    rules = load_ruleset("""
ruleset: covered
settings: {timezone: UTC, demand_window_days: 7}
roles: [{id: buyer, name: Buyer, members: [alice], channels: [email]}]
rules:
  - id: low
    name: Low
    on: [sale]
    when: {"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]}
    owner: buyer
    actions: [{create_requisition: {quantity: order_up_to}}]
""")
    snap = Snapshot.in_memory(rules, {1: {"code": "S1", "name": "one"}}, {1: {"code": "W1"}},
                              links={1: (A, B)}, suppliers={"A": 1, "B": 2})
    state = pair_with(40, 100, [OpenOrder(100, T0 + timedelta(days=2), "A")])
    [alert] = apply(state, [sale()], snap).new_alerts  # type: ignore[list-item]
    [skip] = [d for d in alert.drafts if isinstance(d, Skipped)]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert skipped_reason(skip.reason) == (
            "Open requisitions already cover the shortage: the inventory position 130 is at or "
            "above the reorder point 56.4, and the rule's condition no longer holds once they "
            "arrive.")
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        assert skipped_reason(skip.reason).startswith("在途的采购申请已能覆盖缺口：库存头寸 130")


def test_nothing_to_order_with_transfers_coming_reads_in_chinese(app) -> None:
    """The reason the demo's task shows (metrics.py's and transfer_cover.py's wording)."""
    from admin.web.requisition_view import skipped_reason
    from engine.actions.transfer_cover import TRANSFER_NOTE

    text = "nothing to order: the policy's quantity is not above 0" + TRANSFER_NOTE.format(40)
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        assert skipped_reason(text) == ("无需订购：按补货策略算出的数量不大于 0。 "
                                        "在途调拨将带来 40，不再重复订购。")
