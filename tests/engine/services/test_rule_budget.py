"""A rule over its budget at run time (issue #13): skipped for that event, every other rule and
SKU carries on, the failure is counted per rule and version and shown to admins (a notification
and the Rules page). The bad rule's version is stored as an old version would be, bypassing
today's validation, which refuses it (``unchecked_version``)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select

from engine.services import rulesets
from engine.storage.tables import alerts, notifications, rule_failures, ruleset_versions
from tests.admin.web_seed import login
from tests.engine.rules.test_jsonlogic_budget import BOMBS

BOMB = BOMBS["nested some"]
RULES = f"""\
ruleset: budget
sku_groups:
  - {{id: bad-skus, where: {{"in": ["bad", {{"var": "sku.tags"}}]}}}}
roles: [{{id: buyer, members: [alice]}}]
rules:
  - id: bomb
    group: bad-skus
    owner: buyer
    when: {json.dumps(BOMB)}
  - id: low
    owner: buyer
    when: {{"<": [{{"var": "stock.available"}}, 10]}}
"""


def unchecked_version(services: Any, text: str, now: Any) -> int:
    """Store and activate a version without validating it, as a version saved before today's
    checks was stored."""
    with services.uow() as uow:
        number = (uow.conn.execute(select(func.max(ruleset_versions.c.number))).scalar() or 0) + 1
        uow.conn.execute(insert(ruleset_versions).values(
            number=number, name="budget", author="old", created_at=now, format="yaml", text=text,
            comment="", checksum=hashlib.sha256(text.encode()).hexdigest()))
        rulesets.activate(uow.conn, number, "old", now)
        uow.commit()
    return number


def seed(client: Any, headers: dict[str, str]) -> None:
    assert client.put("/api/v1/warehouses", headers=headers,
                      json=[{"code": "W", "name": "w"}]).status_code == 200
    assert client.put("/api/v1/skus", headers=headers, json=[
        {"code": "BAD", "name": "bad", "tags": ["bad"]},
        {"code": "GOOD", "name": "good"}]).status_code == 200


def test_a_rule_over_its_budget_is_skipped_and_the_others_go_on(client, admin_headers, services,
                                                                 clock) -> None:
    seed(client, admin_headers)
    answer = client.put("/api/v1/ruleset", data=RULES, content_type="application/yaml",
                        headers=admin_headers)
    assert answer.status_code == 422  # today's validation refuses the bomb
    assert [e["code"] for e in answer.json["errors"]] == ["too_costly"]
    version = unchecked_version(services, RULES, clock.now())
    at = (clock.now() - timedelta(minutes=5)).isoformat()
    events = [{"id": f"{sku}-{i}", "type": "count", "sku": sku, "warehouse": "W", "qty": 3 + i,
               "at": at} for i in range(3) for sku in ("BAD", "GOOD")]
    answer = client.post("/api/v1/events", json=events, headers=admin_headers)
    assert answer.status_code == 200 and answer.json["accepted"] == 6, answer.json
    with services.db.connect() as conn:
        opened = sorted(conn.execute(select(alerts.c.rule, alerts.c.sku_id)).all())
        failures = conn.execute(select(rule_failures)).all()
        notes = conn.execute(select(notifications.c.dedupe_key, notifications.c.recipients,
                                    notifications.c.subject)).all()
    assert [rule for rule, _ in opened] == ["low", "low"]  # both SKUs: the bad one's too
    assert [(f.rule, f.rule_version, f.kind, f.count, f.last_event_id) for f in failures] == [
        ("bomb", version, "budget", 3, "BAD-2")]
    assert "steps one evaluation may take" in failures[0].message
    assert [(n.dedupe_key, n.recipients) for n in notes] == [(f"rule-failure:{version}:bomb",
                                                              ["root"])]
    assert "exceeded its budget" in notes[0].subject
    more = [dict(e, id=e["id"] + "-again") for e in events]
    assert client.post("/api/v1/events", json=more, headers=admin_headers).status_code == 200
    with services.db.connect() as conn:
        assert conn.execute(select(rule_failures.c.count)).scalar_one() == 6
        assert conn.execute(select(func.count()).select_from(notifications)).scalar_one() == 1

    login(client, "root")
    page = client.get("/admin", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="rule-failures"' in html
    assert 'class="small rule-failure" data-kind="budget"' in html
    assert "Skipped on 6 events" in html and "last on BAD @ W" in html


def test_a_quantity_formula_over_its_budget_skips_the_requisition_only(
        client, admin_headers, services, clock) -> None:
    seed(client, admin_headers)
    text = f"""\
ruleset: budget
roles: [{{id: buyer, members: [alice]}}]
rules:
  - id: low
    owner: buyer
    when: {{"<": [{{"var": "stock.available"}}, 10]}}
    actions:
      - create_requisition: {{quantity: {{"if": [{json.dumps(BOMB)}, 1, 2]}}}}
"""
    answer = client.put("/api/v1/ruleset", data=text, content_type="application/yaml",
                        headers=admin_headers)
    assert answer.status_code == 422
    assert [e["code"] for e in answer.json["errors"]] == ["too_costly"]
    unchecked_version(services, text, clock.now())
    event = {"id": "g", "type": "count", "sku": "GOOD", "warehouse": "W", "qty": 3,
             "at": (clock.now() - timedelta(minutes=5)).isoformat()}
    answer = client.post("/api/v1/events", json=event, headers=admin_headers)
    assert answer.status_code == 200 and answer.json["accepted"] == 1, answer.json
    with services.db.connect() as conn:
        (facts,) = conn.execute(select(alerts.c.facts)).scalars().all()
    (skipped,) = facts["actions"]
    assert "the quantity expression failed: BudgetExceeded" in skipped["skipped"]
