"""Issue #16's pages: calendar periods edited through a form, a group's fill rate and forecast
explained and warned about, the backtest page comparing two versions and tuning a group."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.test_web_rules import document, form_of, versions
from tests.admin.web_seed import login, seed_with_client


@pytest.fixture
def admin(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    login(client, "root")
    return client


def test_a_promotion_period_is_created_through_the_form(admin, services) -> None:
    page = admin.get("/admin/calendars/new")
    assert 'name="groups" value="cheap"' in page.get_data(as_text=True)
    data = {**form_of(page), "name": "双11", "id": "double-11", "kind": "promotion",
            "from": "2026-11-01", "to": "2026-11-11", "groups": "cheap",
            "demand_multiplier": "2.5", "yearly": "on"}
    assert admin.post("/admin/calendars/new", data=data).status_code == 303
    cal = document(services)["calendars"][-1]
    assert cal["id"] == "double-11" and cal["demand_multiplier"] == 2.5 and cal["yearly"] is True
    assert str(cal["from"]) == "2026-11-01" and cal["groups"] == ["cheap"]
    html = admin.get("/admin/calendars").get_data(as_text=True)
    assert "双11" in html and "2026-11-01" in html


def test_a_period_ending_before_it_starts_is_refused_next_to_its_field(admin, services) -> None:
    before = len(versions(services))
    page = admin.get("/admin/calendars/new")
    data = {**form_of(page), "name": "618", "kind": "promotion", "from": "2026-06-18",
            "to": "2026-06-01", "demand_multiplier": "0"}
    answer = admin.post("/admin/calendars/new", data=data)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and len(versions(services)) == before
    assert 'field has-error" data-field="demand_multiplier"' in html  # next to its field
    data["demand_multiplier"] = "2"
    html = admin.post("/admin/calendars/new", data=data).get_data(as_text=True)
    assert 'field has-error" data-field="to"' in html and len(versions(services)) == before


def test_a_group_s_fill_rate_and_forecast_are_explained_and_overstock_warned(admin, services) -> None:
    page = admin.get("/admin/groups/cheap/edit")
    html = page.get_data(as_text=True)
    assert "share of demand served straight from stock" in html or "满足率" in html
    assert 'name="p_forecast_method"' in html
    data = {**form_of(page), "name": "便宜货", "id": "cheap", "mode": "keep",
            "p_fill_rate": "0.999", "p_forecast_method": "seasonal"}
    answer = admin.post("/admin/groups/cheap/edit", data=data, follow_redirects=True)
    assert answer.status_code == 200
    group = document(services)["sku_groups"][0]
    assert group["params"] == {"fill_rate": 0.999, "forecast_method": "seasonal"}
    assert "flash-warning" in answer.get_data(as_text=True)


def test_the_backtest_compares_two_versions_and_tunes_a_group(admin, services) -> None:
    page = admin.get("/admin/calendars/new")  # a second version: a promotion period
    admin.post("/admin/calendars/new", data={**form_of(page), "name": "promo", "kind": "promotion",
                                             "from": "2026-11-01", "to": "2026-11-03"})
    numbers = sorted(v["number"] for v in versions(services))
    new, old = numbers[-1], numbers[-2]
    html = admin.get(f"/admin/backtest?run=1&version={new}&compare={old}").get_data(as_text=True)
    assert 'id="verdict"' in html and 'id="backtest-result"' in html
    assert html.count('data-metric="fill_rate"') == 2
    html = admin.get(f"/admin/backtest?run_tune=1&version={new}&tune=0.5").get_data(as_text=True)
    # SKU-2 is cheap: its demand is served at the lowest target tried
    assert 'id="tuned"' in html and '<tr data-group="cheap"><td>cheap</td>' in html
    page = admin.get("/admin/backtest")
    assert admin.post("/admin/backtest/tune", data={"csrf_token": form_of(page)["csrf_token"],
                                                    "version": new, "tune": "0.5"}).status_code == 303
    assert len(versions(services)) == len(numbers) + 1
    assert document(services)["sku_groups"][0]["params"] == {"fill_rate": 0.8}
