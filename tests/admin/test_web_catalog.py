"""Master data pages (admins): SKUs, warehouses and suppliers listed with search, filters and
paging in SQL, a detail page of each, editing through the bulk upsert's use case (all or
nothing, problems next to their fields) and the list exported to Excel."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from tests.admin.web_seed import csrf_token, login, seed_with_client


@pytest.fixture
def admin(client: Any, runner: Any, clock: Any) -> Any:
    seed_with_client(client, runner, clock.now())
    token = runner.invoke(args=["tokens", "create", "root"]).output.strip().splitlines()[-1]
    login(client, "root")
    client.get("/lang/en?next=/")
    client.api = {"Authorization": f"Bearer {token}"}  # type: ignore[attr-defined]
    return client


def codes(html: str) -> list[str]:
    return re.findall(r'<tr data-code="([^"]+)"', html)


def put(client: Any, kind: str, rows: list[dict[str, Any]]) -> None:
    answer = client.put(f"/api/v1/{kind}", json=rows, headers=client.api)
    assert answer.status_code == 200, answer.json


def catalogue(client: Any, n: int) -> None:
    put(client, "suppliers", [{"code": "SUP-2", "name": "华北 North", "lead_time_days": 9}])
    put(client, "skus", [{"code": f"P{i:04d}", "name": f"产品 {i} {'螺栓' if i % 3 == 0 else '螺母'}",
                          "category": "五金" if i % 2 else "工具", "abc_class": "ABC"[i % 3],
                          "suppliers": [{"supplier": "SUP-2", "preferred": True}] if i % 5 == 0
                          else []} for i in range(n)])


def test_skus_are_searched_filtered_and_paged(admin: Any) -> None:
    catalogue(admin, 130)
    page = admin.get("/admin/data/skus").get_data(as_text=True)
    assert codes(page)[:2] == ["P0000", "P0001"] and len(codes(page)) == 50
    assert "133 in all" in page and "Page 1 of 3 · 133 rows" in page
    last = admin.get("/admin/data/skus?page=3").get_data(as_text=True)
    assert codes(last) == [f"P{i:04d}" for i in range(100, 130)] + ["SKU-1", "SKU-2", "SKU-3"]

    found = admin.get("/admin/data/skus?q=螺栓&category=五金").get_data(as_text=True)
    expected = [f"P{i:04d}" for i in range(130) if i % 3 == 0 and i % 2]
    assert codes(found) == expected and f"{len(expected)} match" in found
    assert codes(admin.get("/admin/data/skus?q=sku-").get_data(as_text=True)) == [
        "SKU-1", "SKU-2", "SKU-3"]  # part of the code, any case
    assert codes(admin.get("/admin/data/skus?q=100%25").get_data(as_text=True)) == []  # % is text
    by_class = codes(admin.get("/admin/data/skus?abc=B").get_data(as_text=True))
    assert by_class[:2] == ["P0001", "P0004"]
    supplied = codes(admin.get("/admin/data/skus?supplier=SUP-2").get_data(as_text=True))
    assert supplied == [f"P{i:04d}" for i in range(0, 130, 5)][:50]
    # the pager keeps the filters
    paged = admin.get("/admin/data/skus?category=工具").get_data(as_text=True)
    assert 'href="/admin/data/skus?page=2&amp;kind=skus&amp;category=' in paged or \
        re.search(r'href="/admin/data/skus\?[^"]*category=%E5%B7%A5%E5%85%B7[^"]*page=2', paged) \
        or re.search(r'href="/admin/data/skus\?page=2[^"]*category=', paged)


def test_a_listing_reads_one_page_whatever_the_catalogue_size(admin: Any, services: Any) -> None:
    """The page's statements do not grow with the catalogue: its rows, its count, the figures
    of its rows (counted, not timed)."""
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    catalogue(admin, 60)
    event.listen(services.db, "before_cursor_execute", note)
    try:
        admin.get("/admin/data/skus?page=1")
        few = [s for s in statements if "skus" in s or "stock_levels" in s]
        catalogue(admin, 600)
        statements.clear()
        admin.get("/admin/data/skus?page=5")
        many = [s for s in statements if "skus" in s or "stock_levels" in s]
    finally:
        event.remove(services.db, "before_cursor_execute", note)
    assert len(many) == len(few)
    listing = next(s for s in many if "LIMIT" in s.upper() and "FROM skus" in s)
    assert "ORDER BY skus.code" in listing and "OFFSET" in listing.upper()


def test_a_sku_page_shows_its_stock_per_warehouse_suppliers_and_open_alerts(admin: Any) -> None:
    html = admin.get("/admin/data/skus/item/SKU-1").get_data(as_text=True)
    stock = re.search(r'<tr data-warehouse="WH-1"[^>]*>(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r'<td class="num">(?:<strong>)?([\d,.—]+)', stock)[:3] == ["13", "0", "13"]
    assert '<tr data-supplier="SUP-1">' in html and "preferred" in html
    alerts = re.findall(r'<tr data-alert="\d+">(.*?)</tr>', html, re.S)
    assert len(alerts) == 1 and "low-stock" in alerts[0] and "high" in alerts[0]
    assert admin.get("/admin/data/skus/item/NOPE").status_code == 404
    wh = admin.get("/admin/data/warehouses/item/WH-1").get_data(as_text=True)
    assert re.findall(r'<tr data-sku="([^"]+)"', wh) == ["SKU-1", "SKU-2", "SKU-3"]
    sup = admin.get("/admin/data/suppliers/item/SUP-1").get_data(as_text=True)
    assert re.findall(r'<tr data-sku="([^"]+)"', sup) == ["SKU-1", "SKU-2"]


def edit_form(client: Any, path: str) -> dict[str, str]:
    html = client.get(path).get_data(as_text=True)
    data = dict(re.findall(r'<input type="(?:text|hidden)"[^>]*name="([^"]+)" value="([^"]*)"',
                           html))
    data.update(dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)))
    return data


def test_a_sku_is_edited_through_the_bulk_upserts_use_case(admin: Any) -> None:
    form = edit_form(admin, "/admin/data/skus/edit/SKU-3")
    form.update({"name": "纸巾 Tissues 10-pack", "unit_cost": "3.5", "tags": "paper，daily",
                 "link-0-supplier": "SUP-1", "link-0-price": "3.1", "preferred": "0"})
    answer = admin.post("/admin/data/skus/edit/SKU-3", data=form)
    assert answer.headers["Location"] == "/admin/data/skus/item/SKU-3"
    sku = next(s for s in admin.get("/api/v1/skus", headers=admin.api).json
               if s["code"] == "SKU-3")
    assert (sku["name"], sku["unit_cost"], sku["tags"]) == ("纸巾 Tissues 10-pack", 3.5,
                                                            ["paper", "daily"])
    assert sku["suppliers"] == [{"supplier": "SUP-1", "price": 3.1, "preferred": True,
                                 "backup": False}]
    audit = admin.get("/admin/audit").get_data(as_text=True)
    assert "root" in audit


def test_bad_values_are_said_next_to_their_fields_and_nothing_is_saved(admin: Any) -> None:
    form = edit_form(admin, "/admin/data/skus/edit/SKU-3")
    form.update({"name": "", "unit_cost": "cheap", "link-0-supplier": "NOPE",
                 "link-0-price": "-1"})
    answer = admin.post("/admin/data/skus/edit/SKU-3", data=form)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Nothing was saved. Please correct the marked fields." in html
    assert re.search(r'data-field="name">.*?<p class="field-error"[^>]*>This field is required\.',
                     html, re.S)
    assert re.search(r'data-field="unit_cost">.*?<p class="field-error"[^>]*>Enter a number\.',
                     html, re.S)
    assert re.search(r'<tr data-link="0">.*?<p class="field-error"[^>]*>Enter a number from 0 to',
                     html, re.S)
    assert 'value="cheap"' in html  # what was typed stays
    sku = next(s for s in admin.get("/api/v1/skus", headers=admin.api).json
               if s["code"] == "SKU-3")
    assert (sku["name"], sku["unit_cost"]) == ("纸巾 Tissues", 3.0)

    form = edit_form(admin, "/admin/data/skus/edit/SKU-3")
    form.update({"link-0-supplier": "NOPE"})
    html = admin.post("/admin/data/skus/edit/SKU-3", data=form).get_data(as_text=True)
    assert re.search(r'<tr data-link="0">.*?Supplier NOPE does not exist: add it first\.', html,
                     re.S)


def test_new_warehouses_and_suppliers_and_a_taken_code(admin: Any) -> None:
    token = csrf_token(admin.get("/admin/data/warehouses/new"))
    answer = admin.post("/admin/data/warehouses/new", data={
        "csrf_token": token, "code": "WH-2", "name": "北京仓", "region": "north"})
    assert answer.headers["Location"] == "/admin/data/warehouses/item/WH-2"
    taken = admin.post("/admin/data/warehouses/new", data={
        "csrf_token": token, "code": "WH-1", "name": "x"})
    assert taken.status_code == 422
    assert "This code exists already: edit it instead." in taken.get_data(as_text=True)
    assert admin.get("/api/v1/warehouses", headers=admin.api).json[0]["name"] == "上海仓"

    answer = admin.post("/admin/data/suppliers/new", data={
        "csrf_token": token, "code": "SUP-9", "name": "宁波", "lead_time_days": "6",
        "on_time_rate": "0.9", "contact": "phone: 0574-1\nemail: a@b.cn\n周一至周五"})
    assert answer.status_code == 303
    sup = next(s for s in admin.get("/api/v1/suppliers", headers=admin.api).json
               if s["code"] == "SUP-9")
    assert sup["contact"] == {"phone": "0574-1", "email": "a@b.cn", "text": "周一至周五"}
    assert (sup["lead_time_days"], sup["moq"], sup["on_time_rate"]) == (6.0, 0.0, 0.9)
    bad = admin.post("/admin/data/suppliers/new", data={
        "csrf_token": token, "code": "bad code", "name": "x", "lead_time_days": "",
        "on_time_rate": "2"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert re.search(r'data-field="code">.*?1 to 64 letters', html, re.S)
    assert re.search(r'data-field="lead_time_days">.*?This field is required\.', html, re.S)
    assert re.search(r'data-field="on_time_rate">.*?Enter a number from 0 to 1', html, re.S)


def test_the_list_is_exported_to_excel_as_filtered_in_words_the_importers_read(
        admin: Any) -> None:
    catalogue(admin, 30)
    answer = admin.get("/admin/data/skus/export.xlsx?category=工具")
    assert answer.status_code == 200
    assert answer.mimetype == ("application/vnd.openxmlformats-officedocument."
                               "spreadsheetml.sheet")
    assert "attachment" in answer.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(answer.data), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("SKU code", "Name", "Category")
    assert [r[0] for r in rows[1:]] == [f"P{i:04d}" for i in range(0, 30, 2)]
    assert rows[1][7] == "SUP-2"  # the preferred supplier
    admin.get("/lang/zh?next=/")
    sheet = load_workbook(io.BytesIO(admin.get("/admin/data/warehouses/export.xlsx").data),
                          read_only=True).active
    assert list(sheet.iter_rows(values_only=True)) == [("仓库", "名称", "区域"),
                                                        ("WH-1", "上海仓", "east")]


def test_master_data_pages_are_for_admins_only(admin: Any) -> None:
    admin.post("/logout", data={"csrf_token": csrf_token(admin.get("/"))})
    login(admin, "carol")
    for path in ("/admin/data/skus", "/admin/data/skus/item/SKU-1", "/admin/data/skus/new",
                 "/admin/data/skus/edit/SKU-1", "/admin/data/warehouses/export.xlsx",
                 "/admin/data/suppliers/item/SUP-1"):
        assert admin.get(path).status_code == 403, path
    answer = admin.post("/admin/data/skus/edit/SKU-1", data={
        "csrf_token": csrf_token(admin.get("/")), "name": "x"})
    assert answer.status_code == 403


def test_the_pages_speak_chinese(admin: Any) -> None:
    admin.get("/lang/zh?next=/")
    html = admin.get("/admin/data/skus").get_data(as_text=True)
    assert "主数据" in html and "导出到 Excel" in html
    html = admin.get("/admin/data/skus/item/SKU-1").get_data(as_text=True)
    assert "各仓库存" in html and "未关闭的预警" in html
