"""The approver's day (issue #18): names and reasoning, a changed quantity, two levels of
approval in turn, a reason to reject, approval in bulk, three requisitions merged into one
purchase order, exported for the ERP and sent to the supplier."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from openpyxl import load_workbook
from werkzeug.datastructures import MultiDict

from engine.services import queries
from tests.admin import web_seed
from tests.admin.web_seed import csrf_token, login, post_form, requisition_id

# alice (buyer) approves above 100, carol (purchasing manager) then above 150
CHAIN = web_seed.RULESET.replace(
    "approval: [{above: 100, role: purchasing-manager}]",
    "approval: [{above: 150, role: purchasing-manager}, {above: 100, role: buyer}]")


@pytest.fixture
def seeded(client: Any, runner: Any, clock: Any) -> Any:
    assert CHAIN != web_seed.RULESET

    def invoke(args: list[str]) -> str:
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        return str(result.output)

    headers = {"Authorization": f"Bearer {web_seed.create_users(invoke)}"}
    suppliers = [dict(web_seed.MASTER_DATA["/api/v1/suppliers"][0],
                      contact={"email": "sales@east.example"}),
                 {"code": "SUP-2", "name": "华北供应 North Supply", "lead_time_days": 3,
                  "moq": 40, "pack_size": 20, "contact": {"email": "orders@north.example"}}]
    skus = [dict(s) for s in web_seed.MASTER_DATA["/api/v1/skus"]]
    skus[2]["suppliers"] = [{"supplier": "SUP-1", "preferred": True, "price": 3}]
    skus[0]["suppliers"] = [{"supplier": "SUP-1", "preferred": True, "price": 2},
                            {"supplier": "SUP-2", "price": 1.5}]
    for path, body in (("/api/v1/suppliers", suppliers),
                       ("/api/v1/warehouses", web_seed.MASTER_DATA["/api/v1/warehouses"]),
                       ("/api/v1/skus", skus)):
        assert client.put(path, json=body, headers=headers).status_code == 200
    answer = client.put("/api/v1/ruleset", data=CHAIN, content_type="application/yaml",
                        headers=headers)
    assert answer.status_code == 200, answer.json
    now = clock.now()
    events = [*web_seed.events(now),
              {"id": "web-s3", "type": "sale", "sku": "SKU-3", "warehouse": "WH-1", "qty": 35,
               "at": now.isoformat()}]
    answer = client.post("/api/v1/events", json=events, headers=headers)
    assert answer.json["accepted"] == len(events)
    return client


def requisition(services: Any, req_id: int) -> dict[str, Any]:
    with services.uow() as uow:
        return queries.load_requisition(uow.conn, req_id)


def logout_and_login(client: Any, name: str) -> None:
    post_form(client, "/", "/logout")
    login(client, name)


def test_two_levels_approve_in_turn_after_the_buyer_changed_the_quantity(
        seeded, services) -> None:
    req = requisition_id(services, "SKU-1")  # 100 × 2.00 = 200: buyer, then manager
    login(seeded, "alice")
    page = seeded.get(f"/requisitions/{req}").get_data(as_text=True)
    assert "绿茶 Green tea" in page and "上海仓" in page and "华东供应 East Supply" in page
    assert "按固定数量，需求为 100，已满足供应商的最小起订量 0 和包装规格 1。" in page
    assert re.search(r'<li class="current">采购员</li><li class="">采购经理</li>', page)
    # the buyer changes the quantity and supplier: 70 from SUP-2 (MOQ 40, pack 20) → 80 × 1.5
    post_form(seeded, f"/requisitions/{req}", f"/requisitions/{req}/edit",
              {"quantity": "70", "supplier": "SUP-2"})
    changed = requisition(services, req)
    assert (changed["quantity"], changed["supplier"], changed["amount"]) == (80, "SUP-2", 120)
    assert changed["approval_role"] == "buyer"  # 120: only the first level now
    detail = seeded.get(f"/requisitions/{req}").get_data(as_text=True)
    assert "已修改</strong> · alice" in detail and "100 → 80" in detail
    post_form(seeded, f"/requisitions/{req}", f"/requisitions/{req}/edit",
              {"quantity": "90", "supplier": "SUP-1"})  # 90 × 2 = 180: both levels again
    assert requisition(services, req)["amount"] == 180
    post_form(seeded, f"/requisitions/{req}", f"/requisitions/{req}/transitions/approve")
    after_first = requisition(services, req)
    assert (after_first["state"], after_first["approval_role"]) == ("pending_approval",
                                                                      "purchasing-manager")
    page = seeded.get(f"/requisitions/{req}").get_data(as_text=True)
    assert "审批级别</span> 1 / 2" in page
    # alice approved her level: the next is not hers
    refused = post_form(seeded, f"/requisitions/{req}", f"/requisitions/{req}/transitions/approve")
    assert refused.status_code == 403
    logout_and_login(seeded, "carol")
    post_form(seeded, f"/requisitions/{req}", f"/requisitions/{req}/transitions/approve")
    assert requisition(services, req)["state"] == "approved"


def test_a_rejection_needs_a_reason(seeded, services) -> None:
    req = requisition_id(services, "SKU-1")
    login(seeded, "alice")
    post_form(seeded, f"/requisitions/{req}", f"/requisitions/{req}/transitions/reject",
              {"reason": "  "})
    assert "原因: 此项为必填项。" in seeded.get("/requisitions").get_data(as_text=True)
    assert requisition(services, req)["state"] == "pending_approval"
    post_form(seeded, f"/requisitions/{req}", f"/requisitions/{req}/transitions/reject",
              {"reason": "库存够用"})
    assert requisition(services, req)["state"] == "rejected"


def test_only_the_buyer_or_the_next_approver_may_change_a_requisition(seeded, services) -> None:
    req = requisition_id(services, "SKU-1")
    login(seeded, "dave")
    post_form(seeded, "/requisitions", f"/requisitions/{req}/edit", {"quantity": "1"})
    assert requisition(services, req)["quantity"] == 100
    logout_and_login(seeded, "alice")
    post_form(seeded, f"/requisitions/{req}", f"/requisitions/{req}/edit", {"quantity": "-3"})
    assert "数量: 请输入大于 0 的数字。" in seeded.get("/requisitions").get_data(as_text=True)
    free = requisition_id(services, "SKU-2")  # approved already: no more changes
    post_form(seeded, f"/requisitions/{free}", f"/requisitions/{free}/edit", {"quantity": "9"})
    assert requisition(services, free)["quantity"] == 100
    assert "只有草稿或待审批的采购申请可以修改。" in seeded.get("/requisitions").get_data(
        as_text=True)


def bulk(client: Any, pairs: list[tuple[str, str]]) -> Any:
    token = csrf_token(client.get("/requisitions"))
    return client.post("/requisitions/bulk", data=MultiDict([("csrf_token", token), *pairs]))


def test_approve_in_bulk_merge_three_into_an_order_export_and_send_it(seeded, services) -> None:
    one, two, three = (requisition_id(services, s) for s in ("SKU-1", "SKU-2", "SKU-3"))
    login(seeded, "alice")
    bulk(seeded, [("ids", str(one)), ("ids", str(three)), ("action", "approve")])
    logout_and_login(seeded, "carol")
    refused = bulk(seeded, [("ids", str(one)), ("ids", str(two)), ("action", "approve")])
    assert refused.status_code == 303  # SKU-2's needs no approval: nothing is approved
    assert requisition(services, one)["state"] == "pending_approval"
    bulk(seeded, [("ids", str(one)), ("ids", str(three)), ("action", "approve")])
    assert {requisition(services, i)["state"] for i in (one, two, three)} == {"approved"}
    logout_and_login(seeded, "alice")
    merged = bulk(seeded, [("ids", str(i)) for i in (one, two, three)] + [("action", "merge")])
    po = int(re.search(r"/purchase-orders/(\d+)$", merged.headers["Location"]).group(1))
    page = seeded.get(f"/purchase-orders/{po}").get_data(as_text=True)
    assert page.count('<tr><td class="cell-title"><a href="/requisitions/') == 3
    assert '<th class="num" id="po-total">550.00</th>' in page  # 200 + 50 + 300
    again = bulk(seeded, [("ids", str(one)), ("action", "merge")])
    assert again.status_code == 303 and "/purchase-orders/" not in again.headers["Location"]

    sheet = load_workbook(io.BytesIO(seeded.get(
        f"/purchase-orders/{po}/export.xlsx?layout=stockwarn").data)).active
    assert [c.value for c in sheet[1]] == ["po", "line", "supplier", "sku", "warehouse",
                                           "qty_ordered", "qty_received", "expected_date",
                                           "status"]
    assert sorted((r[3], r[5]) for r in sheet.iter_rows(min_row=2, values_only=True)) == [
        ("SKU-1", 100), ("SKU-2", 100), ("SKU-3", 100)]
    odoo = seeded.get(f"/purchase-orders/{po}/export.csv?layout=odoo").data.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(odoo)))
    assert lines[0][:4] == ["id", "partner_id", "date_order", "order_line/product_id"]
    assert lines[1][1] == "华东供应 East Supply" and lines[2][1] == ""  # the order's, once
    assert seeded.get(f"/purchase-orders/{po}/export.csv?layout=sap").status_code == 404

    sent = post_form(seeded, f"/purchase-orders/{po}", f"/purchase-orders/{po}/send")
    assert sent.status_code == 303
    assert "已发送至 sales@east.example。" in seeded.get(f"/purchase-orders/{po}").get_data(
        as_text=True)
    with services.uow() as uow:
        from sqlalchemy import select

        from engine.storage.tables import notifications

        note = uow.conn.execute(select(notifications).where(
            notifications.c.dedupe_key == f"po:{po}:1")).one()
    assert note.recipients == ["sales@east.example"] and note.channel == "email"
    assert "SKU-3 纸巾 Tissues × 100" in note.message and "550.00" in note.message
    post_form(seeded, f"/purchase-orders/{po}", f"/purchase-orders/{po}/ordered",
              {"ref": "ERP-PO-9"})
    assert {requisition(services, i)["ref"] for i in (one, two, three)} == {"ERP-PO-9"}
    assert {requisition(services, i)["state"] for i in (one, two, three)} == {"ordered"}
