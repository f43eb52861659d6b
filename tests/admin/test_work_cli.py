"""CLI: ``alerts list``, ``tasks list|show|transition``, ``requisitions list|transition``, ``skus stock``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

RULESET = (Path(__file__).resolve().parents[1] / "data" / "work-ruleset.yaml").read_text("utf-8")


@pytest.fixture
def seeded(client: Any, admin_headers: dict[str, str]) -> None:
    """SKU-1 sold down to 5 in WH-1: one low-stock alert, task and requisition (amount 200)."""
    bodies = {
        "/api/v1/suppliers": [{"code": "SUP-1", "name": "Supplier 1", "lead_time_days": 5}],
        "/api/v1/warehouses": [{"code": "WH-1", "name": "East"}],
        "/api/v1/skus": [{"code": "SKU-1", "name": "Item 1", "unit_cost": 2,
                          "suppliers": [{"supplier": "SUP-1", "preferred": True}]}],
    }
    for path, body in bodies.items():
        assert client.put(path, json=body, headers=admin_headers).status_code == 200
    assert client.put("/api/v1/ruleset", data=RULESET, content_type="application/yaml",
                      headers=admin_headers).status_code == 200
    events = [{"id": "r1", "type": "receipt", "sku": "SKU-1", "warehouse": "WH-1", "qty": 20,
               "at": "2026-11-20T01:00:00Z"},
              {"id": "s1", "type": "sale", "sku": "SKU-1", "warehouse": "WH-1", "qty": 15,
               "at": "2026-11-20T03:00:00Z"}]
    assert client.post("/api/v1/events", json=events,
                       headers=admin_headers).json["accepted"] == 2


def run(runner: Any, *args: str, code: int = 0) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == code, result.output
    return result.output  # type: ignore[no-any-return]


def lines(output: str) -> list[list[str]]:
    return [line.split() for line in output.strip().splitlines()]


def test_alerts_list_prints_an_aligned_table(runner, seeded) -> None:
    out = run(runner, "alerts", "list")
    header, row, footer = out.strip().splitlines()
    assert header.split()[:5] == ["id", "state", "severity", "rule", "sku"]
    assert row.split()[1:5] == ["open", "high", "low-stock", "SKU-1"]
    assert header.index("rule") == row.index("low-stock")  # aligned columns
    assert footer == "1 of 1 shown; times in UTC"
    assert lines(run(runner, "alerts", "list", "--sku", "SKU-2"))[-1][:4] == ["0", "of", "0", "shown;"]


def test_tasks_list_and_show(runner, seeded) -> None:
    table = lines(run(runner, "tasks", "list", "--open", "--role", "buyer"))
    assert table[1][:4] == ["1", "open", "high", "buyer"]
    assert "yes" in table[1]  # due 07:00, now 08:00: overdue
    assert lines(run(runner, "tasks", "list", "--closed"))[-1][0] == "0"
    shown = run(runner, "tasks", "show", "1", "--user", "alice")
    assert "Replenish SKU-1 @ WH-1" in shown and "system" in shown
    assert "transitions: start → in_progress, resolve → done" in shown
    assert "error: task 999 not found" in run(runner, "tasks", "show", "999", code=1)


def test_tasks_transition_checks_role_and_form_then_moves_the_task(runner, client,
                                                                   user_headers, seeded) -> None:
    refused = run(runner, "tasks", "transition", "1", "start", "--user", "dave", code=1)
    assert "needs the role buyer" in refused
    invalid = run(runner, "tasks", "transition", "1", "resolve", "--user", "alice",
                  "--data", '{"outcome": "lost"}', code=1)
    assert "outcome:" in invalid
    run(runner, "tasks", "transition", "1", "resolve", "--data", "[1]", "--user", "alice",
        code=2)
    out = run(runner, "tasks", "transition", "1", "resolve", "--user", "alice",
              "--data", '{"outcome": "replenished", "quantity": 12}')
    assert out.strip() == "task 1: resolve → done"
    task = client.get("/api/v1/tasks/1", headers=user_headers).json
    assert task["data"] == {"outcome": "replenished", "quantity": 12.0}
    assert task["history"][-1]["actor"] == "alice"
    again = run(runner, "tasks", "transition", "1", "start", "--user", "alice", code=1)
    assert "not allowed from 'done'" in again


def test_requisitions_list_and_transition(runner, seeded) -> None:
    table = lines(run(runner, "requisitions", "list", "--state", "pending_approval"))
    assert table[1][:7] == ["1", "pending_approval", "SKU-1", "WH-1", "SUP-1", "100", "200"]
    refused = run(runner, "requisitions", "transition", "1", "approve", "--user", "alice",
                  code=1)
    assert "purchasing-manager" in refused
    run(runner, "requisitions", "transition", "1", "approve", "--user", "carol")
    assert "ref:" in run(runner, "requisitions", "transition", "1", "order", "--user", "carol",
                         code=1)
    out = run(runner, "requisitions", "transition", "1", "order", "--user", "carol",
              "--ref", "PO-9")
    assert out.strip() == "requisition 1: order → ordered"
    table = lines(run(runner, "requisitions", "list", "--supplier", "SUP-1", "--open"))
    assert table[1][1] == "ordered" and "PO-9" in table[1]


def test_times_are_shown_in_the_rulesets_time_zone(runner, seeded, client, admin_headers) -> None:
    """As the web pages show them: the CLI is read beside them."""
    due = datetime.fromisoformat(client.get("/api/v1/tasks/1", headers=admin_headers).json["due_at"])
    out = run(runner, "tasks", "list")
    assert due.astimezone(UTC).strftime("%Y-%m-%d %H:%M") in out and out.endswith("; times in UTC\n")
    shanghai = RULESET.replace("timezone: UTC", "timezone: Asia/Shanghai")
    assert client.put("/api/v1/ruleset", data=shanghai, content_type="application/yaml",
                      headers=admin_headers).status_code == 200
    out = run(runner, "tasks", "list")
    local = due.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert local in out and out.endswith("; times in Asia/Shanghai\n")
    assert f"due_at:    {local}" in run(runner, "tasks", "show", "1")


def test_skus_stock_shows_levels_metrics_and_open_alerts(runner, seeded, client, admin_headers) -> None:
    out = run(runner, "skus", "stock", "SKU-1")
    head, columns, row, alert = out.strip().splitlines()
    assert head == "SKU-1 Item 1: 5 EA available in 1 warehouse(s)"  # EA: the default unit
    cells = dict(zip(columns.split(), row.split(), strict=True))
    api = client.get("/api/v1/skus/SKU-1/stock", headers=admin_headers).json["warehouses"][0]
    assert cells["warehouse"] == "WH-1" and cells["on_hand"] == "5" and cells["available"] == "5"
    assert float(cells["on_order"]) == api["levels"]["on_order"] > 0  # the open requisition
    assert float(cells["demand/day"]) == round(15 / 28, 2)  # one sale of 15 in the 28-day window
    assert float(cells["reorder_point"]) == round(api["metrics"]["reorder_point"], 2)
    assert cells["supplier"] == "SUP-1" and cells["open_alerts"] == "1"
    assert alert.startswith("WH-1: alert 1 low-stock (high, open) since ")
    as_json = json.loads(run(runner, "skus", "stock", "SKU-1", "--json"))
    assert as_json["warehouses"][0]["metrics"] == api["metrics"]
    assert "SKU 'NOPE' not found" in run(runner, "skus", "stock", "NOPE", code=1)
