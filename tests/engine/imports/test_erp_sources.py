"""Configured Kingdee, U8 and ERPNext sources synced through the import service against their
fakes (the real protocols: K/3 Cloud WebAPI, SQL over U8's tables, Frappe REST): open purchase
orders arrive as the pairs' on order, ERPNext's item suppliers as the SKUs' supplier links."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imports_support import levels

from engine.imports.service import ImportService
from engine.services import catalog
from tests.plugins.importers.fakes import erpnext as erpnext_fake
from tests.plugins.importers.fakes import kingdee as kingdee_fake
from tests.plugins.importers.fakes import u8 as u8_fake


def sync(imports: ImportService, name: str, mode: str = "snapshot") -> dict[str, Any]:
    run = imports.run(imports.start_source_run(name, actor="test", mode=mode))
    assert run["state"] == "done", run["message"]
    return run


@pytest.fixture
def k3() -> Iterator[kingdee_fake.FakeKingdee]:
    fake = kingdee_fake.FakeKingdee()
    kingdee_fake.seed(fake)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def erp() -> Iterator[erpnext_fake.FakeErpNext]:
    fake = erpnext_fake.FakeErpNext()
    erpnext_fake.seed(fake)
    fake.start()
    yield fake
    fake.stop()


def test_kingdee_open_purchase_orders_are_the_pair_s_on_order(
        imports: ImportService, services: Any, k3: kingdee_fake.FakeKingdee) -> None:
    imports.add_source("k3", "kingdee", {
        "url": f"{k3.url}/k3cloud/", "acct_id": k3.acct_id, "username": "api", "password": "pw",
        "org": "100", "po_warehouse": "CK001", "page_size": "2"})
    sync(imports, "k3")
    # CGDD000001: 10 boxes ordered, FRemainStockINQty 6 still to come; a box is 100 pieces
    # (FBaseUnitQty 1000 for FQty 10): 600 in the material's base unit
    found = levels(services)
    assert found[("1.01.001", "CK001")] == (1200.0, 50.0, 600.0)
    assert found[("1.01.001", "CK003")][2] == 0.0
    sync(imports, "k3")  # again: the same on order, not twice
    assert levels(services)[("1.01.001", "CK001")] == (1200.0, 50.0, 600.0)


def test_u8_open_purchase_order_lines_are_the_pair_s_on_order(
        imports: ImportService, services: Any, tmp_path: Path) -> None:
    fake = u8_fake.FakeU8(f"sqlite:///{tmp_path / 'UFDATA_001_2024.db'}")
    u8_fake.seed(fake)
    try:
        imports.add_source("u8", "u8", {"url": fake.url, "po_warehouse": "01",
                                        "page_size": "2"})
        sync(imports, "u8")
        found = levels(services)
        # PO0001 line 101: 500 ordered, 150 received (the lines stand over CurrentStock's
        # fInQuantity of 300); its closed line, the closed order and the order not yet
        # approved add nothing
        assert found[("0101001", "01")][2] == 350.0
        assert found.get(("0201001", "01"), (0.0, 0.0, 0.0))[2] == 0.0
        with fake.engine.begin() as conn:  # the rest arrives: the line is done
            conn.execute(u8_fake.PO_Podetails.update().where(u8_fake.PO_Podetails.c.ID == 101)
                         .values(iReceivedQTY=500))
        sync(imports, "u8")
        assert levels(services)[("0101001", "01")][2] == 0.0
    finally:
        fake.drop()


def test_erpnext_item_suppliers_become_the_sku_s_supplier_links(
        imports: ImportService, services: Any, erp: erpnext_fake.FakeErpNext) -> None:
    imports.add_source("erp", "erpnext", {"url": erp.url, "api_key": erp.key,
                                          "api_secret": erp.secret, "page_size": "2"})
    sync(imports, "erp")
    with services.uow() as uow:
        skus = {s["code"]: s for s in catalog.list_rows(uow.conn, "skus")}
    assert sorted((ln["supplier"], ln["preferred"]) for ln in skus["SKU-0001"]["suppliers"]) == [
        ("Acme", False), ("Mill", True)]
    assert [(ln["supplier"], ln["preferred"]) for ln in skus["SKU-0002"]["suppliers"]] == [
        ("Acme", True)]
    second = sync(imports, "erp", mode="incremental")
    assert (second["counts"]["created"], second["counts"]["updated"]) == (0, 0)
