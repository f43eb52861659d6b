"""数据导入 (admins): a file uploaded, previewed (columns, first rows, problems), its mapping
adjusted, imported with a run the page follows, and its counts and bad rows shown."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.admin.import_forms import SAMPLES, form_data, selected_fields, start, upload, wait
from tests.admin.web_seed import login, seed_with_client


@pytest.fixture
def admin(client: Any, runner: Any, clock: Any) -> Any:
    """The seeded state; root signed in, pages in English; the admin's token for the API."""
    seed_with_client(client, runner, clock.now())
    token = runner.invoke(args=["tokens", "create", "root"]).output.strip().splitlines()[-1]
    login(client, "root")
    client.get("/lang/en?next=/")
    client.api = {"Authorization": f"Bearer {token}"}  # type: ignore[attr-defined]
    return client


@pytest.fixture
def newcomer(client: Any, runner: Any) -> Any:
    """An empty database, as a new user has it: an admin and nothing else."""
    answer = runner.invoke(args=["users", "create", "root", "--password", "root-password-1",
                                 "--admin"])
    assert answer.exit_code == 0, answer.output
    token = runner.invoke(args=["tokens", "create", "root"]).output.strip().splitlines()[-1]
    login(client, "root")
    client.get("/lang/en?next=/")
    client.api = {"Authorization": f"Bearer {token}"}  # type: ignore[attr-defined]
    return client


def imported(client: Any, app: Any, path: Path, **form: str) -> str:
    """Upload, accept the preview as it is, import; the run page once the run has ended."""
    preview = upload(client, path, **form)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    answer = start(client, preview)
    assert answer.status_code == 303
    wait(app)
    return str(client.get(answer.headers["Location"]).get_data(as_text=True))


def count(page: str, key: str) -> int:
    found = re.search(rf'data-count="{key}"><dt>[^<]*</dt><dd>([^<]*)</dd>', page)
    assert found, f"no count {key}"
    return int(found.group(1).replace(",", ""))


def stock(client: Any, sku: str) -> dict[str, float]:
    answer = client.get(f"/api/v1/skus/{sku}/stock", headers=client.api).json
    return {w["warehouse"]: w["levels"]["on_hand"] for w in answer["warehouses"]}


