"""Rejected events for admins: the list with reasons and what was sent, and their replay."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.web_seed import login, post_form, seed_with_client


@pytest.fixture
def rejected(client: Any, runner: Any, clock: Any) -> Any:
    """The seeded state, plus two events for a SKU not in the catalogue and a line that was
    not JSON, refused and kept."""
    seed_with_client(client, runner, clock.now())
    token = runner.invoke(args=["tokens", "create", "root"]).output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    at = clock.now().isoformat()
    answer = client.post("/api/v1/events", headers=headers, json=[
        {"id": "new-1", "type": "receipt", "sku": "SKU-NEW", "warehouse": "WH-1", "qty": 5, "at": at},
        {"id": "new-2", "type": "sale", "sku": "SKU-NEW", "warehouse": "WH-1", "qty": 2, "at": at},
        [1, True]]).json
    assert answer["rejected"] == 3
    client.headers = headers  # type: ignore[attr-defined]
    return client


def rows(html: str) -> int:
    return html.count("<tr data-rejected=")


def test_rejected_events_are_for_admins_only(rejected) -> None:
    login(rejected, "carol")
    assert rejected.get("/admin/events/rejected").status_code == 403
    assert post_form(rejected, "/", "/admin/events/rejected/replay").status_code == 403
    assert 'href="/admin/events/rejected"' not in rejected.get("/").get_data(as_text=True)


def test_the_list_says_why_and_what_was_sent_and_the_replay_applies_what_is_now_valid(rejected) -> None:
    login(rejected, "root")
    rejected.get("/lang/en?next=/")
    assert 'href="/admin/events/rejected"' in rejected.get("/").get_data(as_text=True)  # in the menu
    html = rejected.get("/admin/events/rejected").get_data(as_text=True)
    assert rows(html) == 3 and "Replay all 3" in html
    assert "SKU &#39;SKU-NEW&#39; does not exist" in html
    assert "&#34;sku&#34;: &#34;SKU-NEW&#34;" in html  # the event as sent
    assert "[1, true]" in html and "an event must be a JSON object" in html

    # Nothing fixed yet: the replay keeps them, with their reasons
    answer = post_form(rejected, "/admin/events/rejected", "/admin/events/rejected/replay",
                       follow_redirects=True).get_data(as_text=True)
    assert "Replayed: 0 applied, 0 were already in, 2 still rejected." in answer
    assert rows(answer) == 3

    # The SKU is added: both events are applied, the line that was no event stays
    put = rejected.put("/api/v1/skus", json=[{"code": "SKU-NEW", "name": "New"}],
                       headers=rejected.headers)
    assert put.status_code == 200
    answer = post_form(rejected, "/admin/events/rejected", "/admin/events/rejected/replay",
                       follow_redirects=True).get_data(as_text=True)
    assert "Replayed: 2 applied, 0 were already in, 0 still rejected." in answer
    assert rows(answer) == 1 and "[1, true]" in answer
    stock = rejected.get("/api/v1/skus/SKU-NEW/stock", headers=rejected.headers).json
    assert stock["warehouses"][0]["levels"]["on_hand"] == 3.0


def test_the_page_speaks_chinese(rejected) -> None:
    login(rejected, "root")
    rejected.get("/lang/zh?next=/")
    html = rejected.get("/admin/events/rejected").get_data(as_text=True)
    assert "被拒事件" in html and "全部重放（3 条）" in html


def test_many_rejected_events_are_paged(rejected) -> None:
    at = "2026-11-20T08:00:00+08:00"
    answer = rejected.post("/api/v1/events", headers=rejected.headers, json=[
        {"id": f"ghost-{i}", "type": "receipt", "sku": "SKU-GHOST", "warehouse": "WH-1", "qty": 1,
         "at": at} for i in range(120)]).json
    assert answer["rejected"] == 120
    login(rejected, "root")
    rejected.get("/lang/en?next=/")
    first = rejected.get("/admin/events/rejected").get_data(as_text=True)
    assert rows(first) == 100 and "Page 1 of 2 · 123 rejected events" in first
    assert 'href="/admin/events/rejected?page=2"' in first and "Previous" not in first
    second = rejected.get("/admin/events/rejected?page=2").get_data(as_text=True)
    assert rows(second) == 23 and 'href="/admin/events/rejected?page=1"' in second
