"""REST /api/v1/ruleset: replace, refuse with located errors, versions, rollback, concurrency."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = (REPO / "configs" / "retail-default.yaml").read_text(encoding="utf-8")
BROKEN = EXAMPLE.replace("group: fast-movers", "group: fast-mover").replace(
    '{"var": "stock.available"}', '{"var": "stock.avalable"}')


def put(client, headers, text, ctype="application/yaml", **extra):  # type: ignore[no-untyped-def]
    return client.put("/api/v1/ruleset", data=text, content_type=ctype, headers={**headers, **extra})


def test_put_yaml_creates_version_and_get_returns_it(client, admin_headers):
    r = put(client, admin_headers, EXAMPLE)
    assert r.status_code == 200 and r.json == {"version": 1, "revision": 1}
    got = client.get("/api/v1/ruleset", headers=admin_headers).json
    assert got["version"] == 1 and got["name"] == "retail-default" and got["text"] == EXAMPLE
    assert got["document"]["rules"][0]["id"] == "fast-below-rop"


def test_put_json_is_accepted(client, admin_headers):
    data = yaml.safe_load(EXAMPLE)
    for rule in data["rules"]:  # PyYAML reads the key `on` as True (YAML 1.1); ours does not
        rule["on"] = rule.pop(True)
    doc = json.dumps(data, ensure_ascii=False)
    r = put(client, admin_headers, doc, "application/json")
    assert r.status_code == 200, r.json


def test_invalid_document_is_refused_with_every_problem_located_and_changes_nothing(client, admin_headers):
    put(client, admin_headers, EXAMPLE)
    r = put(client, admin_headers, BROKEN)
    assert r.status_code == 422
    errors = {e["path"]: e for e in r.json["errors"]}
    assert "did you mean 'fast-movers'" in errors["rules[0].group"]["message"]
    assert errors["rules[0].group"]["line"] == BROKEN.splitlines().index(
        next(line for line in BROKEN.splitlines() if "group: fast-mover" in line)) + 1
    assert any("stock.available" in e["message"] for e in r.json["errors"])
    versions = client.get("/api/v1/ruleset/versions", headers=admin_headers).json
    assert [v["number"] for v in versions] == [1]
    assert client.get("/api/v1/ruleset", headers=admin_headers).json["version"] == 1


def test_yaml_tags_and_aliases_are_refused(client, admin_headers):
    r = put(client, admin_headers, "ruleset: x\nrules: !!python/object/apply:os.system ['id']\n")
    assert r.status_code == 422 and r.json["errors"][0]["code"] == "yaml_forbidden_tag"
    r = put(client, admin_headers, "a: &a [1]\nruleset: *a\n")
    assert r.status_code == 422 and r.json["errors"][0]["code"] == "yaml_alias_forbidden"


def test_oversize_document_is_413(client, admin_headers):
    r = put(client, admin_headers, "ruleset: x\n# " + "x" * 300_000 + "\n")
    assert r.status_code == 413 and "256 KiB" in r.json["errors"][0]["message"]


def test_validate_does_not_save_and_reports_matching_skus(client, admin_headers):
    client.put("/api/v1/warehouses", json=[{"code": "W1", "name": "w"}], headers=admin_headers)
    client.put("/api/v1/skus", headers=admin_headers, json=[
        {"code": "A1", "name": "a", "abc_class": "A"}, {"code": "C1", "name": "c", "abc_class": "C",
                                                        "tags": ["seasonal"]}])
    r = client.post("/api/v1/ruleset/validate", data=EXAMPLE, content_type="application/yaml",
                    headers=admin_headers)
    assert r.status_code == 200 and r.json["valid"] is True
    assert r.json["groups"]["fast-movers"] == {"count": 1, "skus": ["A1"]}
    assert r.json["groups"]["seasonal"]["skus"] == ["C1"]
    assert r.json["rules"]["fast-below-rop"]["skus"] == ["A1"]
    bad = client.post("/api/v1/ruleset/validate", data=BROKEN, content_type="application/yaml",
                      headers=admin_headers).json
    assert bad["valid"] is False and bad["errors"]
    assert client.get("/api/v1/ruleset/versions", headers=admin_headers).json == []


def test_rollback_to_an_earlier_version_and_diff(client, admin_headers):
    put(client, admin_headers, EXAMPLE)
    put(client, admin_headers, EXAMPLE.replace("severity: high", "severity: critical"))
    r = client.post("/api/v1/ruleset/versions/1/activate", headers=admin_headers)
    assert r.status_code == 200 and r.json["version"] == 1
    assert client.get("/api/v1/ruleset", headers=admin_headers).json["version"] == 1
    versions = client.get("/api/v1/ruleset/versions", headers=admin_headers).json
    assert [(v["number"], v["active"]) for v in versions] == [(2, False), (1, True)]
    assert all(v["author"] == "root" for v in versions)
    diff = client.get("/api/v1/ruleset/versions/2?diff=1", headers=admin_headers).json["diff"]
    assert "-    severity: high" in diff and "+    severity: critical" in diff
    assert client.post("/api/v1/ruleset/versions/9/activate", headers=admin_headers).status_code == 404


def test_stale_if_match_gets_409_and_changes_nothing(client, admin_headers):
    put(client, admin_headers, EXAMPLE)
    assert put(client, admin_headers, EXAMPLE, **{"If-Match": "1"}).status_code == 200
    r = put(client, admin_headers, EXAMPLE, **{"If-Match": "1"})
    assert r.status_code == 409 and "reload" in r.json["message"]
    assert len(client.get("/api/v1/ruleset/versions", headers=admin_headers).json) == 2


def test_roles_no_token_401_non_admin_403(client, admin_headers, user_headers):
    assert client.get("/api/v1/ruleset").status_code == 401
    assert client.get("/api/v1/ruleset", headers={"Authorization": "Bearer sw_nope"}).status_code == 401
    assert put(client, user_headers, EXAMPLE).status_code == 403
    assert client.post("/api/v1/ruleset/versions/1/activate", headers=user_headers).status_code == 403
    assert client.get("/api/v1/ruleset", headers=user_headers).status_code == 200
    assert client.put("/api/v1/skus", json=[], headers=user_headers).status_code == 403


def test_openapi_document_describes_the_api(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/ruleset", "/api/v1/ruleset/validate", "/api/v1/ruleset/versions",
                 "/api/v1/ruleset/versions/{number}/activate", "/api/v1/skus", "/api/v1/warehouses",
                 "/api/v1/suppliers", "/api/v1/events"):
        assert path in spec["paths"], path
    assert "Sku" in spec["components"]["schemas"] or "SkuSchema" in str(spec["components"]["schemas"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
