"""Bulk upserts of master data: validated per row, all-or-nothing, errors by row and field."""

from __future__ import annotations

SUPPLIER = {"code": "S1", "name": "s", "lead_time_days": 5}


def test_upsert_creates_then_updates(client, admin_headers):
    r = client.put("/api/v1/suppliers", json=[SUPPLIER], headers=admin_headers)
    assert r.json == {"created": 1, "updated": 0, "rows": 1}
    r = client.put("/api/v1/suppliers", json=[dict(SUPPLIER, moq=10)], headers=admin_headers)
    assert r.json == {"created": 0, "updated": 1, "rows": 1}
    assert client.get("/api/v1/suppliers", headers=admin_headers).json[0]["moq"] == 10


def test_one_bad_row_refuses_the_batch_and_reports_every_bad_row(client, admin_headers):
    rows = [
        {"code": "A", "name": "ok"},
        {"code": "B", "name": "bad", "unit_cost": "abc"},
        {"code": "C", "name": "ok too"},
        {"code": "D", "name": "bad", "threshold": 1, "abc_class": "Z"},
    ]
    r = client.put("/api/v1/skus", json=rows, headers=admin_headers)
    assert r.status_code == 422
    got = {(e["row"], e["field"]) for e in r.json["errors"]}
    assert got == {(1, "unit_cost"), (3, "threshold"), (3, "abc_class")}
    assert next(e for e in r.json["errors"] if e["row"] == 1)["message"] == "'unit_cost' must be a number"
    assert client.get("/api/v1/skus", headers=admin_headers).json == []


def test_sku_with_unknown_supplier_is_refused(client, admin_headers):
    r = client.put("/api/v1/skus", headers=admin_headers,
                   json=[{"code": "A", "name": "a", "suppliers": [{"supplier": "NOPE", "preferred": True}]}])
    assert r.status_code == 422
    assert r.json["errors"][0]["field"] == "suppliers.0.supplier"


def test_sku_supplier_links_round_trip(client, admin_headers):
    client.put("/api/v1/suppliers", json=[SUPPLIER, dict(SUPPLIER, code="S2")], headers=admin_headers)
    client.put("/api/v1/skus", headers=admin_headers, json=[{"code": "A", "name": "a", "suppliers": [
        {"supplier": "S1", "preferred": True, "price": 2.5}, {"supplier": "S2", "backup": True}]}])
    sku = client.get("/api/v1/skus", headers=admin_headers).json[0]
    assert {(s["supplier"], s["preferred"], s["backup"], s["price"]) for s in sku["suppliers"]} == {
        ("S1", True, False, 2.5), ("S2", False, True, None)}


def test_malformed_bodies(client, admin_headers):
    h = dict(admin_headers, **{"Content-Type": "application/json"})
    r = client.put("/api/v1/suppliers", data='[{"code": "S1", "code": "S2"}]', headers=h)
    assert r.status_code == 400 and "twice" in r.json["message"]
    r = client.put("/api/v1/suppliers", data='[{"code": "S1", "name": "s", "lead_time_days": NaN}]', headers=h)
    assert r.status_code == 400 and "NaN" in r.json["message"]
    r = client.put("/api/v1/suppliers", data="[{", headers=h)
    assert r.status_code == 400 and "line 1" in r.json["message"]
    r = client.put("/api/v1/suppliers", data="code=S1", headers=dict(admin_headers, **{"Content-Type": "text/plain"}))
    assert r.status_code == 415
    r = client.put("/api/v1/suppliers", json={"code": "S1"}, headers=admin_headers)
    assert r.status_code == 422 and "list" in r.json["errors"][0]["message"]
