"""Helpers of the import tests (a module of its own: ``conftest`` is a name several folders use)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.imports.service import ImportService
from engine.storage.tables import skus, stock_levels, warehouses


def levels(services: Any) -> dict[tuple[str, str], tuple[float, float, float]]:
    with services.uow() as uow:
        rows = uow.conn.execute(
            select(skus.c.code, warehouses.c.code, stock_levels.c.on_hand, stock_levels.c.reserved,
                   stock_levels.c.on_order_erp)
            .join(skus, skus.c.id == stock_levels.c.sku_id)
            .join(warehouses, warehouses.c.id == stock_levels.c.warehouse_id))
        return {(s, w): (a, b, c) for s, w, a, b, c in rows}


def run_file(imports: ImportService, path: Path, kind: str | None, plugin: str = "csv",
             **kw: Any) -> dict[str, Any]:
    run_id = imports.start_file_run(plugin, str(path), kind=kind, actor="test", **kw)
    return imports.run(run_id)
