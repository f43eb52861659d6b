"""The handling report's figures, now counted by the database (issue #18): outcomes (a text
``outcome`` answer only), overdue tasks (closed late, or open past due), groups by pair and
stock-outs per local day, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, text

from engine.services import kpis
from engine.storage.database import make_engine
from engine.storage.tables import alerts, skus, tasks, warehouses

NOW = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")


def test_outcomes_overdue_groups_and_days_are_counted_as_before(db_url: str) -> None:
    engine = make_engine(db_url)
    h = timedelta(hours=1)
    start, end = NOW - timedelta(days=2), NOW + h
    with engine.begin() as conn:
        conn.execute(insert(warehouses), [{"id": 1, "code": "W1", "name": "w", "updated_at": NOW}])
        conn.execute(insert(skus), [{"id": i, "code": f"S{i}", "name": "s", "tags": [],
                                     "attributes": {}, "updated_at": NOW} for i in (1, 2, 3)])
        # alert 1 opened 16:30 UTC = 00:30 the next day in Shanghai; 2 ran out; 3 before the period
        opened = [NOW - timedelta(hours=15, minutes=30), NOW - 3 * h, NOW - timedelta(days=3)]
        conn.execute(insert(alerts), [
            {"id": i + 1, "rule": "r-a" if i else "r-b", "rule_version": 1, "sku_id": i + 1,
             "warehouse_id": 1, "severity": "high", "state": "open", "opened_at": at,
             "last_hit_at": at, "acknowledged_at": at + 2 * h if i == 0 else None,
             "facts": {"stock": {"available": -1 if i == 1 else 5}}}
            for i, at in enumerate(opened)])

        def task(n: int, alert: int, closed: bool, state: str, data: dict, due: datetime,
                 updated: datetime) -> dict:
            return {"id": n, "alert_id": alert, "action_key": f"create_task:{n}", "title": "t",
                    "workflow": "w", "state": state, "closed": closed, "role": "buyer",
                    "severity": "high", "due_at": due, "data": data, "created_at": NOW - 2 * h,
                    "updated_at": updated, "version": 1,
                    "sku_id": alert, "warehouse_id": 1}

        conn.execute(insert(tasks), [
            task(1, 1, True, "done", {"outcome": "replenished"}, NOW, NOW - h),  # on time
            task(2, 1, True, "done", {"outcome": 3}, NOW - h, NOW),  # late; a number: none
            task(3, 2, True, "cancelled", {"outcome": ""}, NOW + h, NOW),  # empty: none
            task(4, 2, False, "open", {"outcome": "x"}, NOW - h, NOW),  # open, overdue
            task(5, 2, False, "open", {}, NOW + h, NOW),
        ])
        def group_of(sku: int, wh: int) -> tuple[str, ...]:
            return ("g1", "g2") if sku == 1 else ()

        figures = kpis.handling(conn, start, end, NOW, TZ, group_of)
        # counted over the columns, as Snapshot.tally_by_groups does: the same figures
        by_columns = kpis.handling(conn, start, end, NOW, TZ, tally=lambda s, w, k: Counter(
            (group_of(*pair), key) for *pair, key in zip(s, w, k)))
    engine.dispose()
    assert by_columns == figures
    assert figures["alerts"] == 2
    assert figures["acknowledge"] == {"n": 1, "median": 2.0, "mean": 2.0}
    assert figures["resolve"] == {"n": 0, "median": None, "mean": None}
    t = figures["tasks"]
    assert (t["total"], t["closed"], t["overdue"], t["overdue_share"]) == (5, 3, 2, 0.4)
    assert t["by"]["rule"] == {"r-a": {"cancelled": 1, "open": 2},
                               "r-b": {"done:replenished": 1, "done": 1}}
    assert t["by"]["role"] == {"buyer": {"done:replenished": 1, "done": 1, "cancelled": 1,
                                         "open": 2}}
    assert t["by"]["group"] == {"": {"cancelled": 1, "open": 2},
                                "g1": {"done:replenished": 1, "done": 1},
                                "g2": {"done:replenished": 1, "done": 1}}
    days = {d["day"]: (d["opened"], d["stockouts"]) for d in figures["days"]}
    assert days == {"2026-12-06": (0, 0), "2026-12-07": (0, 0), "2026-12-08": (2, 1)}


def test_days_are_the_local_days_of_python_across_a_dst_change(db_url: str) -> None:
    """The database puts each alert on the local day ``astimezone`` gives, at a midnight's
    either side and over a DST change (New York, 2026-11-01 02:00 EDT → 01:00 EST); an alert
    after the last day counts in the total only (the dashboard's trend has no upper bound)."""
    tz = ZoneInfo("America/New_York")
    start = datetime(2026, 10, 31, 4, 0, tzinfo=UTC)  # 10-31 00:00 EDT
    end = datetime(2026, 11, 3, 5, 0, tzinfo=UTC)  # 11-03 00:00 EST: three days
    second = timedelta(seconds=1)
    times = [start, start + second, datetime(2026, 11, 1, 4, 0, tzinfo=UTC) - second,
             datetime(2026, 11, 1, 4, 0, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
             datetime(2026, 11, 2, 5, 0, tzinfo=UTC) - second,
             datetime(2026, 11, 2, 5, 0, tzinfo=UTC), end - second, end, end + 30 * second]
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(insert(warehouses), [{"id": 1, "code": "W1", "name": "w", "updated_at": NOW}])
        conn.execute(insert(skus), [{"id": i, "code": f"S{i}", "name": "s", "tags": [],
                                     "attributes": {}, "updated_at": NOW} for i in (1, 2)])
        conn.execute(insert(alerts), [
            {"id": n + 1, "rule": f"r{n}", "rule_version": 1, "sku_id": 1 + n % 2,
             "warehouse_id": 1, "severity": "high", "state": "open", "opened_at": at,
             "last_hit_at": at, "facts": {"stock": {"available": 0 if n < 6 else 3}}}
            for n, at in enumerate(times)])
        days, total = kpis._days(conn, alerts.c.opened_at >= start, start, end, tz)
    engine.dispose()
    opened: dict[str, int] = {}
    ran_out: dict[str, set[int]] = {}
    for n, at in enumerate(times):
        day = at.astimezone(tz).date().isoformat()
        opened[day] = opened.get(day, 0) + 1
        if n < 6:
            ran_out.setdefault(day, set()).add(1 + n % 2)
    expected = [{"day": d, "opened": opened.get(d, 0), "stockouts": len(ran_out.get(d, ()))}
                for d in ("2026-10-31", "2026-11-01", "2026-11-02")]
    assert days == expected
    assert [d["opened"] for d in days] == [3, 3, 2] and total == len(times)


def test_stock_outs_are_read_from_the_index_of_alerts_that_ran_out(db_url: str) -> None:
    """On PostgreSQL the day's stock-outs come from ix_alerts_ran_out (migration 0024): its
    predicate is what the query's facts test becomes with its values bound."""
    if not db_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL index")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        query = (select(alerts.c.opened_at, alerts.c.sku_id, alerts.c.warehouse_id)
                 .where(alerts.c.opened_at >= NOW, kpis.saw_a_stock_out()))
        compiled = query.compile(conn)
        found = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(compiled),
                                                               compiled.params))
    engine.dispose()
    assert "ix_alerts_ran_out" in found
