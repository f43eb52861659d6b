"""The requisitions page: amounts, approval by role only, ordering with the ERP's reference."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.admin.web_seed import login, post_form, requisition_id, seed_with_client


@pytest.fixture
def seeded(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    return client


def row(client: Any, req: int, query: str = "") -> str:
    html = client.get(f"/requisitions{query}").get_data(as_text=True)
    found = re.search(rf'<tr data-requisition="{req}">.*?</tr>', html, re.S)
    assert found, f"requisition {req} is not listed"
    return found.group(0)


def actions(row_html: str) -> set[str]:
    return set(re.findall(r"/transitions/(\w+)", row_html))


def test_the_list_shows_amounts_and_who_approves(seeded, services) -> None:
    login(seeded, "alice")
    pending = row(seeded, requisition_id(services, "SKU-1"))
    assert "SKU-1</span> 绿茶 Green tea @ 上海仓" in pending and "华东供应 East Supply" in pending
    assert ">100<" in pending and "<strong>200.00</strong>" in pending
    assert "待审批" in pending and "采购经理" in pending
    free = row(seeded, requisition_id(services, "SKU-2"))
    assert "已批准" in free and "无需审批" in free and "<strong>50.00</strong>" in free
    html = seeded.get("/requisitions?state=pending_approval").get_data(as_text=True)
    assert html.count("<tr data-requisition=") == 1


def test_only_the_approval_role_gets_approve_and_reject(seeded, services) -> None:
    req = requisition_id(services, "SKU-1")
    login(seeded, "alice")  # a buyer: cancelling what waits for approval would be a rejection
    assert actions(row(seeded, req)) == set()
    refused = post_form(seeded, "/requisitions", f"/requisitions/{req}/transitions/cancel")
    assert refused.status_code == 403
    post_form(seeded, "/", "/logout")
    login(seeded, "carol")
    assert actions(row(seeded, req)) == {"approve", "reject", "cancel"}
    mine = seeded.get("/requisitions?mine=1").get_data(as_text=True)
    assert mine.count("<tr data-requisition=") == 1
    post_form(seeded, "/", "/logout")
    login(seeded, "root")  # an admin may cancel it, but approves no spending
    assert actions(row(seeded, req)) == {"cancel"}
    refused = post_form(seeded, "/requisitions", f"/requisitions/{req}/transitions/approve")
    assert refused.status_code == 403
    assert "待审批" in row(seeded, req)


def test_a_forged_approval_is_refused_and_changes_nothing(seeded, services) -> None:
    req = requisition_id(services, "SKU-1")
    login(seeded, "alice")
    answer = post_form(seeded, "/requisitions", f"/requisitions/{req}/transitions/approve")
    assert answer.status_code == 403
    assert "无权" in answer.get_data(as_text=True)
    assert "待审批" in row(seeded, req)


def test_the_manager_approves_and_the_buyer_orders_with_the_erp_reference(
        seeded, services) -> None:
    req = requisition_id(services, "SKU-1")
    login(seeded, "carol")
    answer = post_form(seeded, "/requisitions", f"/requisitions/{req}/transitions/approve",
                       {"next": "/requisitions?state=all"})
    assert (answer.status_code, answer.headers["Location"]) == (303, "/requisitions?state=all")
    page = seeded.get("/requisitions?state=all").get_data(as_text=True)
    assert f"采购申请 {req} 现在的状态：已批准。" in page
    post_form(seeded, "/", "/logout")
    login(seeded, "alice")
    assert actions(row(seeded, req)) == {"order", "cancel"}
    no_ref = post_form(seeded, "/requisitions", f"/requisitions/{req}/transitions/order")
    assert no_ref.status_code == 303
    assert "ERP 采购订单号: 此项为必填项。" in seeded.get("/requisitions").get_data(as_text=True)
    post_form(seeded, "/requisitions", f"/requisitions/{req}/transitions/order", {"ref": "PO-77"})
    ordered = row(seeded, req)
    assert "已下单" in ordered and "PO-77" in ordered and actions(ordered) == {"receive"}
    detail = seeded.get(f"/requisitions/{req}").get_data(as_text=True)
    assert "批准</strong> · carol" in detail and "标记已下单</strong> · alice" in detail


def test_a_requisition_moved_meanwhile_is_explained(seeded, services) -> None:
    req = requisition_id(services, "SKU-2")
    login(seeded, "alice")
    post_form(seeded, "/requisitions", f"/requisitions/{req}/transitions/cancel",
              {"reason": "找到库存"})
    again = post_form(seeded, "/requisitions", f"/requisitions/{req}/transitions/cancel")
    assert again.status_code == 303
    assert "在当前状态下不能执行此操作" in seeded.get("/requisitions").get_data(as_text=True)
    assert seeded.get("/requisitions/9999").status_code == 404
