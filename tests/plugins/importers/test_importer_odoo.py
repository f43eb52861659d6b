"""The Odoo importer against a fake Odoo speaking XML-RPC (16–18) and JSON-2 (19)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from engine.imports.plugin import CredentialsRefused, ImportFailed, SourceUnreachable
from engine.imports.records import (
    PurchaseOrderLine,
    SkuRecord,
    StockMove,
    StockSnapshot,
    SupplierRecord,
    WarehouseRecord,
)
from plugins.importers.odoo import importer
from tests.plugins.importers.fakes.odoo import FakeOdoo, seed
from tests.plugins.importers.helpers import (
    Silent,
    bad_rows,
    closed_port,
    records,
    run,
    until_failure,
)


@pytest.fixture(params=[16, 17, 18, 19])
def odoo(request: pytest.FixtureRequest) -> Iterator[FakeOdoo]:
    fake = FakeOdoo(version=request.param)
    fake.ids = seed(fake)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def odoo17() -> Iterator[FakeOdoo]:
    fake = FakeOdoo(version=17)
    fake.ids = seed(fake)
    fake.start()
    yield fake
    fake.stop()


def opts(fake: FakeOdoo, **more: object) -> dict[str, object]:
    return {"url": fake.url, "db": "prod", "login": "bot", "api_key": "secret-key",
            "page_size": 2, **more}


def levels(pages: list) -> dict[tuple[str, str], tuple[float, float | None, float | None]]:
    return {(s.sku, s.warehouse): (s.on_hand, s.reserved, s.on_order)
            for s in records(pages, StockSnapshot)}


def test_a_snapshot_reads_every_kind_with_the_fields_of_each_version(odoo: FakeOdoo) -> None:
    pages = run(importer, mode="snapshot", options=opts(odoo))

    assert odoo.via == ({"json2"} if odoo.version >= 19 else {"xmlrpc"})
    assert [w.code for w in records(pages, WarehouseRecord)] == ["WH", "SH"]
    assert [s.code for s in records(pages, SupplierRecord)] == ["ACME", "odoo-2"]
    desk = next(s for s in records(pages, SkuRecord) if s.code == "FURN_7800")
    assert (desk.category, desk.unit) == ("All / Saleable", "Units")
    assert [(lk.supplier, lk.preferred, lk.backup) for lk in desk.suppliers] == [
        ("ACME", True, False), ("odoo-2", False, True)]
    # quants summed per warehouse over its internal locations; a vendor location is no stock
    assert levels(pages) == {("FURN_7800", "WH"): (15.0, 2.0, 24.0),
                             ("FURN_7800", "SH"): (5.0, 1.0, 0.0),
                             ("E-COM11", "SH"): (40.0, 0.0, 0.0)}
    moves = {m.ref: m for m in records(pages, StockMove)}
    assert {ref: (m.type, m.warehouse, m.qty, m.factor) for ref, m in moves.items()} == {
        "WH/OUT/1": ("sale", "WH", 2.0, 1.0),
        "WH/IN/1": ("receipt", "WH", 2.0, 12.0),  # two dozens
        "WH/RET/1": ("return", "WH", 1.0, 1.0),
        "WH/INT/1": ("transfer", "WH", 4.0, 1.0),
        "INV/1": ("adjustment", "SH", 3.0, 1.0),
        "INV/2": ("adjustment", "SH", -1.0, 1.0),
    }  # WH/INT/2 stays inside WH; WH/OUT/2 is not done
    assert moves["WH/INT/1"].to_warehouse == "SH"
    assert moves["WH/OUT/1"].id == f"odoo:prod:stock.move:{odoo.ids['WH/OUT/1']}"
    assert moves["WH/OUT/1"].at == datetime(2024, 5, 20, 7, 0, 30, tzinfo=UTC)  # naive UTC
    [line] = records(pages, PurchaseOrderLine)  # the draft line is no order yet
    assert (line.po, line.sku, line.warehouse, line.qty_ordered, line.qty_received,
            line.factor, line.status) == ("P00001", "FURN_7800", "WH", 2.0, 1.0, 12.0, "open")
    [bad] = bad_rows(pages)
    assert bad.column == "default_code" and "product id" in bad.where
    complete = set().union(*(p.complete_kinds for p in pages))
    assert complete == {"warehouses", "suppliers", "items", "stock", "purchase-orders"}
    assert pages[-1].cursor["run"] == "done"


def test_pages_are_keyset_pages_of_the_asked_size_in_a_stable_order(odoo17: FakeOdoo) -> None:
    pages = run(importer, kind="moves", options=opts(odoo17))

    reads = [p for m, meth, p in odoo17.calls if m == "stock.move" and meth == "search_read"]
    assert [p["limit"] for p in reads] == [2, 2, 2, 2]
    assert {p["order"] for p in reads} == {"write_date asc, id asc"}
    assert reads[1]["domain"][1:] == ["|", ["write_date", ">", "2024-05-20 07:00:32"], "&",
                                      ["write_date", "=", "2024-05-20 07:00:32"], ["id", ">", 2]]
    assert [p.where for p in pages][:2] == [
        "odoo: stock.move page 1", "odoo: stock.move page 2 (after 2024-05-20 07:00:32 id 2)"]
    assert not any(p.complete_kinds for p in pages)  # incremental: nothing to reconcile


def test_an_interrupted_run_resumes_after_its_last_committed_page(odoo17: FakeOdoo) -> None:
    everything = run(importer, options=opts(odoo17))
    odoo17.counts.clear()
    odoo17.fail[("stock.move", 3)] = "could not serialize access due to concurrent update"

    committed, error = until_failure(importer, options=opts(odoo17))
    assert error.where == "stock.move page 3 (after 2024-05-20 07:00:34 id 4)"
    assert "could not serialize access" in error.reason
    rest = run(importer, cursor=committed[-1].cursor, options=opts(odoo17))

    ids = [m.id for m in records(committed + rest, StockMove)]
    assert ids == [m.id for m in records(everything, StockMove)]  # each once, none missing
    assert not records(rest, WarehouseRecord)  # finished streams are not read again
    assert rest[-1].cursor["run"] == "done"


def test_the_next_run_reads_what_changed_since_the_cursor(odoo17: FakeOdoo) -> None:
    first = run(importer, mode="snapshot", options=opts(odoo17))
    ids = odoo17.ids
    odoo17.write("stock.quant", ids["q1"], quantity=7.0)
    odoo17.add("stock.move", reference="WH/OUT/3", product_id=ids["FURN_7800"],
               product_uom_qty=1.0, quantity=1.0, product_uom=ids["units"],
               date="2024-05-21 01:00:00", state="done", location_id=ids["WH_loc"],
               location_dest_id=ids["cus"])

    later = run(importer, cursor=first[-1].cursor, overlap_seconds=0, options=opts(odoo17))

    # the overlap window (here 0 s) still re-reads the last row of each stream: same ids
    assert [m.ref for m in records(later, StockMove)] == ["INV/2", "WH/OUT/3"]
    assert levels(later)[("FURN_7800", "WH")] == (10.0, 2.0, 24.0)
    again = run(importer, cursor=later[-1].cursor, overlap_seconds=3600, options=opts(odoo17))
    assert len(records(again, StockMove)) == 7  # an hour back: every move, the same ids


def test_wrong_credentials_are_refused(odoo: FakeOdoo) -> None:
    with pytest.raises(CredentialsRefused) as err:
        run(importer, options=opts(odoo, api_key="wrong"))
    assert err.value.source == "odoo"
    if odoo.version < 19:
        assert "refused login 'bot'" in err.value.reason


def test_an_unreachable_or_silent_server_is_named() -> None:
    with pytest.raises(SourceUnreachable) as err:
        run(importer, options={"url": f"http://127.0.0.1:{closed_port()}", "db": "prod",
                               "login": "bot", "api_key": "k", "protocol": "xmlrpc"})
    assert "cannot connect" in err.value.reason
    silent = Silent()
    try:
        with pytest.raises(SourceUnreachable) as err:
            run(importer, options={"url": silent.url, "db": "prod", "login": "bot",
                                   "api_key": "k", "timeout": 0.3})
        assert "within 0.3 s" in err.value.reason
    finally:
        silent.close()


def test_a_renamed_field_is_named_with_its_candidates() -> None:
    fake = FakeOdoo(version=17)
    seed(fake)
    fake.models["stock.move"]["qty_done_v2"] = fake.models["stock.move"].pop("quantity")
    fake.start()
    try:
        with pytest.raises(ImportFailed) as err:
            run(importer, kind="moves", options=opts(fake))
    finally:
        fake.stop()
    assert err.value.where == "fields_get stock.move"
    assert "none of the fields quantity, quantity_done" in err.value.reason


def test_a_text_quantity_is_a_bad_row_and_the_rest_imports(odoo17: FakeOdoo) -> None:
    odoo17.rows["stock.quant"][odoo17.ids["q1"]]["quantity"] = "12箱"

    pages = run(importer, kind="stock", mode="snapshot", options=opts(odoo17))

    [bad] = bad_rows(pages)
    assert bad.column == "quantity" and "'12箱' is not a number" in bad.reason
    assert f"stock.quant id {odoo17.ids['q1']}" in bad.where
    assert levels(pages)[("FURN_7800", "WH")] == (3.0, 0.0, 24.0)


def test_check_says_what_it_found(odoo17: FakeOdoo) -> None:
    from engine.imports.plugin import ImportRequest

    line = importer.check(ImportRequest(kind=None, options=opts(odoo17)))
    assert line == "Odoo 17.0, database prod: 3 storable products, 2 warehouses"
