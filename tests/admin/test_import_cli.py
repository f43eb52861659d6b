"""``flask --app wsgi import …``: files, sources and runs from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select

from engine.services import catalog
from engine.storage.tables import stock_levels

GBK_STOCK = ("库存余额表\n存货编码,存货名称,仓库,现存数量\n001001,螺栓,上海仓,\"1,200\"\n"
             "001002,螺母,WH-SH,abc\n合计,,,1200\n")


def seed(services: Any) -> None:
    now = services.clock.now()
    with services.uow() as uow:
        catalog.put_rows(uow.conn, "warehouses", [{"code": "WH-SH", "name": "上海仓"}], "t", now)
        catalog.put_rows(uow.conn, "skus", [{"code": "001001", "name": "螺栓"},
                                            {"code": "001002", "name": "螺母"}], "t", now)
        uow.commit()


def on_hand(services: Any) -> list[float]:
    with services.uow() as uow:
        return list(uow.conn.execute(select(stock_levels.c.on_hand)).scalars())


def test_a_gbk_file_with_a_bad_row_imports_nothing_then_the_rest_with_skip_bad(
        runner: Any, services: Any, tmp_path: Path) -> None:
    seed(services)
    path = tmp_path / "库存.csv"
    path.write_bytes(GBK_STOCK.encode("gbk"))
    result = runner.invoke(args=["import", "csv", str(path), "--kind", "stock"])
    assert result.exit_code == 1
    assert "columns: sku=存货编码, warehouse=仓库, on_hand=现存数量" in result.output
    assert "row 4: 现存数量: 'abc' is not a number" in result.output
    assert "1 bad row(s); nothing was imported" in result.output
    assert on_hand(services) == []
    result = runner.invoke(args=["import", "csv", str(path), "--skip-bad"])  # kind told
    assert result.exit_code == 0, result.output
    assert ("run 2 done: 1 rows, 1 bad; master data 0 created, 0 updated, 0 unchanged; events "
            "1 accepted, 0 duplicate, 0 rejected") in result.output
    assert on_hand(services) == [1200.0]
    listing = runner.invoke(args=["import", "runs"])
    assert "#2" in listing.output and "库存.csv: done, 1 rows, 1 bad" in listing.output
    shown = runner.invoke(args=["import", "runs", "1"])
    assert "run 1 failed" in shown.output and "row 4: 现存数量" in shown.output


def test_excel_with_a_sheet_a_mapping_and_a_dry_run(runner: Any, services: Any,
                                                    tmp_path: Path) -> None:
    seed(services)
    book = Workbook()
    book.active.title = "说明"
    sheet = book.create_sheet("库存")
    sheet.append(["料品", "库位", "帐存"])
    sheet.append(["001001", "WH-SH", 7])
    path = tmp_path / "s.xlsx"
    book.save(path)
    args = ["import", "excel", str(path), "--sheet", "库存", "--kind", "stock",
            "--map", "sku=料品,warehouse=库位,on_hand=帐存"]
    result = runner.invoke(args=[*args, "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "nothing was imported (dry run)" in result.output and on_hand(services) == []
    assert runner.invoke(args=args).exit_code == 0
    assert on_hand(services) == [7.0]
    bad = runner.invoke(args=[*args[:-1], "sku=料品,nope=帐存"])
    assert bad.exit_code == 1 and "'nope' is not a field of stock" in bad.output


def test_a_file_that_is_not_a_spreadsheet(runner: Any, tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_text("hello")
    result = runner.invoke(args=["import", "excel", str(path), "--kind", "stock"])
    assert result.exit_code == 1
    assert "error: excel: x.xlsx: this is not an Excel .xlsx workbook" in result.output


def test_sources_are_listed_without_their_secrets(runner: Any, tmp_path: Path) -> None:
    result = runner.invoke(args=["import", "sources", "add", "shop", "csv", "--encoding", "gbk"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["import", "sources", "list"]).output.strip() == \
        "shop: csv --encoding gbk"
    again = runner.invoke(args=["import", "sources", "add", "shop", "csv"])
    assert again.exit_code == 1 and "exists already" in again.output
    wrong = runner.invoke(args=["import", "sources", "add", "x", "csv", "--url", "u"])
    assert wrong.exit_code == 1 and "--url is not an option of csv" in wrong.output


def test_the_readme_commands_import_the_sample_files(runner: Any, services: Any) -> None:
    samples = Path(__file__).resolve().parents[2] / "configs" / "import-samples"
    steps = [["csv", "warehouses.csv"], ["csv", "suppliers.csv"], ["excel", "items.xlsx"],
             ["csv", "daily-sales.csv"], ["csv", "moves.csv"], ["csv", "stock-gbk.csv"],
             ["excel", "purchase-orders.xlsx", "--sheet", "采购订单执行"]]
    for plugin, name, *rest in steps:
        result = runner.invoke(args=["import", plugin, str(samples / name), *rest])
        assert result.exit_code == 0, (name, result.output)
        assert " 0 bad;" in result.output, (name, result.output)
    result = runner.invoke(args=["skus", "stock", "001001", "--json"])
    wh = json.loads(result.output)["warehouses"][0]
    # the snapshot (after the history) holds: 1,200 on hand, 50 reserved; 1,500 still ordered
    assert wh["levels"]["on_hand"] == 1200 and wh["levels"]["reserved"] == 50
    assert wh["levels"]["on_order"] == 1500
