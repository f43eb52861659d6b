"""The dashboard's figures, and the 90-day stock replay behind the task chart."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.services import reports
from tests.admin.web_seed import RULESET, login, seed_with_client


@pytest.fixture
def seeded(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    return client


def test_the_dashboard_counts_open_work(seeded, services, clock) -> None:
    with services.uow() as uow:
        snap = services.cache.current(uow.conn)
        figures = reports.dashboard(uow.conn, snap, clock.now(), {"purchasing-manager"})
    assert figures["alerts_by_severity"] == {"critical": 1, "high": 2, "medium": 0, "low": 0,
                                             "info": 0}
    assert figures["alerts_by_group"] == {"": {"high": 1}, "cheap": {"high": 1, "critical": 1}}
    assert figures["tasks"] == {"open": 3, "overdue": 1, "mine_open": 0, "mine_overdue": 0}
    assert figures["requisitions"] == {"pending_approval": 1, "pending_amount": 200.0,
                                       "approved": 1, "awaiting_me": 1}
    out = figures["out_of_stock"]
    assert (out["skus"], out["pairs"]) == (1, 1) and out["items"][0]["code"] == "SKU-2"


def test_the_dashboard_page_in_chinese_and_english(seeded) -> None:
    login(seeded, "carol")
    html = seeded.get("/").get_data(as_text=True)
    assert "<h1>仪表盘</h1>" in html
    assert re.search(r'id="stat-alerts">.*?<span class="stat-value">3</span>', html, re.S)
    assert re.search(r'id="stat-overdue">.*?<span class="stat-value">1</span>', html, re.S)
    assert "1 个待我审批" in html and "金额 200.00" in html
    assert "便宜货" in html and "SKU-2" in html
    english = seeded.get("/dashboard", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h1>Dashboard</h1>" in english and "1 wait for you" in english


def test_the_stock_history_starts_from_the_last_count_before_the_window(
        client, admin_headers, clock, services) -> None:
    for path, body in {
        "/api/v1/warehouses": [{"code": "W", "name": "W"}, {"code": "V", "name": "V"}],
        "/api/v1/skus": [{"code": "S", "name": "S"}],
    }.items():
        assert client.put(path, json=body, headers=admin_headers).status_code == 200
    assert client.put("/api/v1/ruleset", data=RULESET, content_type="application/yaml",
                      headers=admin_headers).status_code == 200  # its time zone dates demand
    now = clock.now()

    def ev(key: str, kind: str, days: float, qty: float, **extra: Any) -> dict[str, Any]:
        return {"id": key, "type": kind, "sku": "S", "warehouse": extra.pop("wh", "W"),
                "qty": qty, "at": (now - timedelta(days=days)).isoformat(), **extra}

    events = [ev("a", "receipt", 200, 1000), ev("b", "count", 120, 500), ev("c", "sale", 100, 100),
              ev("d", "sale", 50, 30), ev("e", "transfer", 40, 20, wh="V", to_warehouse="W"),
              ev("f", "transfer", 30, 10, to_warehouse="V"), ev("g", "adjustment", 20, -5),
              ev("h", "reserve", 10, 4)]
    answer = client.post("/api/v1/events", json=events, headers=admin_headers)
    assert answer.json["accepted"] == len(events), answer.json
    with services.uow() as uow:
        history = reports.stock_history(uow.conn, "S", "W", now, ZoneInfo("Asia/Shanghai"), 90)
    points = [(p["event"], p["on_hand"], p["available"]) for p in history["stock"]]
    assert points == [(None, 400, 400),  # 500 counted, 100 sold before the window
                      ("sale", 370, 370), ("transfer", 390, 390), ("transfer", 380, 380),
                      ("adjustment", 375, 375), ("reserve", 375, 371), (None, 375, 371)]
    assert len(history["demand"]) == 90 and sum(d["qty"] for d in history["demand"]) == 30
