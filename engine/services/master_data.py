"""Reading master data into the plain dicts that conditions see as ``sku.*`` and ``warehouse.*``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from engine.storage.tables import skus, warehouses

SKU_FACT_COLUMNS = ("code", "name", "category", "tags", "unit", "unit_cost", "abc_class", "attributes")


def sku_facts(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {k: m[k] for k in SKU_FACT_COLUMNS if m[k] is not None}


def warehouse_facts(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {k: m[k] for k in ("code", "name", "region") if m[k] is not None}


def all_skus(conn: Connection) -> list[dict[str, Any]]:
    return [sku_facts(r) for r in conn.execute(select(skus).order_by(skus.c.code))]


def all_warehouses(conn: Connection) -> list[dict[str, Any]]:
    return [warehouse_facts(r) for r in conn.execute(select(warehouses).order_by(warehouses.c.code))]