def test_the_import_pages_are_for_admins_only(admin: Any) -> None:
    html = admin.get("/").get_data(as_text=True)
    assert 'href="/admin/imports"' in html and 'href="/admin/data/skus"' in html  # in the menu
    admin.post("/logout", data={"csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', html).group(1)})
    login(admin, "carol")
    assert 'href="/admin/imports"' not in admin.get("/").get_data(as_text=True)
    for path in ("/admin/imports", "/admin/imports/runs", "/admin/imports/sources",
                 "/admin/imports/runs/1"):
        assert admin.get(path).status_code == 403, path
    assert upload(admin, SAMPLES / "warehouses.csv").status_code == 403  # CSRF passes, right not


def test_a_gbk_export_with_chinese_headers_goes_in_with_no_manual_mapping(newcomer: Any,
                                                                         app: Any) -> None:
    admin = newcomer
    # the master data the stock file names, each file as it is, each kind told by its columns
    for name in ("warehouses.csv", "suppliers.csv", "items.xlsx"):
        page = imported(admin, app, SAMPLES / name)
        assert 'data-state="done"' in page and count(page, "bad") == 0, name

    preview = upload(admin, SAMPLES / "stock-gbk.csv")  # GBK, a banner, repeated headers, 合计
    html = preview.get_data(as_text=True)
    assert 'data-kind="stock"' in html and "Header in row 3" in html
    assert selected_fields(html) == {"存货编码": "sku", "存货名称": "", "仓库": "warehouse",
                                     "现存数量": "on_hand", "可用量": "available",
                                     "在途数量": "on_order"}
    # the first rows as our fields, with no problem: warehouses named by their names are known
    assert [int(r) for r in re.findall(r'<tr data-row="(\d+)"', html)] == [4, 5, 6, 9]
    assert "no problem in these rows" in html and "1,200" in html

    answer = start(admin, preview)
    wait(app)
    page = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'data-state="done"' in page and "Imported." in page
    assert (count(page, "rows"), count(page, "bad"), count(page, "accepted")) == (4, 0, 4)
    assert stock(admin, "001001") == {"WH-SH": 1200.0}
    assert stock(admin, "002001") == {"WH-BJ": 6.0}


def test_the_preview_marks_the_rows_with_problems_and_the_run_lists_every_bad_row(
        admin: Any, app: Any, tmp_path: Path) -> None:
    path = tmp_path / "库存.csv"
    path.write_bytes("商品编码,仓库,库存数量\nSKU-1,WH-1,12\nSKU-2,WH-1,abc\nNOPE,WH-1,3\n"
                     "SKU-3,WH-1,7\n".encode("gbk"))
    html = upload(admin, path).get_data(as_text=True)
    assert "2 rows with problems" in html
    bad = dict(re.findall(r'<tr data-row="(\d+)" class="row-bad">.*?<p class="problem">(.*?)</p>',
                          html, re.S))
    assert set(bad) == {"3", "4"}
    assert "库存数量" in bad["3"] and "abc" in bad["3"]
    assert "NOPE" in bad["4"]

    # imported as it is: nothing goes in, and the run names each bad row
    preview = upload(admin, path)
    run_page = admin.get(start(admin, preview).headers["Location"])
    wait(app)
    page = admin.get(run_page.request.path).get_data(as_text=True)
    assert 'data-state="failed"' in page and "nothing was imported" in page
    rows = re.findall(r'<tr data-row="(\d+)">\s*<td[^>]*>\d+</td>\s*<td class="code">([^<]*)</td>'
                      r'\s*<td>([^<]*)</td>', page)
    assert [(r, c) for r, c, _ in rows] == [("3", "库存数量"), ("4", "商品编码")]
    assert stock(admin, "SKU-1") == {"WH-1": 13.0}  # unchanged: the seeded level

    # the good rows, and the bad ones kept for review
    again = form_data(page, "next-steps")
    assert again.get("skip_bad") == "1"
    answer = admin.post(re.search(r'action="(/admin/imports/runs/\d+/again)"', page).group(1),
                        data=again)
    wait(app)
    page = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'data-state="done"' in page
    assert (count(page, "bad"), count(page, "accepted")) == (2, 2)
    assert stock(admin, "SKU-1") == {"WH-1": 12.0}


def test_a_column_read_as_the_wrong_field_is_set_right_on_the_page(admin: Any, app: Any,
                                                                   tmp_path: Path) -> None:
    # this shop's 在途数量 column is not what is on order: it is left out
    path = tmp_path / "stock.csv"
    path.write_text("商品编码,仓库,现存数量,在途数量\nSKU-3,WH-1,44,999\n", encoding="utf-8-sig")
    html = upload(admin, path).get_data(as_text=True)
    assert selected_fields(html)["在途数量"] == "on_order"
    data = form_data(html, "mapping-form")
    column = next(k for k, v in data.items() if k.startswith("head-") and v == "在途数量")
    data[column.replace("head", "col")] = ""
    answer = admin.post("/admin/imports/preview", data=data)
    html = answer.get_data(as_text=True)
    assert selected_fields(html)["在途数量"] == ""
    assert "999" not in re.search(r'id="preview-rows".*?</table>', html, re.S).group(0)
    answer = start(admin, answer)
    wait(app)
    assert 'data-state="done"' in admin.get(answer.headers["Location"]).get_data(as_text=True)
    level = admin.get("/api/v1/skus/SKU-3/stock", headers=admin.api).json["warehouses"][0]
    assert (level["levels"]["on_hand"], level["levels"]["on_order"]) == (44.0, 0.0)


def test_a_header_not_recognised_is_named_on_the_page(admin: Any, app: Any,
                                                      tmp_path: Path) -> None:
    # a banner, then headers no alias knows: 料品 is the SKU, 存放点 the warehouse, 帐存 on hand
    path = tmp_path / "帐存.csv"
    path.write_bytes("某某商贸 月末帐存\n料品,存放点,帐存,备注\nSKU-3,WH-1,61,\n".encode("gb18030"))
    answer = upload(admin, path)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "The header row was not recognised." in html
    assert re.search(r'<option value="2" selected>2: 料品 \| 存放点 \| 帐存 \| 备注', html)
    assert 'id="columns"' not in html  # the kind first

    data = form_data(html, "mapping-form")
    html = admin.post("/admin/imports/preview", data={**data, "kind": "stock", "pick": "1"}) \
        .get_data(as_text=True)
    data = form_data(html, "mapping-form")
    assert [data[f"head-{i}"] for i in range(4)] == ["料品", "存放点", "帐存", "备注"]
    data.update({"col-0": "sku", "col-1": "warehouse", "col-2": "on_hand"})
    preview = admin.post("/admin/imports/preview", data=data)
    html = preview.get_data(as_text=True)
    assert 'data-kind="stock"' in html and "Header in row 2" in html
    assert selected_fields(html) == {"料品": "sku", "存放点": "warehouse", "帐存": "on_hand",
                                     "备注": ""}
    assert "no problem in these rows" in html
    answer = start(admin, preview)
    wait(app)
    assert 'data-state="done"' in admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert stock(admin, "SKU-3") == {"WH-1": 61.0}


def test_a_field_chosen_for_two_columns_is_said(admin: Any, tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_text("商品编码,仓库,现存数量,可用量\nSKU-3,WH-1,44,40\n", encoding="utf-8")
    data = form_data(upload(admin, path).get_data(as_text=True), "mapping-form")
    for key, value in list(data.items()):
        if key.startswith("head-") and value in ("现存数量", "可用量"):
            data[key.replace("head", "col")] = "on_hand"
    html = admin.post("/admin/imports/preview", data=data).get_data(as_text=True)
    assert "was chosen for two columns (现存数量 and 可用量)" in html


def test_a_warehouse_name_two_warehouses_share_is_a_problem_naming_both(admin: Any,
                                                                       app: Any) -> None:
    for name in ("warehouses.csv", "suppliers.csv", "items.xlsx"):  # WH-SH is 上海仓, as WH-1
        imported(admin, app, SAMPLES / name)
    html = upload(admin, SAMPLES / "stock-gbk.csv").get_data(as_text=True)
    assert "&#39;上海仓&#39; is the name of several warehouses (WH-1, WH-SH): use the code" in html


def test_a_file_that_is_no_spreadsheet_is_refused_with_the_reason(admin: Any,
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    answer = upload(admin, path)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "The file could not be read: nothing was imported." in html
    assert "not a text (CSV) file" in html


def test_a_check_imports_nothing_and_then_imports_the_file(admin: Any, app: Any) -> None:
    preview = upload(admin, SAMPLES / "warehouses.csv")
    answer = start(admin, preview, action="check")
    wait(app)
    page = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "check only" in page and 'data-state="done"' in page
    assert admin.get("/api/v1/warehouses", headers=admin.api).json[-1]["code"] == "WH-1"
    answer = admin.post(re.search(r'action="(/admin/imports/runs/\d+/again)"', page).group(1),
                        data=form_data(page, "next-steps"))
    wait(app)
    page = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'data-state="done"' in page and count(page, "created") == 2
    codes = [w["code"] for w in admin.get("/api/v1/warehouses", headers=admin.api).json]
    assert codes == ["WH-1", "WH-BJ", "WH-SH"]


def test_a_run_under_way_is_polled_and_a_finished_one_reloads_the_page(admin: Any,
                                                                       services: Any) -> None:
    run_id = services.imports.start_file_run("csv", str(SAMPLES / "warehouses.csv"),
                                             kind=None, actor="root")
    part = admin.get(f"/admin/imports/runs/{run_id}/progress")  # queued: not started yet
    html = part.get_data(as_text=True)
    assert part.status_code == 200 and 'hx-trigger="every 1s"' in html
    assert 'data-state="queued"' in html
    services.imports.run(run_id)
    done = admin.get(f"/admin/imports/runs/{run_id}/progress")
    assert done.status_code == 204
    assert done.headers["HX-Redirect"] == f"/admin/imports/runs/{run_id}"
    page = admin.get(f"/admin/imports/runs/{run_id}").get_data(as_text=True)
    assert 'value="100"' in page and "every 1s" not in page


def test_an_upload_of_another_session_is_not_reachable(admin: Any, app: Any) -> None:
    html = upload(admin, SAMPLES / "warehouses.csv").get_data(as_text=True)
    data = form_data(html, "mapping-form")
    other = app.test_client()
    login(other, "root")
    token = re.search(r'name="csrf_token" value="([^"]+)"', other.get("/admin/imports")
                      .get_data(as_text=True)).group(1)
    answer = other.post("/admin/imports/start", data={**data, "csrf_token": token})
    assert answer.status_code == 404


def test_the_pages_speak_chinese(admin: Any) -> None:
    admin.get("/lang/zh?next=/")
    html = admin.get("/admin/imports").get_data(as_text=True)
    assert "数据导入" in html and "上传并预览" in html
    html = upload(admin, SAMPLES / "warehouses.csv").get_data(as_text=True)
    assert "仓库编码" in html and "我们的字段" in html


def test_the_import_engine_s_messages_are_shown_in_chinese(admin: Any, app: Any,
                                                         tmp_path: Path) -> None:
    """Reasons per row, a run's message and a file refused: said in the viewer's language,
    the values (columns, codes, cells) kept as they are."""
    admin.get("/lang/zh?next=/")
    path = tmp_path / "库存.csv"
    path.write_bytes("商品编码,仓库,库存数量\nSKU-1,WH-1,12\nSKU-2,WH-1,abc\nNOPE,WH-1,3\n"
                     "SKU-1,火星仓,1\n".encode("gbk"))
    html = upload(admin, path).get_data(as_text=True)
    assert "库存数量: “abc”不是数字" in html
    assert "商品编码: SKU“NOPE”不存在" in html
    assert "编码 gb18030" in html  # how the file was read
    run_page = admin.get(start(admin, upload(admin, path)).headers["Location"])
    wait(app)
    page = admin.get(run_page.request.path).get_data(as_text=True)
    assert "3 行有问题；未导入任何数据" in page
    assert "仓库: 仓库“火星仓”不存在（既不是编码也不是名称）" in page
    assert "is not a number" not in page and "does not exist" not in page
    photo = tmp_path / "photo.csv"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    html = upload(admin, photo).get_data(as_text=True)
    assert "这不是文本（CSV）文件：其中含有二进制数据" in html


def test_the_same_day_twice_names_the_row_it_repeats(admin: Any, app: Any,
                                                     tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text("日期,商品编码,仓库,销量\n2026-11-01,SKU-1,WH-1,2\n2026-11-02,SKU-1,WH-1,1\n"
                    "2026-11-01,SKU-1,WH-1,3\n", encoding="utf-8")
    html = upload(admin, path).get_data(as_text=True)
    assert "the same event (sale:SKU-1:WH-1:2026-11-01) as row 2" in html
    admin.get("/lang/zh?next=/")
    html = upload(admin, path).get_data(as_text=True)
    assert "与第 2 行是同一事件（sale:SKU-1:WH-1:2026-11-01）" in html


def test_a_daily_sales_file_is_previewed_as_our_fields(admin: Any, tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text("日期,商品编码,仓库,销量\n2026/11/01,SKU-1,WH-1,2\n2026-11-02,SKU-2,WH-1,3.5\n",
                    encoding="utf-8")
    html = upload(admin, path).get_data(as_text=True)
    head = re.search(r'<table[^>]*id="preview-rows".*?</thead>', html, re.S)
    assert head is not None
    assert "When" in head.group(0) and "Quantity" in head.group(0) and "days" not in head.group(0)
    assert "2026-11-01" in html and "3.5" in html
