"""The CLI of issue #16: backtest (text and JSON, two versions), forecasts run, daily run."""

from __future__ import annotations

import json

from tests.engine.services.test_daily import RULESET, _setup


def test_backtest_forecasts_and_daily_from_the_command_line(client, admin_headers, clock,
                                                           runner) -> None:
    _setup(client, admin_headers, clock)
    reorder = ('  - {id: reorder, on: [sale], when: {"<": [{"var": "stock.inventory_position"}, '
               '{"var": "metrics.reorder_point"}]}, actions: [{create_requisition: '
               '{quantity: order_up_to}}]}\n')
    answer = client.put("/api/v1/ruleset", data=RULESET.replace("fill_rate: 0.98", "fill_rate: 0.9")
                        + reorder, content_type="application/yaml", headers=admin_headers)
    assert answer.status_code == 200
    result = runner.invoke(args=["backtest", "--compare", "1", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out["versions"]) == {"1", "2"} and out["verdict"]["better"] in (1, 2)
    assert out["versions"]["2"]["groups"]["seasonal"]["pair_days"] > 0
    text = runner.invoke(args=["backtest", "--compare", "1"]).output
    assert "fill rate" in text and "better: version" in text
    tuned = runner.invoke(args=["backtest", "--tune", "0.5", "--groups", "seasonal"]).output
    assert "seasonal: fill_rate 0.8" in tuned, tuned
    assert "forecasts fitted (weekday: 1)" in runner.invoke(args=["forecasts", "run"]).output
    daily = runner.invoke(args=["daily", "run"]).output
    assert "alerts opened: 1" in daily, daily
    bad = runner.invoke(args=["backtest", "--from", "2030-01-01", "--to", "2029-01-01"])
    assert bad.exit_code != 0 and "after" in bad.output
