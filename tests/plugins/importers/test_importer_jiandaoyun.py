"""The Jiandaoyun importer against a fake open API v5 (widget/list, data/list, 429)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from engine.imports.plugin import CredentialsRefused, ImportFailed, ImportRequest
from engine.imports.records import StockMove, StockSnapshot
from plugins.importers.jiandaoyun import importer
from tests.plugins.importers.fakes.jiandaoyun import APP, ENTRY, FakeJiandaoyun, seed
from tests.plugins.importers.helpers import bad_rows, records, run, until_failure

MAP = "sku=商品编码,warehouse=仓库,qty=数量,type=类型,date=_widget_1432728651406"


@pytest.fixture
def jdy() -> Iterator[FakeJiandaoyun]:
    fake = FakeJiandaoyun()
    seed(fake)
    fake.start()
    yield fake
    fake.stop()


def opts(fake: FakeJiandaoyun, **more: object) -> dict[str, object]:
    return {"url": fake.url, "api_key": fake.key, "app_id": APP, "entry_id": ENTRY,
            "form_kind": "moves", "mapping": MAP, **more}


def lists(fake: FakeJiandaoyun) -> list[dict]:
    return [r.json() for r in fake.requests if r.path == "/api/v5/app/entry/data/list"]


def test_moves_are_read_by_the_data_id_cursor_with_widgets_mapped_by_label(
        jdy: FakeJiandaoyun) -> None:
    pages = run(importer, options=opts(jdy))

    moves = records(pages, StockMove)
    assert len(moves) == 230 and len({m.id for m in moves}) == 230
    first = moves[0]
    assert (first.id, first.type, first.sku, first.warehouse, first.qty) == (
        f"jdy:{ENTRY}:{jdy.data[0]['_id']}", "receipt", "SKU-0000", "上海仓", 1.0)
    assert first.at == datetime(2024, 5, 1, 2, 0, tzinfo=UTC)
    assert moves[1].type == "sale"
    sent = lists(jdy)
    assert [b.get("data_id") for b in sent] == [None, jdy.data[99]["_id"], jdy.data[199]["_id"]]
    assert {b["limit"] for b in sent} == {100}
    assert sent[0]["fields"] == ["_widget_1432728651402", "_widget_1432728651403",
                                 "_widget_1432728651404", "_widget_1432728651405",
                                 "_widget_1432728651406", "createTime", "updateTime"]
    assert {r.headers["authorization"] for r in jdy.requests} == {"Bearer jdy-key"}


def test_a_rate_limited_call_is_retried(jdy: FakeJiandaoyun) -> None:
    jdy.too_many = {2}
    pages = run(importer, options=opts(jdy))
    assert len(records(pages, StockMove)) == 230
    sent = lists(jdy)
    assert len(sent) == 4 and sent[1] == sent[2]  # the refused page asked again, unchanged


def test_an_interrupted_run_resumes_after_the_last_data_id(jdy: FakeJiandaoyun) -> None:
    jdy.fail[3] = "internal error"
    committed, error = until_failure(importer, options=opts(jdy))
    assert error.where == f"data/list page 3 (after data_id {jdy.data[199]['_id']})"
    rest = run(importer, cursor=committed[-1].cursor, options=opts(jdy))
    ids = [m.id for m in records(committed + rest, StockMove)]
    assert len(ids) == 230 and len(set(ids)) == 230


def test_the_next_run_filters_on_update_time_with_the_overlap(jdy: FakeJiandaoyun) -> None:
    first = run(importer, options=opts(jdy))
    jdy.update(jdy.data[5], _widget_1432728651404=9)

    later = run(importer, cursor=first[-1].cursor, overlap_seconds=60, options=opts(jdy))

    assert lists(jdy)[-1]["filter"] == {"rel": "and", "cond": [{
        "field": "updateTime", "type": "datetime", "method": "range",
        "value": ["2024-05-20T03:02:50.000Z", None]}]}  # the newest 03:03:50.293 less a minute
    changed = {m.id: m.qty for m in records(later, StockMove)}
    assert changed[f"jdy:{ENTRY}:{jdy.data[5]['_id']}"] == 9.0
    assert len(changed) == 62  # the changed row and the last minute's 61 rows (deduped later)


def test_a_renamed_widget_a_text_quantity_and_a_wrong_key(jdy: FakeJiandaoyun) -> None:
    jdy.data[3]["_widget_1432728651404"] = "3箱"
    pages = run(importer, options=opts(jdy))
    [bad] = bad_rows(pages)
    assert (bad.column, bad.reason) == ("qty (_widget_1432728651404)",
                                        "the quantity '3箱' is not a number")
    assert bad.where == f"data/list page 1, _id {jdy.data[3]['_id']}"

    jdy.widgets[2]["label"] = "出入库数量"
    with pytest.raises(ImportFailed) as err:
        run(importer, options=opts(jdy))
    assert err.value.where == "widget/list"
    assert "no widget '数量' for qty" in err.value.reason
    assert "did you mean '出入库数量'?" in err.value.reason

    with pytest.raises(CredentialsRefused) as err:
        run(importer, options=opts(jdy, api_key="nope"))
    assert err.value.reason == "HTTP 401: Invalid API Key"


def test_a_stock_form_gives_snapshots_and_check_reports_the_mapping() -> None:
    fake = FakeJiandaoyun()
    fake.add(_widget_1432728651402="SKU-0001", _widget_1432728651403="北京仓",
             _widget_1432728651404="1,234")
    fake.start()
    try:
        options = opts(fake, form_kind="stock", mapping="sku=商品编码,warehouse=仓库,on_hand=数量")
        pages = run(importer, mode="snapshot", options=options)
        [level] = records(pages, StockSnapshot)
        assert (level.sku, level.warehouse, level.on_hand) == ("SKU-0001", "北京仓", 1234.0)
        assert pages[-1].complete_kinds == {"stock"}
        line = importer.check(ImportRequest(kind=None, options=options))
        assert "on_hand=_widget_1432728651404" in line and line.endswith("has data")
    finally:
        fake.stop()
