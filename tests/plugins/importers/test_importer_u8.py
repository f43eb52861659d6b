"""The U8 importer over U8's tables in a SQLite file, and in a PostgreSQL schema when
``TEST_DATABASE_URL`` is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.imports.plugin import ImportFailed, ImportRequest
from engine.imports.records import SkuRecord, StockMove, StockSnapshot, WarehouseRecord
from plugins.importers.u8 import importer
from tests.plugins.importers.fakes.u8 import CurrentStock, FakeU8, seed
from tests.plugins.importers.helpers import bad_rows, records, run

PG_URL = os.environ.get("TEST_DATABASE_URL")
FULL = {("0101001", "01"): (1200.0, 50.0, 300.0), ("0101001", "02"): (5.0, 0.0, 0.0),
        ("0201001", "02"): (36.0, 2.0, 10.0)}


@pytest.fixture(params=["sqlite"] + (["postgres"] if PG_URL else []))
def u8(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FakeU8]:
    if request.param == "sqlite":
        fake = FakeU8(f"sqlite:///{tmp_path / 'UFDATA_001_2024.db'}")
    else:
        fake = FakeU8(str(PG_URL), schema="u8_fake")
    seed(fake)
    yield fake
    fake.drop()


def opts(u8: FakeU8, **more: object) -> dict[str, object]:
    return {"url": u8.url, "schema": u8.schema, "page_size": 2, **more}


def levels(pages: list) -> dict[tuple[str, str], tuple]:
    out = {}
    for s in records(pages, StockSnapshot):
        assert (s.sku, s.warehouse) not in out, "a level came twice"
        out[(s.sku, s.warehouse)] = (s.on_hand, s.reserved, s.on_order)
    return out


def test_a_snapshot_reads_the_tables_and_sums_batches(u8: FakeU8) -> None:
    pages = run(importer, mode="snapshot", options=opts(u8))

    assert [w.code for w in records(pages, WarehouseRecord)] == ["01", "02"]
    assert [(s.code, s.name) for s in records(pages, SkuRecord)] == [
        ("0101001", "螺栓 M6×20"), ("0201001", "机箱 A型")]  # codes keep their leading zero
    assert levels(pages) == FULL
    moves = {m.id: m for m in records(pages, StockMove)}
    assert {i: (m.type, m.qty, m.warehouse) for i, m in moves.items()} == {
        "u8:RdRecords32:11": ("sale", 2.0, "02"), "u8:RdRecords32:12": ("sale", 3.0, "02"),
        "u8:RdRecords01:21": ("receipt", 200.0, "01")}
    assert moves["u8:RdRecords01:21"].at == datetime(2024, 5, 19, 16, tzinfo=UTC)  # local day
    assert set().union(*(p.complete_kinds for p in pages)) == {
        "warehouses", "suppliers", "items", "stock"}


def test_the_next_run_re_sums_only_the_pairs_with_newer_rows(u8: FakeU8) -> None:
    first = run(importer, mode="snapshot", options=opts(u8))
    u8.set_stock(2, iQuantity=150)

    later = run(importer, kind="stock", cursor=first[-1].cursor, options=opts(u8))

    assert levels(later) == {("0101001", "01"): (1150.0, 50.0, 300.0)}


def test_an_interrupted_run_resumes_and_a_renamed_column_is_named(u8: FakeU8) -> None:
    committed = []
    pages = importer.read(ImportRequest(kind="stock", mode="snapshot", options=opts(u8)))
    committed.append(next(pages))  # the first page is committed, then the run stops
    rest = run(importer, kind="stock", mode="snapshot", cursor=committed[-1].cursor,
               options=opts(u8))
    assert levels(committed + rest) == FULL

    with u8.engine.begin() as conn:
        conn.execute(sa.text(f'ALTER TABLE {u8.qualified("CurrentStock")} '
                             'RENAME COLUMN "iQuantity" TO "iQty"'))
    with pytest.raises(ImportFailed) as err:
        run(importer, kind="stock", options=opts(u8))
    assert err.value.where == "table CurrentStock"
    assert "no column iQuantity" in err.value.reason


def test_a_text_quantity_is_a_bad_row(u8: FakeU8) -> None:
    if u8.engine.dialect.name != "sqlite":
        pytest.skip("only SQLite lets text into a numeric column, as a view over text may")
    with u8.engine.begin() as conn:
        conn.execute(CurrentStock.update().where(CurrentStock.c.AutoID == 3).values(
            iQuantity=sa.literal("5箱")))
    pages = run(importer, kind="stock", mode="snapshot", options=opts(u8))
    [bad] = bad_rows(pages)
    assert (bad.column, bad.reason) == ("iQuantity", "the quantity '5箱' is not a number")
    assert bad.where.endswith("AutoID 3")


def test_an_unusable_url_and_a_missing_table() -> None:
    with pytest.raises(ImportFailed) as err:
        run(importer, options={"url": "nosuchdb://x"})
    assert err.value.where == "option --url"
    with pytest.raises(ImportFailed) as err:
        importer.check(ImportRequest(kind=None, options={"url": "sqlite://"}))
    assert err.value.where == "table CurrentStock" and "no such table" in err.value.reason


def test_purchase_order_lines_with_their_status_into_the_named_warehouse(u8: FakeU8) -> None:
    from engine.imports.records import PurchaseOrderLine

    assert not records(run(importer, mode="snapshot", options=opts(u8)), PurchaseOrderLine)
    pages = run(importer, mode="snapshot", options=opts(u8, po_warehouse="01"))
    lines = {ln.line: ln for ln in records(pages, PurchaseOrderLine)}
    assert {k: (ln.po, ln.sku, ln.warehouse, ln.qty_ordered, ln.qty_received, ln.status)
            for k, ln in lines.items()} == {
        "101": ("PO0001", "0101001", "01", 500.0, 150.0, "open"),
        "102": ("PO0001", "0201001", "01", 10.0, 0.0, "done"),  # the line was closed
        "201": ("PO0002", "0201001", "01", 8.0, 0.0, "done"),  # the order was closed
        "301": ("PO0003", "0101001", "01", 900.0, 0.0, "cancelled"),  # not approved yet
    }
    assert lines["101"].supplier == "V001" and str(lines["101"].expected_date) == "2024-06-01"
    assert "purchase-orders" in set().union(*(p.complete_kinds for p in pages))
    # paged by ID (2 a page here) and resumable like the other tables
    assert [p.cursor["this"].get("PO_Podetails") for p in pages
            if "PO_Podetails" in p.where and "page" in p.where][:2] == [
        {"after": 102}, {"after": 301}]
