"""``supplier.*`` facts are filled as the fact catalogue promises (#17): a rule on the preferred
supplier's on-time rate or name fires, and the alert keeps what the condition saw."""

from __future__ import annotations

RULESET = """
ruleset: supplier-facts
sku_groups:
  - {id: all, name: 全部, where: {"==": [1, 1]}}
roles:
  - {id: buyer, name: 采购员, members: [root]}
rules:
  - id: unreliable-supplier
    name: 供应商准时率低
    group: all
    on: [sale]
    when: {"and": [{"!=": [{"var": "supplier.on_time_rate"}, null]},
                   {"<": [{"var": "supplier.on_time_rate"}, 0.9]},
                   {"==": [{"var": "supplier.name"}, "宁波慢供"]}]}
    severity: medium
    owner: buyer
"""


def test_a_rule_on_the_suppliers_on_time_rate_fires(client, admin_headers):
    h = admin_headers
    assert client.put("/api/v1/warehouses", json=[{"code": "WH-1", "name": "a"}], headers=h).status_code == 200
    r = client.put("/api/v1/suppliers", headers=h, json=[
        {"code": "SUP-SLOW", "name": "宁波慢供", "lead_time_days": 7, "on_time_rate": 0.8},
        {"code": "SUP-FAST", "name": "上海快供", "lead_time_days": 2, "on_time_rate": 0.99}])
    assert r.status_code == 200, r.json
    r = client.put("/api/v1/skus", headers=h, json=[
        {"code": "SKU-S", "name": "slow", "suppliers": [{"supplier": "SUP-SLOW", "preferred": True}]},
        {"code": "SKU-F", "name": "fast", "suppliers": [{"supplier": "SUP-FAST", "preferred": True}]}])
    assert r.status_code == 200, r.json
    r = client.put("/api/v1/ruleset", data=RULESET, headers={**h, "Content-Type": "application/yaml"})
    assert r.status_code in (200, 201), r.json
    events = [{"id": f"e-{sku}", "type": "sale", "sku": sku, "warehouse": "WH-1", "qty": 1,
               "at": "2026-11-20T08:00:00+08:00"} for sku in ("SKU-S", "SKU-F")]
    r = client.post("/api/v1/events", json=[
        {"id": f"r-{sku}", "type": "receipt", "sku": sku, "warehouse": "WH-1", "qty": 10,
         "at": "2026-11-19T08:00:00+08:00"} for sku in ("SKU-S", "SKU-F")] + events, headers=h)
    assert {x["status"] for x in r.json["results"]} == {"accepted"}
    alerts = client.get("/api/v1/alerts", headers=h).json
    items = alerts["items"] if isinstance(alerts, dict) else alerts
    assert [(a["rule"], a["sku"]) for a in items] == [("unreliable-supplier", "SKU-S")]
    supplier = items[0]["facts"]["supplier"]
    assert supplier["on_time_rate"] == 0.8 and supplier["name"] == "宁波慢供"
