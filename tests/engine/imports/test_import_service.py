"""The import service: files all-or-nothing, stock through the event path, idempotent re-runs,
resumed runs, reconciliation, purchase orders as on_order, network sources with cursors."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from imports_support import levels, run_file
from sqlalchemy import func, select

from engine.imports import store
from engine.imports.service import ImportService
from engine.services import catalog, rulesets
from engine.storage.tables import alerts, demand_days, import_sources, stock_events

REPO = Path(__file__).resolve().parents[3]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_master_data_files_create_then_a_rerun_changes_nothing(imports: ImportService,
                                                               services: Any, tmp_path: Path) -> None:
    wh = write(tmp_path / "wh.csv", "仓库编码,仓库名称,区域\nWH-SH,上海仓,华东\nWH-BJ,北京仓,华北\n", "gbk")
    sup = write(tmp_path / "sup.csv", "供应商编码,供应商名称,提前期(天),最小起订量\nS1,甲厂,7,100\n")
    items = write(tmp_path / "items.csv", "商品编码,商品名称,分类,单位,成本价,供应商\n"
                                          "001001,螺栓,五金,个,0.5,S1\n001002,螺母,五金,个,0.3,S1\n")
    for path, kind in ((wh, "warehouses"), (sup, "suppliers"), (items, "items")):
        run = run_file(imports, path, kind)
        assert run["state"] == "done", run["message"]
        assert run["counts"]["created"] == run["counts"]["rows"] > 0
    again = run_file(imports, items, "items")
    assert again["counts"] | {} == {**again["counts"], "created": 0, "updated": 0, "unchanged": 2}
    with services.uow() as uow:
        sku = catalog.list_rows(uow.conn, "skus")[0]
    assert (sku["code"], sku["unit"], sku["unit_cost"], sku["category"]) == ("001001", "个", 0.5, "五金")
    assert sku["suppliers"] == [{"supplier": "S1", "price": None, "preferred": True, "backup": False}]
    changed = write(tmp_path / "items2.csv", "商品编码,成本价\n001001,0.6\n")
    run = run_file(imports, changed, "items")
    assert (run["counts"]["updated"], run["counts"]["created"]) == (1, 0)
    with services.uow() as uow:
        sku = catalog.list_rows(uow.conn, "skus")[0]
    assert (sku["name"], sku["unit_cost"]) == ("螺栓", 0.6)  # what the file did not say is kept


def test_stock_snapshot_goes_through_the_event_path_and_reconciles(
        imports: ImportService, seeded: Any, tmp_path: Path) -> None:
    first = write(tmp_path / "s1.csv", "存货编码,仓库,现存数量,预留,在途数量,换算率\n"
                                       "001001,上海仓,10,2,5,1\n001002,WH-SH,3,,,12\nA,WH-BJ,7,,,\n")
    run = run_file(imports, first, "stock")
    assert run["state"] == "done" and run["counts"]["accepted"] == 3
    assert levels(seeded) == {("001001", "WH-SH"): (10, 2, 5), ("001002", "WH-SH"): (36, 0, 0),
                              ("A", "WH-BJ"): (7, 0, 0)}
    assert run_file(imports, first, "stock")["counts"]["unchanged"] == 3  # nothing twice
    second = write(tmp_path / "s2.csv", "存货编码,仓库,现存数量\n001001,WH-SH,8\n")
    run = run_file(imports, second, "stock")
    # 001002 was not listed for WH-SH: gone to 0; WH-BJ is not in this snapshot: untouched
    assert run["counts"]["reconciled"] == 1
    assert levels(seeded) == {("001001", "WH-SH"): (8, 2, 5), ("001002", "WH-SH"): (0, 0, 0),
                              ("A", "WH-BJ"): (7, 0, 0)}
    with seeded.uow() as uow:
        assert uow.conn.execute(select(func.count()).select_from(stock_events)
                                .where(stock_events.c.type == "count")).scalar() == 5


def test_a_file_with_bad_rows_imports_nothing_unless_skip_bad(
        imports: ImportService, seeded: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "sales.csv", "日期,商品编码,仓库,销量\n2026-11-01,001001,WH-SH,5\n"
                                         "2026-11-01,NOPE,WH-SH,1\n2026-11-02,001001,火星仓,1\n"
                                         "2026-11-02,001001,WH-SH,五\n2026-11-01,001001,WH-SH,2\n")
    run = run_file(imports, path, "sales")
    assert run["state"] == "failed" and "4 bad row(s); nothing was imported" in run["message"]
    view = imports.run_view(run["id"])
    assert [(b["row"], b["column"], b["reason"]) for b in view["bad_rows"]] == [
        (3, "商品编码", "商品编码: SKU 'NOPE' does not exist"),
        (4, "仓库", "仓库: warehouse '火星仓' does not exist (neither a code nor a name)"),
        (5, "销量", "销量: '五' is not a number"),
        (6, "id", "id: the same event (sale:001001:WH-SH:2026-11-01) as row 2: one row "
                  "per SKU, warehouse and day, or an id or ref column to tell them apart")]
    with seeded.uow() as uow:
        assert uow.conn.execute(select(func.count()).select_from(stock_events)).scalar() == 0
    run = run_file(imports, path, "sales", skip_bad=True)
    assert run["state"] == "done" and run["counts"]["accepted"] == 1
    assert run["counts"]["duplicate"] == 1  # row 6, the same day again: never applied
    assert len(imports.run_view(run["id"])["bad_rows"]) == 4  # kept for review
    with seeded.uow() as uow:
        assert uow.conn.execute(select(demand_days.c.qty)).scalars().all() == [5.0]
    again = run_file(imports, path, "sales", skip_bad=True)["counts"]
    assert (again["accepted"], again["duplicate"]) == (0, 2)


def test_dry_run_checks_and_imports_nothing(imports: ImportService, seeded: Any,
                                            tmp_path: Path) -> None:
    path = write(tmp_path / "s.csv", "存货编码,仓库,现存数量\n001001,WH-SH,4\n")
    run = run_file(imports, path, "stock", dry_run=True)
    assert run["state"] == "done" and "nothing was imported" in run["message"]
    assert levels(seeded) == {}


def test_imported_stock_is_evaluated_by_the_rules(imports: ImportService, seeded: Any,
                                                  tmp_path: Path) -> None:
    text = (REPO / "tests/data/work-ruleset.yaml").read_text()
    with seeded.uow() as uow:
        rulesets.put(uow.conn, text, "yaml", "test", seeded.clock.now())
        uow.commit()
    run = run_file(imports, write(tmp_path / "s.csv", "sku,warehouse,on_hand\n001001,WH-SH,3\n"
                                                      "001002,WH-SH,50\n"), "stock")
    assert run["counts"]["accepted"] == 2
    with seeded.uow() as uow:
        opened = uow.conn.execute(select(alerts.c.rule, alerts.c.facts)).all()
    assert [(rule, facts["stock"]["available"]) for rule, facts in opened] == [("low-stock", 3.0)]


def test_an_interrupted_run_resumes_after_its_last_committed_page(
        imports: ImportService, seeded: Any, tmp_path: Path) -> None:
    rows = "".join(f"2026-11-{d:02d},001001,WH-SH,{d}\n" for d in range(1, 11))
    path = write(tmp_path / "sales.csv", "date,sku,warehouse,qty\n" + rows)
    run_id = imports.start_file_run("csv", str(path), kind="sales", actor="t",
                                    options={"page_rows": 3})

    def stop_after_two_pages(info: dict[str, Any]) -> None:
        if info["phase"] == "importing" and info["pages"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        imports.run(run_id, stop_after_two_pages)
    with seeded.uow() as uow:
        run = store.get_run(uow.conn, run_id)
    assert run["state"] == "interrupted" and run["cursor"] == {"row": 7}
    assert run["counts"]["accepted"] == 6
    run = imports.run(run_id)
    assert run["state"] == "done"
    assert (run["counts"]["accepted"], run["counts"]["duplicate"]) == (10, 0)  # exactly the rest
    with seeded.uow() as uow:
        assert uow.conn.execute(select(func.sum(demand_days.c.qty))).scalar() == 55


def test_purchase_orders_set_on_order_and_a_full_file_drops_closed_lines(
        imports: ImportService, seeded: Any, tmp_path: Path) -> None:
    header = "采购订单号,行号,供应商,存货编码,仓库,数量,累计入库数量,状态\n"
    first = write(tmp_path / "po1.csv", header + "PO-1,1,SUP,001001,WH-SH,100,40,执行中\n"
                                                 "PO-2,1,SUP,001001,WH-SH,30,0,执行中\n"
                                                 "PO-3,1,SUP,A,WH-BJ,9,0,作废\n")
    run = run_file(imports, first, "purchase-orders")
    assert run["state"] == "done", run["message"]
    assert levels(seeded)[("001001", "WH-SH")] == (0, 0, 90)
    assert ("A", "WH-BJ") not in levels(seeded)  # a cancelled line is no order: unchanged 0
    assert run_file(imports, first, "purchase-orders")["counts"]["accepted"] == 0
    second = write(tmp_path / "po2.csv", header + "PO-1,1,SUP,001001,WH-SH,100,100,已完成\n")
    run_file(imports, second, "purchase-orders")
    assert levels(seeded)[("001001", "WH-SH")] == (0, 0, 0)  # PO-2 left the list: no longer open


def erp_file(tmp_path: Path, pages: list[dict[str, Any]]) -> Path:
    path = tmp_path / "erp.json"
    path.write_text(json.dumps({"key": "s3cret", "pages": pages}))
    return path


def move(id_: str, type_: str, qty: float, **kw: Any) -> dict[str, Any]:
    return {"record": "StockMove", "id": id_, "type": type_, "sku": "001001", "warehouse": "WH-SH",
            "qty": qty, "at": "2026-11-10T08:00:00+00:00", **kw}


def test_a_network_source_syncs_incrementally_with_its_cursor(
        imports: ImportService, seeded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_ERP_KEY", "s3cret")
    pages = [{"records": [move("erp:1", "receipt", 20), move("erp:2", "sale", 5)]},
             {"records": [move("erp:3", "sale", 1), {"record": "BadRow", "where": "page 1",
                                                     "reason": "unknown unit 'dozen'"}]}]
    url = erp_file(tmp_path, pages)
    imports.add_source("shop", "fakeerp", {"url": str(url), "api_key": "env:FAKE_ERP_KEY"})
    assert imports.test_source("shop") == "2 pages"
    run = imports.run(imports.start_source_run("shop", actor="t"))
    assert run["state"] == "done", run["message"]
    assert (run["counts"]["accepted"], run["counts"]["bad"]) == (3, 1)
    assert levels(seeded)[("001001", "WH-SH")][0] == 14
    # the next sync re-reads its last page (the overlap) and a new one: nothing twice
    pages.append({"records": [move("erp:3", "sale", 1), move("erp:2", "sale", 5, cancelled=True),
                              move("erp:4", "sale", 2)]})
    url.write_text(json.dumps({"key": "s3cret", "pages": pages}))
    with seeded.uow() as uow:  # where the first sync stopped, committed with its last page
        source = store.get_source(uow.conn, "shop")
        assert store.get_cursor(uow.conn, source["id"], None) == {"page": 1}
    run = imports.run(imports.start_source_run("shop", actor="t"))
    assert (run["counts"]["accepted"], run["counts"]["duplicate"], run["counts"]["cancelled"]) == (
        2, 1, 1)  # erp:4 and the reversal of the cancelled erp:2
    assert levels(seeded)[("001001", "WH-SH")][0] == 14 - 2 + 5


def test_a_source_that_fails_half_way_keeps_its_committed_pages(
        imports: ImportService, seeded: Any, tmp_path: Path) -> None:
    pages = [{"records": [move("erp:1", "receipt", 20)]}, {"fail": True, "records": []},
             {"records": [move("erp:2", "sale", 5)]}]
    url = erp_file(tmp_path, pages)
    imports.add_source("shop", "fakeerp", {"url": str(url), "api_key": "s3cret"})
    run = imports.run(imports.start_source_run("shop", actor="t"))
    assert run["state"] == "failed" and "page 1: timed out" in run["message"]
    assert run["errors"] == [{"where": "page 1", "message": "timed out"}]
    assert levels(seeded)[("001001", "WH-SH")][0] == 20  # page 0 is in
    pages[1] = {"records": []}
    url.write_text(json.dumps({"key": "s3cret", "pages": pages}))
    run = imports.run(run["id"])  # resumed: after page 0
    assert run["state"] == "done" and run["counts"]["accepted"] == 2
    assert levels(seeded)[("001001", "WH-SH")][0] == 15


def test_wrong_credentials_fail_the_run_with_the_source_named(
        imports: ImportService, seeded: Any, tmp_path: Path) -> None:
    url = erp_file(tmp_path, [])
    imports.add_source("shop", "fakeerp", {"url": str(url), "api_key": "wrong"})
    run = imports.run(imports.start_source_run("shop", actor="t"))
    assert run["state"] == "failed" and run["message"] == "fakeerp: login: the key was refused"


def test_secrets_are_stored_encrypted_and_never_shown(imports: ImportService, seeded: Any,
                                                      tmp_path: Path) -> None:
    imports.add_source("shop", "fakeerp", {"url": "http://erp", "api_key": "s3cret"})
    with seeded.uow() as uow:
        stored = uow.conn.execute(select(import_sources.c.config)).scalar()
    assert stored["api_key"].startswith("fernet:") and "s3cret" not in json.dumps(stored)
    assert imports.sources()[0]["config"] == {"url": "http://erp", "api_key": "••••••"}
    assert imports._unseal(stored)["api_key"] == "s3cret"


def test_scheduled_sources_start_when_their_minutes_have_passed(
        services: Any, clock: Any, tmp_path: Path) -> None:
    imports = services.imports  # the app's own: its runs are handed to the jobs runner
    imports.add_source("nightly", "csv", {"encoding": "gbk"}, every_minutes=15)
    imports.add_source("by-hand", "csv", {})
    first = imports.start_due()
    services.jobs.wait_imports()
    assert len(first) == 1 and imports.start_due() == []  # not again within 15 minutes
    with services.uow() as uow:
        run = store.get_run(uow.conn, first[0])
    assert (run["actor"], run["state"]) == ("schedule", "failed")  # a csv source has no file
    clock.advance(timedelta(minutes=15))
    assert len(imports.start_due()) == 1
    services.jobs.wait_imports()


def test_the_same_code_twice_in_one_file_names_the_first_row(
        imports: ImportService, seeded: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "items.csv", "商品编码,商品名称\n009001,螺栓\n009002,螺母\n"
                                         "009001,螺栓 加长\n")
    run = run_file(imports, path, "items")
    assert run["state"] == "failed" and "1 bad row(s); nothing was imported" in run["message"]
    assert [(b["row"], b["column"], b["reason"]) for b in imports.run_view(run["id"])["bad_rows"]] == [
        (4, "商品编码", "商品编码: code '009001' is already in row 2")]
    with seeded.uow() as uow:
        assert "009002" not in {s["code"] for s in catalog.list_rows(uow.conn, "skus")}
