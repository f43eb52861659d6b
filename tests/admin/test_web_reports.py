"""The handling report and the dashboard's trend (issue #18): figures for a chosen period, SVG
charts, an Excel workbook, and every number linking to the list behind it."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.admin.web_seed import login, post_form, seed_with_client, task_id


@pytest.fixture
def seeded(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    return client


def test_the_report_shows_handling_times_overdue_share_and_outcomes(seeded, services) -> None:
    login(seeded, "alice")
    task = task_id(services, "补货 SKU-1 @ WH-1")
    post_form(seeded, f"/tasks/{task}", f"/tasks/{task}/transitions/start")
    post_form(seeded, f"/tasks/{task}", f"/tasks/{task}/transitions/resolve",
              {"outcome": "replenished"})
    html = seeded.get("/reports").get_data(as_text=True)
    stats = re.search(r'id="report-stats".*?</section>', html, re.S).group(0)
    assert re.search(r'id="kpi-alerts".*?<span class="stat-value">3</span>', stats, re.S)
    assert "新建 3 个待办，已关闭 1 个" in stats
    assert re.search(r'id="kpi-ack".*?<span class="stat-value">1 h</span>.*?1 个预警', stats, re.S)
    # the out-of-stock task was due an hour ago: one of three past due
    assert re.search(r'id="kpi-overdue".*?<span class="stat-value">33 %</span>', stats, re.S)
    assert 'href="/tasks?overdue=1"' in stats
    chart = re.search(r'id="chart-rule".*?</section>', html, re.S).group(0)
    assert "<svg" in chart and "已完成 · 已补货: 1" in chart  # outcome by its label
    assert 'href="/tasks?show=all&amp;each=1&amp;rule=low-stock"' in chart
    days = re.search(r'id="chart-days".*?</section>', html, re.S).group(0)
    assert days.count("<rect") >= 30 and 'data-stockouts="1"' in days  # SKU-2 ran out


def test_the_period_is_chosen_and_exported_to_excel(seeded, clock) -> None:
    login(seeded, "carol")
    today = clock.now().date()
    empty = seeded.get("/reports?from=2020-01-01&to=2020-01-31").get_data(as_text=True)
    assert re.search(r'id="kpi-alerts".*?<span class="stat-value">0</span>', empty, re.S)
    assert "结束日期不是有效日期" in seeded.get("/reports?to=soon").get_data(as_text=True)
    book = load_workbook(io.BytesIO(seeded.get(
        f"/reports/export.xlsx?from={today.isoformat()}&to={today.isoformat()}").data))
    assert book.sheetnames == ["汇总", "按规则", "按角色", "按分组", "采购申请", "每日"]
    summary = {r[0]: r[1] for r in book["汇总"].iter_rows(values_only=True)}
    assert summary["新增预警"] == 3 and summary["新建待办"] == 3
    requisitions = list(book["采购申请"].iter_rows(min_row=2, values_only=True))
    assert sorted(requisitions) == [("已批准", 1, 50.0), ("待审批", 1, 200.0)]


def test_the_dashboard_has_a_trend_and_its_numbers_link_to_their_lists(seeded) -> None:
    login(seeded, "alice")
    html = seeded.get("/dashboard").get_data(as_text=True)
    trend = re.search(r'id="trend".*?</section>', html, re.S).group(0)
    assert trend.count("<a href=\"/reports?from=") == 14 and "<svg" in trend
    assert 'href="/tasks?overdue=1&amp;each=1" id="stat-overdue"' in html
    assert 'href="/requisitions?state=pending_approval" id="stat-requisitions"' in html
    assert re.search(r'href="/tasks\?q=SKU-2&amp;show=all&amp;each=1"', html)
    assert re.search(r'href="/tasks\?group=cheap&amp;severity=critical&amp;each=1"', html)
