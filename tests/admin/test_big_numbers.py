"""A 5,000-digit integer, in every entry point that takes numbers (issue #13): a located 422 (or
a located problem), never a 500 or a traceback. Python refuses to read an integer of more than
4,300 digits (ValueError) and a float cannot hold one of more than 308."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.admin.test_web_rules import admin, form_of  # noqa: F401 - the signed-in admin fixture

BIG = "1" * 5000
MID = "9" * 4000  # readable by Python, but no float holds it
YAML_DOC = f"""\
ruleset: big
settings: {{demand_window_days: {BIG}}}
roles: [{{id: buyer, members: [alice]}}]
rules:
  - id: r
    when: {{"<": [{{"var": "stock.available"}}, {BIG}]}}
    owner: buyer
"""
JSON_DOC = ('{"ruleset": "big", "roles": [{"id": "buyer", "members": ["alice"]}],\n'
            ' "rules": [{"id": "r", "owner": "buyer",\n'
            '            "when": {"<": [{"var": "stock.available"}, ' + BIG + ']}}]}')
DIGITS = "numbers in a rule document have at most 15"


def _errors(answer: Any) -> list[tuple[str, Any]]:
    return [(e["path"], e["line"]) for e in answer.json["errors"] if DIGITS in e["message"]]


@pytest.mark.parametrize("content_type, text, expected", [
    ("application/yaml", YAML_DOC, [("settings.demand_window_days", 2), ('rules[0].when["<"][1]', 6)]),
    ("application/json", JSON_DOC, [('rules[0].when["<"][1]', 3)]),
])
def test_the_api_answers_422_naming_the_field(client, admin_headers, content_type, text,
                                               expected) -> None:
    headers = dict(admin_headers, **{"Content-Type": content_type})
    answer = client.put("/api/v1/ruleset", data=text, headers=headers)
    assert answer.status_code == 422, answer.json
    assert _errors(answer) == expected
    answer = client.post("/api/v1/ruleset/validate", data=text, headers=headers)
    assert answer.status_code == 200 and answer.json["valid"] is False
    assert _errors(answer) == expected
    near = text.replace(BIG, "1" * 16)  # one digit too many: the same answer
    assert client.put("/api/v1/ruleset", data=near, headers=headers).status_code == 422


def test_a_huge_revision_is_refused_not_crashed(client, admin_headers) -> None:
    headers = dict(admin_headers, **{"Content-Type": "application/yaml", "If-Match": BIG})
    answer = client.put("/api/v1/ruleset", data="ruleset: x\n", headers=headers)
    assert answer.status_code == 422 and answer.json["errors"][0]["field"] == "If-Match"
    answer = client.post(f"/api/v1/ruleset/versions/{BIG}/activate", headers=admin_headers)
    assert answer.status_code in (404, 422)


def test_the_advanced_page_shows_the_line(admin) -> None:
    page = admin.get("/admin/advanced")
    answer = admin.post("/admin/advanced", data={**form_of(page), "text": YAML_DOC})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert 'data-goto-line="2"' in html and 'data-goto-line="6"' in html
    answer = admin.post("/admin/advanced", data={**form_of(page), "text": YAML_DOC,
                                                 "revision": BIG})
    assert answer.status_code in (200, 409)


def test_the_cli_reports_the_line(runner, tmp_path: Path) -> None:
    for name, text in (("big.yaml", YAML_DOC), ("big.json", JSON_DOC)):
        path = tmp_path / name
        path.write_text(text)
        for command in ("validate", "load"):
            result = runner.invoke(args=["ruleset", command, str(path)])
            assert result.exit_code == 1, result.output
            assert result.exception is None or isinstance(result.exception, SystemExit)
            assert DIGITS in result.output and f"{name}:" in result.output


@pytest.mark.parametrize("path, row, field", [
    ("/api/v1/skus", '{"code": "A", "name": "a", "unit_cost": %s}', "[0].unit_cost"),
    ("/api/v1/skus", '{"code": "A", "name": "a", "attributes": {"n": %s}}', "[0].attributes.n"),
    ("/api/v1/suppliers", '{"code": "S", "name": "s", "lead_time_days": %s}', "[0].lead_time_days"),
    ("/api/v1/warehouses", '{"code": "W", "name": "%s"}', None),
])
def test_master_data_refuses_the_number_where_it_is(client, admin_headers, path, row,
                                                    field) -> None:
    headers = dict(admin_headers, **{"Content-Type": "application/json"})
    for number in (BIG, MID):
        answer = client.put(path, data="[" + row % number + "]", headers=headers)
        if field is None:  # digits in text are text
            assert answer.status_code == 422 and answer.json["errors"][0]["field"] == "name"
            continue
        assert answer.status_code == 422, answer.json
        assert answer.json["errors"][0]["path"] == field
        assert "digits" in answer.json["errors"][0]["message"]


def test_an_event_with_a_huge_quantity_is_refused_where_it_is(client, admin_headers) -> None:
    headers = dict(admin_headers, **{"Content-Type": "application/json"})
    for number in (BIG, MID):
        body = json.dumps([{"id": "e1", "type": "sale", "sku": "A", "warehouse": "W",
                            "at": "2026-11-20T08:00:00+08:00"}])[:-2] + f', "qty": {number}}}]'
        answer = client.post("/api/v1/events", data=body, headers=headers)
        assert answer.status_code == 422, answer.json
        assert answer.json["errors"][0]["path"] == "[0].qty"
