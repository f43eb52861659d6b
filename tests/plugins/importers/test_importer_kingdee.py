"""The Kingdee K/3 Cloud importer against a fake WebAPI (ValidateUser, ExecuteBillQuery)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from engine.imports.plugin import CredentialsRefused, ImportFailed, ImportRequest
from engine.imports.records import PurchaseOrderLine, SkuRecord, StockMove, StockSnapshot
from plugins.importers.kingdee import importer
from tests.plugins.importers.fakes.kingdee import QUERY, FakeKingdee, seed
from tests.plugins.importers.helpers import bad_rows, records, run, until_failure


@pytest.fixture
def k3() -> Iterator[FakeKingdee]:
    fake = FakeKingdee()
    seed(fake)
    fake.start()
    yield fake
    fake.stop()


def opts(fake: FakeKingdee, **more: object) -> dict[str, object]:
    return {"url": f"{fake.url}/k3cloud/", "acct_id": fake.acct_id, "username": "api",
            "password": "pw", "page_size": 2, "org": "100", "po_warehouse": "CK001", **more}


def levels(pages: list) -> dict[tuple[str, str], tuple[float, float | None]]:
    out = {}
    for s in records(pages, StockSnapshot):
        assert (s.sku, s.warehouse) not in out, "a level came twice"
        out[(s.sku, s.warehouse)] = (s.on_hand, s.reserved)
    return out


FULL = {("1.01.001", "CK001"): (1200.0, 50.0), ("1.01.001", "CK003"): (5.0, 0.0),
        ("3.02.015", "CK003"): (36.0, 0.0), ("3.02.016", "CK003"): (4.0, 1.0)}


def test_a_snapshot_sums_lots_per_material_and_warehouse_across_pages(k3: FakeKingdee) -> None:
    pages = run(importer, mode="snapshot", options=opts(k3))

    assert levels(pages) == FULL  # 1.01.001 in CK001 has two lots, on two StartRow pages
    assert [s.name for s in records(pages, SkuRecord)] == ["螺栓 M6×20", "成品机箱 A型",
                                                           "成品机箱 B型"]
    moves = {m.id: m for m in records(pages, StockMove)}
    assert set(moves) == {"k3:SAL_OUTSTOCK:101", "k3:SAL_OUTSTOCK:102", "k3:STK_InStock:201"}
    assert moves["k3:STK_InStock:201"].qty == 1000.0  # FBaseUnitQty: the base unit
    # FDate 2024-05-20 14:30 is the server's local time (Asia/Shanghai)
    assert moves["k3:STK_InStock:201"].at == datetime(2024, 5, 20, 6, 30, tzinfo=UTC)
    [line] = records(pages, PurchaseOrderLine)
    assert (line.qty_ordered, line.qty_received, line.factor, line.warehouse) == (
        10.0, 4.0, 100.0, "CK001")
    assert set().union(*(p.complete_kinds for p in pages)) == {
        "warehouses", "suppliers", "items", "stock", "purchase-orders"}


def test_queries_page_with_startrow_and_limit_under_the_session_cookie(k3: FakeKingdee) -> None:
    run(importer, kind="items", options=opts(k3))

    queries = [r for r in k3.requests if r.path == QUERY]
    sent = [q.json()["data"] for q in queries]
    assert [(d["StartRow"], d["Limit"]) for d in sent] == [(0, 2), (2, 2)]
    assert sent[0]["FormId"] == "BD_MATERIAL"
    assert sent[0]["FilterString"] == ("FDocumentStatus='C' and FForbidStatus='A' and "
                                       "FUseOrgId.FNumber='100'")
    assert sent[0]["OrderString"] == "FModifyDate ASC,FMaterialId ASC"
    assert all("kdservice-sessionid=" in q.headers["cookie"] for q in queries)


def test_an_interrupted_snapshot_resumes_with_no_level_twice(k3: FakeKingdee) -> None:
    k3.fail[("STK_Inventory", 3)] = "数据库连接超时"

    committed, error = until_failure(importer, kind="stock", mode="snapshot", options=opts(k3))
    assert (error.where, error.reason) == ("STK_Inventory StartRow 4", "数据库连接超时")
    assert levels(committed) == {k: FULL[k] for k in [("1.01.001", "CK001"),
                                                      ("1.01.001", "CK003")]}
    rest = run(importer, kind="stock", mode="snapshot", cursor=committed[-1].cursor,
               options=opts(k3))

    assert levels(committed + rest) == FULL
    assert rest[-1].complete_kinds == {"stock"}


def test_unapproval_after_the_last_run_comes_as_a_cancelled_move(k3: FakeKingdee) -> None:
    first = run(importer, kind="moves", options=opts(k3))
    row = next(r for r in k3.forms["SAL_OUTSTOCK"] if r["FEntity_FEntryID"] == 102)
    row.update(FDocumentStatus="D", FModifyDate="2024-05-22T08:00:00")

    later = run(importer, kind="moves", cursor=first[-1].cursor, options=opts(k3))

    moves = {m.id: m.cancelled for m in records(later, StockMove)}
    assert moves["k3:SAL_OUTSTOCK:102"] is True
    assert moves["k3:STK_InStock:201"] is False  # re-read in the overlap window: same id
    sent = [r.json()["data"] for r in k3.requests if r.path == QUERY][-2]
    assert sent["FilterString"] == ("FStockOrgId.FNumber='100' and "
                                    "FModifyDate>='2024-05-21 08:55:00'")


def test_a_lost_session_logs_in_again(k3: FakeKingdee) -> None:
    pages = importer.read(ImportRequest(kind="items", options=opts(k3)))
    first = next(pages)
    k3.expire_sessions()
    rest = list(pages)
    assert len(records([first, *rest], SkuRecord)) == 3
    assert k3.logins == 2


def test_wrong_password_renamed_field_and_text_quantity(k3: FakeKingdee) -> None:
    with pytest.raises(CredentialsRefused) as err:
        run(importer, options=opts(k3, password="x"))
    assert err.value.reason == "用户名或密码错误！"

    k3.keys["SAL_OUTSTOCK"].remove("FBaseUnitQty")
    with pytest.raises(ImportFailed) as err:
        run(importer, kind="moves", options=opts(k3))
    assert (err.value.where, err.value.reason) == ("SAL_OUTSTOCK StartRow 0",
                                                   "字段FBaseUnitQty不存在")

    k3.forms["STK_Inventory"][3]["FBaseQty"] = "36箱"
    pages = run(importer, kind="stock", mode="snapshot", options=opts(k3))
    [bad] = bad_rows(pages)
    assert (bad.column, bad.where) == ("FBaseQty", "STK_Inventory StartRow 4, FID 14")
    assert ("3.02.015", "CK003") not in levels(pages)


def test_a_resumed_run_counts_rows_under_the_filter_it_started_with(k3: FakeKingdee) -> None:
    everything = [m.id for m in records(run(importer, kind="moves", options=opts(k3)))]
    k3.queries.clear()
    k3.fail[("SAL_OUTSTOCK", 2)] = "网络中断"

    committed, error = until_failure(importer, kind="moves", options=opts(k3))
    assert error.where == "SAL_OUTSTOCK StartRow 2"
    rest = run(importer, kind="moves", cursor=committed[-1].cursor, options=opts(k3))

    assert [m.id for m in records(committed + rest)] == everything
    resumed = [r.json()["data"] for r in k3.requests if r.path == QUERY][-3]
    assert (resumed["FormId"], resumed["StartRow"]) == ("SAL_OUTSTOCK", 2)
    assert "FDocumentStatus='C'" in resumed["FilterString"]
