"""Version changes as sentences (#17), matched by id, conditions as the editor's sentence."""

from __future__ import annotations

from engine.rules.changes import describe

OLD = {
    "ruleset": "r", "settings": {"service_level": 0.95},
    "roles": [{"id": "buyer", "name": "采购员", "escalate_to": "manager"}],
    "rules": [{"id": "low", "name": "库存低", "when": {"<": [{"var": "stock.available"}, 5]},
               "severity": "high", "owner": "buyer"},
              {"id": "gone", "name": "旧规则", "when": {"==": [1, 1]}}],
}


def test_each_change_is_one_sentence_in_either_language() -> None:
    new = {
        "ruleset": "r", "settings": {"service_level": 0.97},
        "roles": [{"id": "buyer", "name": "采购员", "escalate_to": "director"}],
        "rules": [{"id": "low", "name": "库存低", "when": {"<": [{"var": "stock.available"}, 3]},
                   "severity": "high", "owner": "manager"},
                  {"id": "new", "name": "新规则", "when": {"==": [1, 1]}}],
    }
    assert describe(OLD, new, "zh") == [
        "全局设置：service_level：0.95 → 0.97",
        "角色「采购员」（buyer）：升级给：manager → director",
        "规则「库存低」（low）：条件：可用库存 < 5 → 可用库存 < 3",
        "规则「库存低」（low）：负责角色：buyer → manager",
        "新增规则「新规则」（new）",
        "删除规则「旧规则」（gone）",
    ]
    assert describe(OLD, new, "en")[2] == (
        "rule '库存低' (low): condition: available < 5 → available < 3")


def test_a_moved_item_says_nothing_and_a_first_version_lists_what_it_adds() -> None:
    moved = dict(OLD, rules=list(reversed(OLD["rules"])))
    assert describe(OLD, moved) == []
    assert describe(None, OLD, "en") == ["ruleset name set to r",
                                         "settings: service_level set to 0.95",
                                         "role '采购员' (buyer) added",
                                         "rule '库存低' (low) added", "rule '旧规则' (gone) added"]


def test_an_action_s_change_is_said_field_by_field_not_as_data() -> None:
    task = {"create_task": {"title": "补货 {{ sku.code }}", "workflow": "replenishment"}}
    rule = {"id": "low", "name": "库存低", "when": {"==": [1, 1]},
            "actions": [task, {"notify": {"to": "owner", "channels": ["email"]}}]}
    digest = {**rule, "actions": [task, {"notify": {"to": "owner", "channels": ["email"],
                                                    "digest": "daily"}}]}
    assert describe({"rules": [rule]}, {"rules": [digest]}, "zh") == [
        "规则「库存低」（low）：动作 2（发送通知）：摘要 设为 每日"]
    assert describe({"rules": [rule]}, {"rules": [digest]}, "en") == [
        "rule '库存低' (low): action 2 (send a notice): digest set to daily"]
    fewer = {**rule, "actions": [task]}
    [removed] = describe({"rules": [rule]}, {"rules": [fewer]}, "zh")
    assert removed.startswith("规则「库存低」（low）：动作 2（发送通知） 已移除")
