"""The rule form offers issue #19: a transfer before buying, and a rule that alerts once per
group and warehouse (with a warning when its group holds no SKU)."""

from __future__ import annotations

import json

from tests.admin.test_web_rules import LOW_STOCK_WHEN, admin, document, field_block, rule_form

__all__ = ["admin"]  # the fixture


def test_a_transfer_before_buying_is_built_in_the_form_and_shown_again(admin, services) -> None:
    page = admin.get("/admin/rules/new")
    assert 'id="add-suggest_transfer"' in page.get_data(as_text=True)
    answer = admin.post("/admin/rules/new", data=rule_form(
        page, **{"a-3-kind": "suggest_transfer", "a-3-sources": "WH-1, WH-9",
                 "a-3-regions": "east", "a-3-min_cover_days": "45", "a-3-ship": "sales",
                 "a-3-receive": ""}))
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    rule = document(services)["rules"][-1]
    assert rule["actions"][1] == {"suggest_transfer": {
        "sources": ["WH-1", "WH-9"], "regions": ["east"], "min_cover_days": 45,
        "ship": "sales"}}
    assert [next(iter(a)) for a in rule["actions"]] == [
        "create_task", "suggest_transfer", "create_requisition"]
    edit = admin.get(f"/admin/rules/{rule['id']}/edit").get_data(as_text=True)
    block = field_block(edit, "actions.1.sources")
    assert 'value="WH-1, WH-9"' in block
    assert 'value="45"' in field_block(edit, "actions.1.min_cover_days")


def test_a_group_rule_is_built_in_the_form_and_warns_when_its_group_is_empty(
        admin, services) -> None:
    page = admin.get("/admin/rules/new")
    when = {">": [{"var": "group.below_reorder_point"}, 5]}
    data = rule_form(page, group_mode="pick", groups="cheap", per="group_warehouse",
                     when=json.dumps(when))
    del data["a-5-kind"]  # a group rule takes no requisition
    answer = admin.post("/admin/rules/new", data=data)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    rule = document(services)["rules"][-1]
    assert (rule["group"], rule["per"], rule["when"]) == ("cheap", "group_warehouse", when)
    listing = admin.get("/admin").get_data(as_text=True)
    assert "holds no SKU" not in listing  # SKU-2 costs 0.5: the group is not empty


def test_a_requisition_in_a_group_rule_is_shown_at_its_action(admin) -> None:
    page = admin.get("/admin/rules/new")
    answer = admin.post("/admin/rules/new", data=rule_form(
        page, group_mode="pick", groups="cheap", per="group_warehouse",
        when=json.dumps(LOW_STOCK_WHEN)))
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "create_task or notify" in field_block(html, "actions.1")
