"""The packed demand windows (``stock_levels.demand_packed``, issue #16) on SQLite and
PostgreSQL: written by the event path with every JSON window, packed from the JSON ones by
migration 0022, and what the whole-catalogue what-if reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import insert, select, update

from engine.metrics import DemandWindow
from engine.services import what_if
from engine.storage.database import alembic_config, downgrade, make_engine, upgrade
from engine.storage.tables import skus, stock_levels, warehouses


def _levels(url: str) -> list[Any]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(stock_levels.c.sku_id, stock_levels.c.warehouse_id,
                                   stock_levels.c.demand_window, stock_levels.c.demand_packed)
                            .order_by(stock_levels.c.sku_id)).all()
        pairs = what_if.read_pairs(conn)
    engine.dispose()
    return rows, pairs


def test_the_event_path_writes_each_window_packed_too(client, admin_headers, clock, db_url) -> None:
    def put(path: str, body: Any) -> None:
        assert client.put(path, json=body, headers=admin_headers).status_code == 200

    put("/api/v1/warehouses", [{"code": "WH", "name": "上海仓"}])
    put("/api/v1/skus", [{"code": "FAN", "name": "电扇"}, {"code": "TEA", "name": "茶"}])
    now = clock.now()
    events = [{"id": f"s-{n}", "type": "sale", "sku": "FAN", "warehouse": "WH",
               "qty": [3, 0.5, 7][n % 3], "at": (now - timedelta(days=n)).isoformat()}
              for n in range(1, 40)]
    events.append({"id": "c-tea", "type": "count", "sku": "TEA", "warehouse": "WH", "qty": 5,
                   "at": now.isoformat()})
    answer = client.post("/api/v1/events", json=events, headers=admin_headers)
    assert answer.json["accepted"] == len(events), answer.json
    rows, pairs = _levels(db_url)
    assert len(rows) == 2
    fan = next(r for r in rows if r.demand_window and r.demand_window["qty"])
    window = fan.demand_window if isinstance(fan.demand_window, dict) else json.loads(fan.demand_window)
    assert bytes(fan.demand_packed) == DemandWindow.from_dict(window).to_packed()
    assert DemandWindow.from_packed(bytes(fan.demand_packed)).to_dict() == window
    assert {(p[0], p[1]): p[-1] for p in pairs}[(fan.sku_id, fan.warehouse_id)] == \
        bytes(fan.demand_packed)


def test_migration_0022_packs_the_windows_already_stored(db_url) -> None:
    script = ScriptDirectory.from_config(alembic_config(db_url))
    before = script.get_revision("0022").down_revision
    downgrade(db_url, str(before))
    now = datetime(2026, 11, 5, tzinfo=UTC)
    windows = [{"start": "2026-10-01", "qty": [1, 0, 2.5, 0, 7] * 6, "last": "2026-10-30"},
               {"start": None, "qty": [], "last": "2026-09-01"},
               {"start": "2026-10-20", "qty": [0, 0, 4, 0], "last": "2026-10-22"},
               None]
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(insert(warehouses), [{"code": "WH", "name": "w", "updated_at": now}])
        wh = conn.execute(select(warehouses.c.id)).scalar_one()
        for i, window in enumerate(windows):
            sku = conn.execute(insert(skus).values(code=f"S{i}", name=f"s{i}", tags=[],
                                                   attributes={}, updated_at=now)
                               .returning(skus.c.id)).scalar_one()
            conn.execute(insert(stock_levels.c.sku_id.table).from_select(
                ["sku_id", "warehouse_id"], select(sku, wh)))
            conn.execute(update(stock_levels).where(stock_levels.c.sku_id == sku)
                         .values(demand_window=window))
    engine.dispose()
    upgrade(db_url, "0022")
    upgrade(db_url)
    rows, pairs = _levels(db_url)
    assert [bytes(r.demand_packed) if r.demand_packed is not None else None for r in rows] == \
        [DemandWindow.from_dict(w).to_packed() if w else None for w in windows]
    assert DemandWindow.from_packed(bytes(rows[0].demand_packed)).stats(now.date(), 28) == \
        DemandWindow.from_dict(windows[0]).stats(now.date(), 28)
