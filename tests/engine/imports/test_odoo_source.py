"""A configured Odoo source synced through the import service, against the fake Odoo: items,
stock and moves arrive, levels equal Odoo's, and a second sync imports nothing new."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from imports_support import levels

from engine.imports import store
from engine.imports.service import ImportService
from engine.services import catalog
from tests.plugins.importers.fakes.odoo import FakeOdoo, seed


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    fake = FakeOdoo(version=17)
    fake.ids = seed(fake)
    fake.start()
    yield fake
    fake.stop()


def sync(imports: ImportService, mode: str = "incremental") -> dict[str, Any]:
    run = imports.run(imports.start_source_run("odoo-main", actor="test", mode=mode))
    assert run["state"] == "done", run["message"]
    return run


def test_an_odoo_source_syncs_items_stock_and_moves_and_a_second_sync_adds_nothing(
        imports: ImportService, services: Any, odoo: FakeOdoo) -> None:
    imports.add_source("odoo-main", "odoo", {"url": odoo.url, "db": "prod", "login": "bot",
                                             "api_key": "secret-key", "page_size": "2"})
    first = sync(imports)
    counts = first["counts"]
    # 2 warehouses, 2 vendors (Odoo keeps no lead time per vendor: the rules' default), 2 SKUs
    assert counts["created"] == 6 and counts["accepted"] >= 6
    with services.uow() as uow:
        suppliers = {s["code"]: s["lead_time_days"] for s in catalog.list_rows(uow.conn,
                                                                               "suppliers")}
        skus = {s["code"] for s in catalog.list_rows(uow.conn, "skus")}
    assert suppliers == {"ACME": 7.0, "odoo-2": 7.0} and skus == {"FURN_7800", "E-COM11"}
    # the product with no internal reference is kept for review, named by its Odoo id
    with services.uow() as uow:
        bad = store.bad_rows(uow.conn, first["id"])
    assert [b["column"] for b in bad] == ["default_code"] and "product id 3" in bad[0]["where"]
    # Odoo's quants (summed per warehouse), its reservations, and on order from the open line
    found = levels(services)
    assert found[("FURN_7800", "WH")] == (15.0, 2.0, 12.0)
    assert found[("FURN_7800", "SH")] == (5.0, 1.0, 0.0)
    assert found[("E-COM11", "SH")] == (40.0, 0.0, 0.0)

    second = sync(imports)
    assert (second["counts"]["created"], second["counts"]["updated"],
            second["counts"]["accepted"]) == (0, 0, 0)
    assert levels(services) == found

    # a sale in Odoo: the next sync brings that move and the level it leaves, nothing else
    odoo.add("stock.move", reference="WH/OUT/9", product_id=odoo.ids["FURN_7800"],
             product_uom_qty=3.0, quantity=3.0, product_uom=odoo.ids["units"],
             date=odoo.tick(), state="done", location_id=odoo.ids["WH_loc"],
             location_dest_id=odoo.ids["cus"])
    odoo.write("stock.quant", odoo.ids["q1"], quantity=9.0)
    third = sync(imports)
    assert third["counts"]["accepted"] == 1  # the sale: the level it leaves is Odoo's already
    assert levels(services)[("FURN_7800", "WH")] == (12.0, 2.0, 12.0)
