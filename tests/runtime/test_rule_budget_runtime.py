"""Bad rules against the real worker on PostgreSQL and Redis (issue #13): a CPU bomb and a
memory bomb, stored as an old version would be (today's validation refuses them), on one SKU.
The events of every other SKU are applied, with their alerts, while the bad rules are cut off on
each event of theirs; the worker is never killed, and admins are told once per rule.

No assertion on time: the outcomes and the order are asserted, with generous waits; the seconds
it took are printed in the run's report.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.storage.tables import alerts, notifications, rule_failures, skus, stock_events
from tests.engine.services.test_rule_budget import unchecked_version
from tests.runtime.report import REPORT
from tests.runtime.test_faults import Workers, drained, runtime_app, stuck

ACC = {"var": "accumulator"}
CPU_BOMB = {"some": [list(range(30)), {"some": [list(range(30)), {"some": [list(range(30)), {
    "some": [list(range(30)), {"some": [list(range(30)), {"==": [{"var": ""}, -1]}]}]}]}]}]}
MEMORY_BOMB = {"!!": {"reduce": [[1] * 26, {"merge": [ACC, ACC]}, [1]]}}  # 2**26 items
RULES = f"""\
ruleset: bombs
settings: {{timezone: UTC}}
sku_groups:
  - {{id: bad-skus, where: {{"in": ["bad", {{"var": "sku.tags"}}]}}}}
roles: [{{id: buyer, members: [alice]}}]
rules:
  - {{id: cpu-bomb, group: bad-skus, owner: buyer, when: {json.dumps(CPU_BOMB)}}}
  - {{id: memory-bomb, group: bad-skus, owner: buyer, when: {json.dumps(MEMORY_BOMB)}}}
  - {{id: low, owner: buyer, when: {{"<": [{{"var": "stock.available"}}, 10]}}}}
"""
GOOD_SKUS, BAD_EVENTS = 20, 60


@pytest.mark.slow
def test_bad_rules_on_one_sku_never_hold_up_the_others(settings, clock, redis_url, tmp_path):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the production runtime: PostgreSQL and Redis (TEST_DATABASE_URL)")
    app, headers, env = runtime_app(settings, clock, redis_url, tmp_path)
    client, services = app.test_client(), app.extensions["engine"]
    assert client.put("/api/v1/warehouses", headers=headers,
                      json=[{"code": "W", "name": "w"}]).status_code == 200
    assert client.put("/api/v1/skus", headers=headers, json=[
        {"code": "BAD", "name": "bad", "tags": ["bad"]},
        *({"code": f"G{i:02d}", "name": f"good {i}"} for i in range(GOOD_SKUS))]).status_code == 200
    refused = client.put("/api/v1/ruleset", data=RULES, content_type="application/yaml",
                         headers=headers)
    assert refused.status_code == 422 and {e["code"] for e in refused.json["errors"]} == {
        "too_costly"}
    version = unchecked_version(services, RULES, datetime.now(UTC))

    at = datetime.now(UTC) - timedelta(minutes=1)
    bad = [{"id": f"bad-{i}", "type": "count", "sku": "BAD", "warehouse": "W", "qty": 50 + i,
            "at": (at + timedelta(milliseconds=i)).isoformat()} for i in range(BAD_EVENTS)]
    good = [{"id": f"good-{i}", "type": "count", "sku": f"G{i:02d}", "warehouse": "W", "qty": 3,
             "at": at.isoformat()} for i in range(GOOD_SKUS)]
    workers = Workers(env, tmp_path, n=1)
    try:
        for start in range(0, BAD_EVENTS, 10):  # the bad SKU's events first, in six requests
            answer = client.post("/api/v1/events", json=bad[start:start + 10], headers=headers)
            assert answer.status_code == 200 and answer.json["accepted"] == 10, answer.json
        posted = time.monotonic()
        for event in good:  # then each other SKU's, one request each
            assert client.post("/api/v1/events", json=event, headers=headers).status_code == 200
        assert drained(services, timeout=240), stuck(services, tmp_path)
        took = time.monotonic() - posted
        alive = [p.poll() is None for p in workers.procs]
    finally:
        workers.stop()

    with services.db.connect() as conn:
        unapplied = conn.execute(select(func.count()).select_from(stock_events)
                                 .where(stock_events.c.applied.is_(False))).scalar_one()
        low = conn.execute(select(skus.c.code).join(alerts, alerts.c.sku_id == skus.c.id)
                           .where(alerts.c.rule == "low").order_by(skus.c.code)).scalars().all()
        bombs = conn.execute(select(alerts.c.rule).where(alerts.c.rule != "low")).scalars().all()
        failures = dict(conn.execute(select(rule_failures.c.rule, rule_failures.c.count)
                                     .where(rule_failures.c.rule_version == version)).all())
        kinds = set(conn.execute(select(rule_failures.c.kind)).scalars())
        told = conn.execute(select(notifications.c.dedupe_key).order_by(
            notifications.c.dedupe_key)).scalars().all()
    REPORT.append(f"[{services.db.dialect.name}] 2 bad rules x {BAD_EVENTS} events on one SKU, "
                  f"then {GOOD_SKUS} other SKUs' events: all applied {took:.1f} s after they "
                  f"were posted; failures {failures}")
    assert unapplied == 0
    assert low == [f"G{i:02d}" for i in range(GOOD_SKUS)]  # every other SKU's alert
    assert bombs == []
    assert failures == {"cpu-bomb": BAD_EVENTS, "memory-bomb": BAD_EVENTS} and kinds == {"budget"}
    assert told == [f"rule-failure:{version}:cpu-bomb", f"rule-failure:{version}:memory-bomb"]
    assert alive == [True]  # never killed (out of memory), never restarted
    services.close()
