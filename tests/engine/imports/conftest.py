"""Fixtures of the import tests: the service with the built-in importers and the fake ERP,
and master data to import stock against."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from engine.imports.plugin import load_importers
from engine.imports.service import ImportService
from engine.services import catalog

sys.path.insert(0, str(Path(__file__).parent))
from fake_erp import importer as fake_erp
from imports_support import levels, run_file  # noqa: F401  (for the tests)


@pytest.fixture
def imports(services: Any) -> ImportService:
    return ImportService(services, {**load_importers(), "fakeerp": fake_erp})


@pytest.fixture
def seeded(services: Any) -> Any:
    now = services.clock.now()
    with services.uow() as uow:
        catalog.put_rows(uow.conn, "warehouses", [
            {"code": "WH-SH", "name": "上海仓"}, {"code": "WH-BJ", "name": "北京仓"}], "t", now)
        catalog.put_rows(uow.conn, "suppliers", [
            {"code": "SUP", "name": "供应商", "lead_time_days": 7}], "t", now)
        catalog.put_rows(uow.conn, "skus", [
            {"code": c, "name": c, "unit_cost": 2.0} for c in ("001001", "001002", "A")], "t", now)
        uow.commit()
    return services
