"""Fixtures shared by the engine's storage and service tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert

from engine.storage.database import make_engine
from engine.storage.tables import skus, warehouses


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A database (SQLite, and PostgreSQL when configured) with one warehouse, W (id 1), and
    three SKUs, S0–S2 (ids 1–3): what rows keyed by SKU and warehouse need to exist."""
    engine = make_engine(db_url)
    at = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(warehouses), {"code": "W", "name": "w", "updated_at": at})
        conn.execute(insert(skus), [{"code": f"S{i}", "name": "s", "tags": [], "attributes": {},
                                     "updated_at": at} for i in range(3)])
    yield engine
    engine.dispose()
