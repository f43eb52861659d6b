"""The csv and excel importers read files the way Chinese Excel and 进销存 systems write them."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from engine.imports.plugin import ImportFailed, ImportRequest
from engine.imports.records import BadRow, PurchaseOrderLine, StockMove, StockSnapshot
from plugins.importers import cells
from plugins.importers.csv_file import importer as csv_importer
from plugins.importers.excel_file import importer as excel_importer

GBK_STOCK = """某某商贸有限公司 库存余额表
统计日期：2026-11-01 至 2026-11-20,,,,,
存货编码,存货名称,规格型号,仓库,现存数量,可用量,在途数量
001001,螺栓 M6,M6×20,WH-SH,"1,200",1150,300
001002,螺母,M6,WH-SH,36,36,
,,,,,,
存货编码,存货名称,规格型号,仓库,现存数量,可用量,在途数量
001003,垫片,Φ6,WH-BJ,abc,1,
合计,,,,"1,236",,
"""


def records(importer, path: Path, kind: str | None, **kw) -> list:  # type: ignore[no-untyped-def]
    out = []
    for page in importer.read(ImportRequest(kind=kind, file=str(path), **kw)):
        out.extend(page.records)
    return out


def test_gbk_csv_with_banner_repeated_header_blank_and_total_rows(tmp_path: Path) -> None:
    path = tmp_path / "库存.csv"
    path.write_bytes(GBK_STOCK.encode("gbk"))
    found = records(csv_importer, path, "stock")
    good = [r for r in found if isinstance(r, StockSnapshot)]
    bad = [r for r in found if isinstance(r, BadRow)]
    assert [(r.sku, r.warehouse, r.on_hand, r.reserved, r.on_order) for r in good] == [
        ("001001", "WH-SH", 1200.0, 50.0, 300.0), ("001002", "WH-SH", 36.0, 0.0, None)]
    assert good[0].origin == "row 4"
    assert [(b.row, b.column, b.reason) for b in bad] == [
        (8, "现存数量", "现存数量: 'abc' is not a number")]
    assert bad[0].raw["存货编码"] == "001003"  # kept as read, for review


def test_the_kind_is_told_from_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(GBK_STOCK.encode("gb18030"))
    info = csv_importer.describe(ImportRequest(kind=None, file=str(path)), limit=5)
    assert info["kind"] == "stock" and info["header_row"] == 3
    assert info["columns"] == {"sku": "存货编码", "warehouse": "仓库", "on_hand": "现存数量",
                               "available": "可用量", "on_order": "在途数量"}
    assert set(info["ignored"]) == {"存货名称", "规格型号"}
    assert "gb18030" in info["notes"][0]


def test_utf8_with_bom_and_kaggle_daily_sales(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_bytes("\ufeffdate,store,item,sales\n2017-01-01,1,1,13\n2017-01-02,1,1,0\n"
                     "2017-01-03,1,1,-2\n".encode())
    found = records(csv_importer, path, "sales")
    assert [(m.id, m.type, m.sku, m.warehouse, m.qty) for m in found] == [
        ("sale:1:1:2017-01-01", "sale", "1", "1", 13.0),  # a day of 0 is no event
        ("sale:1:1:2017-01-03", "return", "1", "1", 2.0)]
    assert found[0].at == datetime(2017, 1, 1)


def test_explicit_mapping_for_columns_the_alias_table_does_not_know(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("料品,库位,帐存\nA-1,WH-SH,5\n", encoding="utf-8")
    with pytest.raises(ImportFailed, match="missing sku, warehouse, on_hand"):
        records(csv_importer, path, "stock")
    found = records(csv_importer, path, "stock",
                    mapping={"sku": "料品", "warehouse": "库位", "on_hand": "帐存"})
    assert [(r.sku, r.on_hand) for r in found] == [("A-1", 5.0)]


def test_codes_keep_leading_zeros_and_excel_text_tricks(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text('商品编码,商品名称,单价,标签\n="00123",甲,"1,234.5","a，b"\n\'0456,乙,,\n',
                    encoding="utf-8")
    found = records(csv_importer, path, "items")
    assert [(r.code, r.name, r.unit_cost, r.tags) for r in found] == [
        ("00123", "甲", 1234.5, ("a", "b")), ("0456", "乙", None, None)]


def test_moves_with_chinese_types_and_deterministic_ids(tmp_path: Path) -> None:
    path = tmp_path / "moves.csv"
    path.write_text("单据日期,业务类型,商品编码,仓库,调入仓库,数量,单号\n"
                    "2026/11/2,销售出库,A,WH-SH,,3,SO-1\n2026年11月3日,盘亏,A,WH-SH,,2,\n"
                    "2026-11-03,调拨,A,WH-SH,WH-BJ,1,T-1\n2026-11-03,调拨,A,WH-SH,WH-BJ,1,T-1\n"
                    "2026-11-04,借出,A,WH-SH,,1,\n", encoding="utf-8")
    found = records(csv_importer, path, "moves")
    moves = [r for r in found if isinstance(r, StockMove)]
    assert [(m.type, m.qty, m.to_warehouse) for m in moves] == [
        ("sale", 3, None), ("adjustment", -2, None), ("transfer", 1, "WH-BJ"),
        ("transfer", 1, "WH-BJ")]
    assert moves[2].id != moves[3].id  # two identical rows are two moves
    again = [r for r in records(csv_importer, path, "moves") if isinstance(r, StockMove)]
    assert [m.id for m in again] == [m.id for m in moves]  # the same file: the same ids
    bad = [r for r in found if isinstance(r, BadRow)]
    assert bad[0].row == 6 and "'借出' is not a movement type" in bad[0].reason


def test_purchase_orders_with_open_quantity_and_status(tmp_path: Path) -> None:
    path = tmp_path / "po.csv"
    path.write_text("采购订单号,行号,供应商,存货编码,仓库,数量,累计入库数量,预计到货日期,状态\n"
                    "PO-1,1,SUP,A,WH-SH,100,40,2026-12-01,执行中\n"
                    "PO-2,1,SUP,A,WH-SH,50,0,,作废\n", encoding="utf-8")
    found = records(csv_importer, path, "purchase-orders")
    assert [(p.po, p.line, p.qty_ordered, p.qty_received, p.status, p.expected_date)
            for p in found if isinstance(p, PurchaseOrderLine)] == [
        ("PO-1", "1", 100, 40, "open", date(2026, 12, 1)), ("PO-2", "1", 50, 0, "cancelled", None)]


def test_xlsx_written_by_openpyxl_with_chinese_headers(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "销售明细"
    sheet.append(["XX连锁 销售日报"])
    sheet.append([])
    sheet.append(["日期", "商品编码", "门店", "销量"])
    sheet.append([datetime(2026, 11, 1), 1001, "WH-SH", 5])
    sheet.append([45963, "1002", "WH-SH", "1,000"])  # a serial date; a number as text
    sheet.append(["合计", None, None, 1005])
    sheet.cell(row=4, column=2).number_format = "000000"  # Excel shows 001001
    path = tmp_path / "销售.xlsx"
    book.save(path)
    found = records(excel_importer, path, "sales", options={"sheet": "销售明细"})
    assert [(m.sku, m.warehouse, m.qty, m.at.date()) for m in found] == [
        ("001001", "WH-SH", 5.0, date(2026, 11, 1)), ("1002", "WH-SH", 1000.0, date(2025, 11, 2))]
    with pytest.raises(ImportFailed, match="no sheet 'Sheet9'; the sheets are 销售明细"):
        records(excel_importer, path, "sales", options={"sheet": "Sheet9"})


def test_a_file_that_is_not_a_spreadsheet_is_refused_clearly(tmp_path: Path) -> None:
    png = tmp_path / "photo.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    with pytest.raises(ImportFailed, match="not a text"):
        records(csv_importer, png, "stock")
    text = tmp_path / "notes.xlsx"
    text.write_text("just some text\n")
    with pytest.raises(ImportFailed, match="not an Excel .xlsx workbook"):
        records(excel_importer, text, "stock")
    book = tmp_path / "book.csv"
    Workbook().save(book)
    with pytest.raises(ImportFailed, match="use `import excel`"):
        records(csv_importer, book, "stock")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(ImportFailed, match="not a readable .xlsx"):
        records(excel_importer, broken, "stock")


def test_a_file_without_the_needed_columns_says_which(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ImportFailed, match="missing sku, warehouse, on_hand"):
        records(csv_importer, path, "stock")


def test_pages_resume_after_a_cursor(tmp_path: Path) -> None:
    path = tmp_path / "wh.csv"
    path.write_text("code,name\n" + "".join(f"W{i},n{i}\n" for i in range(5)))
    pages = list(csv_importer.read(ImportRequest(kind="warehouses", file=str(path),
                                                 options={"page_rows": 2})))
    assert [p.cursor for p in pages] == [{"row": 3}, {"row": 5}, {"row": 6}]
    rest = list(csv_importer.read(ImportRequest(kind="warehouses", file=str(path),
                                                cursor={"row": 3})))
    assert [r.code for p in rest for r in p.records] == ["W2", "W3", "W4"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("1,234", 1234.0), ("１２３", 123.0), ("(12)", -12.0), ("5%", 0.05), ("-", None), ("", None),
    (7, 7.0)])
def test_numbers(raw: object, expected: float | None) -> None:
    assert cells.number(raw) == expected


@pytest.mark.parametrize("raw", ["2026-11-02", "2026/11/2", "2026.11.2", "2026年11月2日",
                                 "20261102", 46328, "46328"])
def test_dates(raw: object) -> None:
    assert cells.when(raw) == datetime(2026, 11, 2)


def test_bad_cells_say_why() -> None:
    with pytest.raises(cells.CellInvalid, match="'12 件' is not a number"):
        cells.number("12 件")
    with pytest.raises(cells.CellInvalid, match="is not a real date"):
        cells.when("2026-02-30")


def test_a_page_of_plain_sales_rows_comes_as_columns(tmp_path: Path) -> None:
    from engine.imports.records import SalesColumns

    path = tmp_path / "sales.csv"
    path.write_text("date,sku,warehouse,qty\n2026-11-01,A,W1,2\n2026/11/02,B,W1,3.5\n")
    (page,) = csv_importer.read(ImportRequest(kind="sales", file=str(path)))
    (block,) = page.records
    assert isinstance(block, SalesColumns)
    assert (block.day, tuple(block.sku), tuple(block.warehouse), tuple(block.qty),
            tuple(block.row)) == (
        ("2026-11-01", "2026-11-02"), ("A", "B"), ("W1", "W1"), (2.0, 3.5), (2, 3))
    assert block.at == (datetime(2026, 11, 1), datetime(2026, 11, 2))
    path.write_text("date,sku,warehouse,qty\n2026-11-01,A,W1,2\n2026-11-01, B,W1,1\n")
    (page,) = csv_importer.read(ImportRequest(kind="sales", file=str(path)))
    assert [(m.sku, m.origin) for m in page.records] == [("A", "row 2"), ("B", "row 3")]
    for qty in ("1,000", "+2", "-1", "", "1e400", "2 件", "0"):  # each goes the row path
        path.write_text(f'date,sku,warehouse,qty\n2026-11-01,A,W1,2\n2026-11-01,B,W1,"{qty}"\n')
        (page,) = csv_importer.read(ImportRequest(kind="sales", file=str(path)))
        assert not any(isinstance(r, SalesColumns) for r in page.records), qty


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "b1", "", " x", 'q"', "1,5", "\n", "\r\n", "é",
                                          "\r"]), min_size=0, max_size=4),
                min_size=1, max_size=12),
       st.integers(min_value=1, max_value=5), st.sampled_from([",", "\t"]),
       st.integers(min_value=1, max_value=300), st.booleans())
def test_a_csv_file_is_read_by_slices_as_the_csv_module_reads_it(
        cells: list[list[str]], size: int, delimiter: str, min_read: int, header: bool) -> None:
    """Plain slices split at the delimiters, others read by csv.reader (a quoted field may
    span lines, past a slice): the same rows and numbers as csv.reader gives."""
    import csv
    import io

    from plugins.importers.csv_file import CsvRows

    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n" if size % 2 else "\n")
    for row in cells:
        writer.writerow(row)
    data = out.getvalue()
    expected = list(csv.reader(io.StringIO(data, newline=""), delimiter=delimiter))
    rows = CsvRows(io.TextIOWrapper(io.BytesIO(data.encode()), encoding="utf-8", newline=""),
                   delimiter)
    rows.min_read = min_read  # blocks that end anywhere in a line
    got: list[tuple[int, list[str]]] = []
    if header:  # the header's search reads rows one at a time first
        got.extend(next(rows, (0, [])) for _ in range(1) if expected)
        got = [(n, list(r)) for n, r in got]
    while True:
        numbers, found, columns = rows.take(size)
        if not numbers:
            break
        found = [list(r) for r in (found if found is not None else zip(*columns))]
        got.extend(zip(numbers, found))
    assert got == list(enumerate(expected, 1))


def test_a_large_file_is_read_as_a_stream(tmp_path: Path) -> None:
    """A file of hundreds of megabytes is never read whole: a page comes after reading a part
    of it (here 60,000 rows, 5,000 a page)."""
    path = tmp_path / "sales.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("日期,商品编码,门店,销量\n")
        for i in range(60_000):
            fh.write(f"2026-11-01,{i:06d},WH-1,{i % 7 + 1}\n")
    pages = csv_importer.read(ImportRequest(kind="sales", file=str(path)))
    first = next(pages)
    done, total = first.progress
    assert total == path.stat().st_size and 0 < done < total / 2
    assert sum(len(getattr(r, "row", ())) for r in first.records) == 5000
    pages.close()
