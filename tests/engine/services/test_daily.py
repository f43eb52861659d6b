"""The daily jobs (issue #16): forecasts fitted over every series of a forecast group and used by
the facts; rules on: [daily] raising and resolving alerts without any event; the whole-catalogue
answer of POST /ruleset/validate. Set up through the REST API, as an integration would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine.services.runner import run_daily_jobs
from engine.storage.tables import alerts, forecasts, tasks

RULESET = """\
ruleset: daily-test
settings: {timezone: Asia/Shanghai}
sku_groups:
  - {id: seasonal, name: 季节品, where: {"in": ["seasonal", {"var": "sku.tags"}]},
     params: {forecast_method: seasonal, fill_rate: 0.98}}
roles:
  - {id: buyer, name: 采购员, members: [alice]}
workflows:
  - {id: review, name: 复核, states: [open, done], transitions: [{id: close, from: [open], to: done, roles: [buyer]}]}
calendars:
  - {id: d11, name: 双11, from: 2026-11-25, to: 2026-11-27, groups: [seasonal], demand_multiplier: 4}
rules:
  - id: quiet
    name: 三天无销售
    on: [daily]
    when: {">": [{"var": ["metrics.days_since_last_sale", 0]}, 3]}
    owner: buyer
    actions:
      - create_task: {title: "无销售 {{ sku.code }}", workflow: review}
"""


def _setup(client: Any, headers: dict[str, str], clock: Any) -> None:
    def put(path: str, body: Any, yaml: bool = False) -> None:
        kwargs = {"data": body, "content_type": "application/yaml"} if yaml else {"json": body}
        answer = client.put(path, headers=headers, **kwargs)
        assert answer.status_code == 200, answer.json

    put("/api/v1/warehouses", [{"code": "WH", "name": "上海仓"}])
    put("/api/v1/skus", [{"code": "FAN", "name": "电扇", "tags": ["seasonal"], "unit_cost": 5},
                         {"code": "TEA", "name": "茶", "unit_cost": 2}])
    put("/api/v1/ruleset", RULESET, yaml=True)
    now = clock.now()
    events = [{"id": "c-fan", "type": "count", "sku": "FAN", "warehouse": "WH", "qty": 1000,
               "at": (now - timedelta(days=61)).isoformat()},
              {"id": "c-tea", "type": "count", "sku": "TEA", "warehouse": "WH", "qty": 50,
               "at": (now - timedelta(days=61)).isoformat()}]
    for n in range(1, 61):  # FAN sells every day, 10 a day; TEA last sold 5 days ago
        at = (now - timedelta(days=n)).isoformat()
        events.append({"id": f"s-fan-{n}", "type": "sale", "sku": "FAN", "warehouse": "WH",
                       "qty": 10, "at": at})
    events.append({"id": "s-tea", "type": "sale", "sku": "TEA", "warehouse": "WH", "qty": 1,
                   "at": (now - timedelta(days=5)).isoformat()})
    answer = client.post("/api/v1/events", json=events, headers=headers)
    assert answer.json["accepted"] == len(events), answer.json


def test_the_daily_run_fits_forecasts_and_raises_daily_alerts(client, admin_headers, clock,
                                                              services) -> None:
    _setup(client, admin_headers, clock)
    with services.uow() as uow:
        assert not uow.conn.execute(select(alerts)).all()  # no event raised the daily rule
    out = run_daily_jobs(services, clock.now(), force=True)
    assert out["forecasts"] == {"weekday": 1}  # two months of history: the weekday profile
    assert out["daily"].opened == 1 and out["daily"].tasks == 1
    with services.uow() as uow:
        [fc] = uow.conn.execute(select(forecasts)).all()
        assert fc.method == "weekday" and abs(fc.model["level"] - 10) < 1e-9
        [alert] = uow.conn.execute(select(alerts)).all()
        assert alert.rule == "quiet" and alert.facts["metrics"]["days_since_last_sale"] == 5
        assert alert.facts["event"]["type"] == "daily"
        assert uow.conn.execute(select(tasks.c.title)).scalar() == "无销售 TEA"
    # the facts of FAN now come from its forecast: 10 a day, 4 × on 双11 (days 5–7 from now)
    answer = client.get("/api/v1/skus/FAN/stock", headers=admin_headers)
    assert answer.status_code == 200
    # a second run the same day opens nothing new (one alert per rule and pair)
    again = run_daily_jobs(services, clock.now(), force=True)
    assert again["daily"].opened == 0


def test_validate_evaluates_every_rule_over_the_catalogue(client, admin_headers, clock) -> None:
    _setup(client, admin_headers, clock)
    document = RULESET.replace("on: [daily]", "on: [sale]").replace(
        "service_level", "service_level") + "  - {id: low, when: {\"<\": [{\"var\": \"stock.available\"}, 100]}}\n"
    answer = client.post("/api/v1/ruleset/validate", data=document,
                         content_type="application/yaml", headers=admin_headers)
    body = answer.json
    assert body["valid"], body
    assert body["rules"]["quiet"]["hits"] == 1 and body["rules"]["quiet"]["hit_pairs"] == ["TEA@WH"]
    assert body["rules"]["low"] == dict(body["rules"]["low"], pairs=2, hits=1,
                                        hit_pairs=["TEA@WH"], failed=0)
    assert body["warnings"] == []


def test_validate_warns_of_likely_overstock() -> None:
    from engine.rules import load_ruleset
    from engine.rules.advice import advice

    compiled = load_ruleset("ruleset: x\nsettings: {service_level: 0.995, promotion_days: ['2026-11-11']}\n"
                            "sku_groups: [{id: g, params: {fill_rate: 0.999}}]\n")
    found = {(w.path, w.code) for w in advice(compiled)}
    assert found == {("settings.service_level", "overstock"), ("settings.promotion_days", "deprecated"),
                     ("sku_groups[0].params.fill_rate", "overstock")}
