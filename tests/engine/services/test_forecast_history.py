"""The forecast job's history matrix (``forecasts.history``), read a page at a time as numbers,
is the recorded daily demand, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import insert

from engine.services import forecasts
from engine.storage.database import make_engine
from engine.storage.tables import demand_days, skus, warehouses

LAST = date(2026, 12, 30)


def test_the_history_is_the_recorded_demand(db_url, monkeypatch) -> None:
    now = datetime(2026, 12, 31, tzinfo=UTC)
    recorded = {(1, 1): {LAST: 4.0, LAST - timedelta(3): 2.5, LAST - timedelta(40): 0.0},
                (1, 2): {LAST - timedelta(9): 7.0, LAST - timedelta(800): 9.0},  # too old
                (2, 1): {LAST - timedelta(1): 1.0},  # not asked for: left out
                (3, 2): {LAST + timedelta(1): 5.0}}  # after the last day
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(insert(warehouses), [{"code": f"W{i}", "name": "w", "updated_at": now}
                                          for i in (1, 2)])
        conn.execute(insert(skus), [{"code": f"S{i}", "name": "s", "tags": [], "attributes": {},
                                     "updated_at": now} for i in (1, 2, 3)])
        conn.execute(insert(demand_days), [{"sku_id": s, "warehouse_id": w, "day": d, "qty": q}
                                           for (s, w), days in recorded.items()
                                           for d, q in days.items()])
        monkeypatch.setattr(forecasts, "PAGE", 2)  # several pages
        pairs = [(3, 2), (1, 2), (1, 1)]
        y = forecasts.history(conn, pairs, LAST, days=60)
    engine.dispose()
    assert y.shape == (3, 60)
    assert np.isnan(y[0]).all()  # nothing up to the last day
    assert np.isnan(y[1, :50]).all() and y[1, 50] == 7.0 and (y[1, 51:] == 0).all()
    assert np.isnan(y[2, :19]).all()  # from its first recorded day (a 0) on
    expected = np.zeros(41)
    expected[-4], expected[-1] = 2.5, 4.0
    assert (y[2, 19:] == expected).all()
