"""The ERPNext importer against a fake Frappe REST server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from engine.imports.plugin import CredentialsRefused, ImportFailed, ImportRequest
from engine.imports.records import (
    PurchaseOrderLine,
    SkuRecord,
    StockMove,
    StockSnapshot,
    WarehouseRecord,
)
from plugins.importers.erpnext import importer
from tests.plugins.importers.fakes.erpnext import FakeErpNext, seed
from tests.plugins.importers.helpers import bad_rows, records, run, until_failure


@pytest.fixture
def erp() -> Iterator[FakeErpNext]:
    fake = FakeErpNext()
    seed(fake)
    fake.start()
    yield fake
    fake.stop()


def opts(fake: FakeErpNext, **more: object) -> dict[str, object]:
    return {"url": fake.url, "api_key": fake.key, "api_secret": fake.secret, "page_size": 2,
            **more}


def test_a_snapshot_reads_bins_the_ledger_and_orders(erp: FakeErpNext) -> None:
    pages = run(importer, mode="snapshot", options=opts(erp))

    assert [w.code for w in records(pages, WarehouseRecord)] == [
        "Stores - SH", "Finished Goods - SH"]  # not the group
    assert [s.code for s in records(pages, SkuRecord)] == ["SKU-0001", "SKU-0002"]
    levels = {(s.sku, s.warehouse): (s.on_hand, s.reserved, s.on_order)
              for s in records(pages, StockSnapshot)}
    assert levels == {("SKU-0001", "Stores - SH"): (120.0, 20.0, 200.0),
                      ("SKU-0002", "Stores - SH"): (0.0, 0.0, 0.0),
                      ("SKU-0001", "Finished Goods - SH"): (7.0, 0.0, 0.0)}
    moves = {m.id: m for m in records(pages, StockMove)}
    assert {i: (m.type, m.qty, m.cancelled) for i, m in moves.items()} == {
        "erpnext:SLE:SLE-1": ("receipt", 200.0, False),
        "erpnext:SLE:SLE-2": ("sale", 80.0, False),
        "erpnext:SLE:SLE-3": ("sale", 5.0, True),  # DN-2 was cancelled: both its entries
        "erpnext:SLE:SLE-4": ("return", 5.0, True),
        "erpnext:SLE:SLE-5": ("adjustment", -7.0, False),
        "erpnext:SLE:SLE-6": ("adjustment", 7.0, False),
        "erpnext:SLE:SLE-7": ("return", 2.0, False),
    }
    # posting 2024-05-20 9:05:00.5 in Asia/Shanghai (the site's zone) is 01:05 UTC
    assert moves["erpnext:SLE:SLE-1"].at == datetime(2024, 5, 20, 1, 5, 0, 500000, tzinfo=UTC)
    lines = {ln.po: ln for ln in records(pages, PurchaseOrderLine)}
    assert (lines["PUR-ORD-0001"].qty_ordered, lines["PUR-ORD-0001"].qty_received,
            lines["PUR-ORD-0001"].factor, lines["PUR-ORD-0001"].status) == (10.0, 2.0, 20.0,
                                                                            "open")
    assert lines["PUR-ORD-0002"].status == "cancelled" and "PUR-ORD-0003" not in lines
    assert set().union(*(p.complete_kinds for p in pages)) == {
        "warehouses", "suppliers", "items", "stock", "purchase-orders"}


def test_lists_are_paged_by_the_modified_keyset_with_token_auth(erp: FakeErpNext) -> None:
    run(importer, kind="moves", options=opts(erp))

    lists = [r for r in erp.requests if r.path == "/api/resource/Stock Ledger Entry"]
    assert [r.query["limit_page_length"] for r in lists] == ["2", "2", "2", "2"]
    assert {r.query["order_by"] for r in lists} == {"modified asc, name asc"}
    second = lists[1].query
    last = erp.docs["Stock Ledger Entry"]["SLE-2"]["modified"]
    assert json.loads(second["filters"]) == [["modified", ">=", last]]
    assert json.loads(second["or_filters"]) == [["modified", ">", last], ["name", ">", "SLE-2"]]
    assert {r.headers["authorization"] for r in erp.requests} == {
        f"token {erp.key}:{erp.secret}"}


def test_an_interrupted_run_resumes_after_its_last_committed_page(erp: FakeErpNext) -> None:
    everything = [m.id for m in records(run(importer, kind="moves", options=opts(erp)))]
    erp.lists.clear()
    erp.fail[("Stock Ledger Entry", 3)] = "pymysql.err.OperationalError: (2013, 'Lost " \
        "connection to MySQL server during query')"

    committed, error = until_failure(importer, kind="moves", options=opts(erp))
    assert error.where.startswith("Stock Ledger Entry page 3 (after ")
    assert "HTTP 500: pymysql.err.OperationalError: (2013" in error.reason
    rest = run(importer, kind="moves", cursor=committed[-1].cursor, options=opts(erp))

    assert [m.id for m in records(committed + rest)] == everything


def test_a_cancellation_after_the_last_run_comes_as_a_cancelled_move(erp: FakeErpNext) -> None:
    first = run(importer, kind="moves", options=opts(erp))
    erp.update("Stock Ledger Entry", "SLE-2", is_cancelled=1)

    later = run(importer, kind="moves", cursor=first[-1].cursor, overlap_seconds=0,
                options=opts(erp))

    assert [(m.id, m.cancelled) for m in records(later)] == [
        ("erpnext:SLE:SLE-7", False), ("erpnext:SLE:SLE-2", True)]


def test_wrong_credentials_are_refused(erp: FakeErpNext) -> None:
    with pytest.raises(CredentialsRefused) as err:
        run(importer, options=opts(erp, api_secret="nope"))
    assert err.value.reason == "HTTP 401: Invalid API key or secret"


def test_a_renamed_field_and_a_text_quantity(erp: FakeErpNext) -> None:
    erp.update("Bin", "BIN-2", actual_qty="12 箱")
    pages = run(importer, kind="stock", options=opts(erp))
    [bad] = bad_rows(pages)
    assert (bad.column, bad.reason) == ("actual_qty", "the quantity '12 箱' is not a number")
    assert bad.where.startswith("Bin page 2") and bad.where.endswith("Bin BIN-2")

    erp.fields["Bin"].remove("reserved_qty_for_production")
    with pytest.raises(ImportFailed) as err:
        run(importer, kind="stock", options=opts(erp))
    assert "Unknown column 'reserved_qty_for_production'" in err.value.reason


def test_the_time_zone_comes_from_system_settings_or_the_option() -> None:
    fake = FakeErpNext(time_zone=None)
    seed(fake)
    fake.start()
    try:
        with pytest.raises(ImportFailed) as err:
            run(importer, kind="moves", options=opts(fake))
        assert "set --timezone" in err.value.reason
        pages = run(importer, kind="moves", options=opts(fake, timezone="UTC"))
        assert records(pages)[0].at == datetime(2024, 5, 20, 9, 5, 0, 500000, tzinfo=UTC)
        assert importer.check(ImportRequest(kind=None, options=opts(fake))).endswith(
            "as api@example.com: stock levels readable")
    finally:
        fake.stop()


def test_items_come_with_their_suppliers_and_the_default_one_preferred(erp: FakeErpNext) -> None:
    pages = run(importer, mode="snapshot", options=opts(erp))
    links = {s.code: s.suppliers for s in records(pages, SkuRecord)}
    # SKU-0001: Item Supplier rows Acme and Mill; Item Default's default_supplier is Mill
    assert [(ln.supplier, ln.preferred) for ln in links["SKU-0001"]] == [
        ("Acme", False), ("Mill", True)]
    # SKU-0002: no Item Supplier row, only a default supplier
    assert [(ln.supplier, ln.preferred) for ln in links["SKU-0002"]] == [("Acme", True)]
    # the suppliers' stream comes before the items': the links name suppliers that exist
    kinds = [type(r).__name__ for r in records(pages)]
    assert kinds.index("SupplierRecord") < kinds.index("SkuRecord")
