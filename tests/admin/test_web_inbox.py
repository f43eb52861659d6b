"""The task inbox pages: whose tasks, in which order, the explanation, the chart, the forms."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.admin.web_seed import login, post_form, seed_with_client, task_id

LOW_1, LOW_2, OUT_2 = "补货 SKU-1 @ WH-1", "补货 SKU-2 @ WH-1", "缺货 SKU-2"


@pytest.fixture
def seeded(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    return client


def titles(page: Any) -> list[str]:
    return re.findall(r'class="task-link">([^<]+)<', page.get_data(as_text=True))


def test_the_inbox_lists_my_roles_tasks_most_severe_then_soonest_due(seeded) -> None:
    login(seeded, "alice")
    page = seeded.get("/tasks")
    assert page.status_code == 200
    # critical first; SKU-2's low-stock task is the same SKU×warehouse: linked under it
    assert titles(page) == [OUT_2, LOW_1]
    html = page.get_data(as_text=True)
    assert re.search(r'class="chip-link"[^>]*>.*库存偏低 #\d+</a>', html)
    assert "2 个 SKU × 仓库事项" in html
    # every task on its own row: the high ones by due time (SKU-2's an hour before SKU-1's)
    assert titles(seeded.get("/tasks?each=1")) == [OUT_2, LOW_2, LOW_1]
    overdue_rows = re.findall(r'<tr class="row-overdue[^"]*" data-task="(\d+)"', html)
    assert len(overdue_rows) == 1  # the out-of-stock task was due at 07:00; it is 08:00
    assert html.count('class="badge badge-overdue"') == 1
    assert titles(seeded.get("/tasks?show=closed")) == []
    assert titles(seeded.get("/tasks?role=buyer&show=all")) == [OUT_2, LOW_2, LOW_1]


def test_users_see_only_their_roles_tasks_and_the_admin_sees_all(seeded) -> None:
    login(seeded, "dave")  # sales: nothing of the buyer's
    page = seeded.get("/tasks")
    assert titles(page) == [] and "暂无待办" in page.get_data(as_text=True)
    assert titles(seeded.get("/tasks?role=buyer")) == []  # not one of dave's roles: ignored
    post_form(seeded, "/", "/logout")
    login(seeded, "root")
    assert titles(seeded.get("/tasks?each=1")) == [OUT_2, LOW_2, LOW_1]
    assert titles(seeded.get("/tasks?role=sales")) == []


def test_a_task_page_explains_the_alert_with_its_numbers(seeded, services) -> None:
    login(seeded, "alice")
    task = task_id(services, LOW_1)
    html = seeded.get(f"/tasks/{task}").get_data(as_text=True)
    assert "库存偏低" in html and "low-stock" in html
    assert '<code id="condition-text">可用库存 &lt; 20</code>' in html
    assert '<code id="condition-values">13 &lt; 20</code>' in html
    # 30 days of 8/day in a 28-day window: d = 8, σd = 0 ... plus the 55 sold today
    assert re.search(r"安全库存 = z\(0\.95\)·√\(LT·σd² \+ d²·σLT²\) = 1\.645·√\(4·[\d.]+² \+ "
                     r"[\d.]+²·1²\) = [\d.]+", html)
    assert re.search(r"再订货点 = d·LT \+ 安全库存 = [\d.]+·4 \+ [\d.]+ = [\d.]+", html)
    assert "可用库存 = 现有库存 − 已预留 = 13 − 0 = 13" in html
    assert "<caption>库存</caption>" in html and "<caption>需求与补货</caption>" in html
    assert f'id="stock-chart" data-src="/tasks/{task}/chart.json"' in html
    assert "开始处理" in html and "完成" in html and "取消" not in html  # alice is no manager
    english = seeded.get(f"/tasks/{task}", headers={"Accept-Language": "en"})
    text = english.get_data(as_text=True)
    assert "available &lt; 20" in text and "safety stock = z(0.95)" in text


def test_the_chart_data_has_the_stock_after_each_event_and_the_daily_demand(
        seeded, services) -> None:
    login(seeded, "alice")
    data = seeded.get(f"/tasks/{task_id(services, LOW_1)}/chart.json").json
    stock = data["stock"]
    assert stock[0]["x"] == data["start"] and stock[0]["on_hand"] == 0  # nothing known yet
    assert [p["on_hand"] for p in stock[1:5]] == [300, 292, 284, 276]  # a count, then sales
    assert stock[-1]["x"] == data["end"] and stock[-1]["on_hand"] == 13  # the level now
    assert len(data["demand"]) == 90
    assert sum(d["y"] for d in data["demand"]) == 29 * 8 + 55
    assert data["reorder_point"] > 13 and data["timezone"] == "Asia/Shanghai"
    assert data["alert"] == {"x": stock[-2]["x"], "y": 13}  # raised by the last sale
    assert data["labels"]["demand"] == "每日需求"


def test_an_empty_form_shows_the_error_next_to_its_field_and_changes_nothing(
        seeded, services) -> None:
    login(seeded, "alice")
    task = task_id(services, LOW_1)
    answer = post_form(seeded, f"/tasks/{task}", f"/tasks/{task}/transitions/resolve",
                       {"quantity": "-3", "note": ""})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    outcome = re.search(r'<div class="field has-error" id="field-resolve-outcome".*?</div>',
                        html, re.S)
    assert outcome and "此项为必填项。" in outcome.group(0)
    quantity = re.search(r'id="field-resolve-quantity".*?</div>', html, re.S)
    assert quantity and "请输入不小于 0 的数字。" in quantity.group(0)
    assert 'value="-3"' in quantity.group(0)  # what was typed is kept
    assert '<details class="transition" id="transition-resolve" open>' in html
    page = seeded.get(f"/tasks/{task}").get_data(as_text=True)
    assert 'id="task-state">待处理<' in page


def test_a_filled_form_moves_the_task_and_records_the_answers(seeded, services) -> None:
    login(seeded, "alice")
    task = task_id(services, LOW_1)
    answer = post_form(seeded, f"/tasks/{task}", f"/tasks/{task}/transitions/resolve",
                       {"outcome": "replenished", "quantity": "100", "eta": "2026-11-25",
                        "confirmed": "on", "note": "已下单"})
    # closed: on to the next open task of the inbox (the out-of-stock one, most severe)
    following = task_id(services, OUT_2)
    assert (answer.status_code, answer.headers["Location"]) == (303, f"/tasks/{following}")
    assert "已保存，待办已进入下一步。" in seeded.get(f"/tasks/{following}").get_data(as_text=True)
    html = seeded.get(f"/tasks/{task}").get_data(as_text=True)
    assert 'id="task-state">已完成<' in html and "此待办已关闭。" in html
    assert "完成</strong> · alice" in html and "已补货" in html and ">replenished<" not in html
    assert titles(seeded.get("/tasks?show=closed")) == [LOW_1]


def test_htmx_gets_the_form_back_with_errors_or_a_redirect_when_done(seeded, services) -> None:
    login(seeded, "alice")
    task = task_id(services, LOW_2)
    path = f"/tasks/{task}/transitions/resolve"
    bad = post_form(seeded, f"/tasks/{task}", path, {}, headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "此项为必填项。" in bad.get_data(as_text=True)
    good = post_form(seeded, f"/tasks/{task}", path, {"outcome": "transferred"},
                     headers={"HX-Request": "true"})
    following = task_id(services, OUT_2)  # closed: on to the next open task
    assert good.status_code == 200 and good.headers["HX-Redirect"] == f"/tasks/{following}"


def test_a_step_from_the_wrong_state_is_explained_not_taken(seeded, services) -> None:
    login(seeded, "alice")
    task = task_id(services, LOW_2)
    start = f"/tasks/{task}/transitions/start"
    assert post_form(seeded, f"/tasks/{task}", start).status_code == 303
    again = post_form(seeded, f"/tasks/{task}", start)
    assert again.status_code == 303
    html = seeded.get(f"/tasks/{task}").get_data(as_text=True)
    assert "不能执行此步骤" in html and 'id="task-state">处理中<' in html


def test_tasks_outside_my_workflow_do_not_exist_for_me(seeded, services) -> None:
    task = task_id(services, LOW_1)
    login(seeded, "dave")
    assert seeded.get(f"/tasks/{task}").status_code == 404
    assert seeded.get(f"/tasks/{task}/chart.json").status_code == 404
    forged = post_form(seeded, "/tasks", f"/tasks/{task}/transitions/start")
    assert forged.status_code == 404
    post_form(seeded, "/", "/logout")
    login(seeded, "carol")  # the manager may cancel a buyer's task, so she can open it
    html = seeded.get(f"/tasks/{task}").get_data(as_text=True)
    assert "取消" in html and "开始处理" not in html
    refused = post_form(seeded, f"/tasks/{task}", f"/tasks/{task}/transitions/start")
    assert refused.status_code == 403
    assert seeded.get("/tasks/9999").status_code == 404
