"""An alert's explanation for people: conditions as sentences, formulas with their numbers."""

from __future__ import annotations

from typing import Any

import pytest

from admin.web import explain
from admin.web.i18n import field_message

FACTS: dict[str, Any] = {
    "stock": {"on_hand": 20, "reserved": 5, "available": 15, "on_order": 0,
              "inventory_position": 15},
    "metrics": {"avg_daily_demand": 10, "demand_std": 0, "lead_time_days": 4,
                "lead_time_std": 1, "safety_stock": 16.448536, "reorder_point": 56.448536,
                "max_stock": 126.448536, "days_of_cover": 1.5},
    "params": {"service_level": 0.95, "review_period_days": 7, "min_cover": 3},
    "sku": {"tags": ["seasonal"], "abc_class": "A"},
}


@pytest.fixture
def english(app: Any) -> Any:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def chinese(app: Any) -> Any:
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        yield


def test_the_spec_formulas_are_written_out_with_their_numbers(chinese) -> None:
    lines = explain.formulas(FACTS)
    assert "可用库存 = 现有库存 − 已预留 = 20 − 5 = 15" in lines
    assert ("安全库存 = z(0.95)·√(LT·σd² + d²·σLT²) = 1.645·√(4·0² + 10²·1²) = 16.45"
            in lines)
    assert "再订货点 = d·LT + 安全库存 = 10·4 + 16.45 = 56.45" in lines
    assert "最高库存 = 再订货点 + d·盘点周期(天) = 56.45 + 10·7 = 126.45" in lines
    assert "可售天数 = 可用库存 ÷ d = 15 ÷ 10 = 1.5" in lines


def test_formulas_need_their_inputs(english) -> None:
    assert explain.formulas({"stock": {"on_hand": 1}}) == []
    partial = explain.formulas({"metrics": FACTS["metrics"], "params": {"service_level": 1.0}})
    assert not any("safety stock" in line for line in partial)  # no z for a 100 % level


def test_conditions_read_as_sentences_with_names_then_numbers(english) -> None:
    when = {"and": [
        {"<": [{"var": "stock.available"}, {"var": "metrics.reorder_point"}]},
        {"or": [{"in": ["seasonal", {"var": "sku.tags"}]},
                {"<": [{"var": ["metrics.days_of_cover", 9999]},
                       {"*": [{"var": "params.min_cover"}, 2]}]}]},
        {"!": [{"==": [{"var": "sku.abc_class"}, "C"]}]},
    ]}
    assert explain.condition(when, FACTS) == (
        "(available < reorder point) and ((\"seasonal\" ∈ tags) or (days of cover "
        "(when empty: 9,999) < (min_cover × 2))) and not (ABC class = \"C\")")
    assert explain.condition(when, FACTS, values=True) == (
        "(15 < 56.45) and ((\"seasonal\" ∈ seasonal) or (1.5 < (3 × 2))) and not (A = \"C\")")
    missing = {"<": [{"var": ["metrics.days_since_last_sale", 0]}, 5]}
    assert explain.condition(missing, FACTS, values=True) == "0 < 5"  # the default applies
    assert explain.condition({"max": [0, {"var": "stock.available"}]}, FACTS) == "max(0, available)"


def test_the_facts_are_labelled_in_the_viewers_language(chinese) -> None:
    sections = {s["title"]: dict(s["rows"]) for s in explain.fact_sections(FACTS)}
    assert sections["库存"]["可用库存"] == "15"
    assert sections["参数"]["min_cover"] == "3"  # an admin's own parameter keeps its name
    assert sections["需求与补货"]["安全库存"] == "16.45"


def test_form_messages_are_translated_without_the_label(chinese) -> None:
    assert field_message("'处理结果' is required") == "此项为必填项。"
    assert field_message("'数量' must be at least 0") == "请输入不小于 0 的数字。"
    assert field_message("'数量' must be between 1 and 5") == "请输入 1 到 5 之间的数字。"
    assert field_message("'备注' must be at most 500 characters long") == "最多 500 个字符。"
    assert field_message("'结果' must be one of a, b") == "请从以下选项中选择：a, b。"
    assert field_message("something else entirely") == "something else entirely"


def test_a_forecast_group_s_working_is_written_out(english) -> None:
    # seasonal forecast, 5-day lead time (σLT 1), 90 units over it, 70 over the review period,
    # a 98 % fill rate: σ = √(5·2² + 18²·1²) = √344 = 18.547; L(z) = 0.02·70/18.547 = 0.0755
    facts = {
        "stock": {"on_hand": 20, "reserved": 0, "available": 20},
        "metrics": {"avg_daily_demand": 10, "demand_std": 2, "lead_time_days": 5,
                    "lead_time_std": 1, "safety_stock": 19.3, "reorder_point": 109.3,
                    "max_stock": 179.3},
        "forecast": {"daily": 10, "lead_time_demand": 90, "review_demand": 70, "error_std": 2,
                     "safety_factor": 1.0406, "method": "seasonal"},
        "params": {"service_level": 0.95, "fill_rate": 0.98, "review_period_days": 7},
    }
    lines = explain.formulas(facts)
    assert any(line.startswith("forecast demand over the lead time = Σ") and "(seasonal, LT = 5)"
               in line and line.endswith("= 90") for line in lines), lines
    assert "σ = √(LT·σe² + (D/LT)²·σLT²) = √(5·2² + 18²·1²) = 18.55" in lines
    assert "z: L(z) = (1 − β)·Q/σ = (1 − 0.98)·70/18.55 = 0.0755 → z = 1.041" in lines
    assert ("reorder point = forecast demand over the lead time + safety stock = 90 + 19.3 = 109.3"
            in lines)


def test_coded_values_and_the_settings_read_by_their_labels_in_chinese(chinese) -> None:
    from admin.web.task_view import answer_rows
    sections = explain.fact_sections({
        "event": {"type": "sale"}, "forecast": {"method": "mean"},
        "supplier": {"lead_time_source": "master"},
        "params": {"ordering_cost": 80, "holding_cost_rate": 0.2, "critical_cover_days": 3,
                   "timezone": "Asia/Shanghai"}})
    rows = dict(r for s in sections for r in s["rows"])
    assert rows["事件类型"] == "销售" and rows["预测方法"] != "mean"
    assert rows["提前期来源"] != "master"
    assert "ordering_cost" not in rows and "holding_cost_rate" not in rows
    assert rows["时区"] == "Asia/Shanghai"
    assert rows["critical_cover_days"] == "3"  # an admin's own parameter, as written
    assert ("原因", "已逾期") in answer_rows(None, {"reason": "overdue"})
