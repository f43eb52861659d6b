"""The driver-level bulk writes store what SQLAlchemy would, in the caller's transaction."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text

from engine.storage import bulk
from engine.storage.database import make_engine
from engine.storage.tables import (
    OPEN_ALERT_PREDICATE,
    alerts,
    demand_days,
    stock_events,
    stock_levels,
)

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
CST = timezone(timedelta(hours=8))
COLUMNS = ("event_id", "type", "sku_id", "warehouse_id", "qty", "at", "ref", "payload",
           "received_at", "applied", "batch_id")


def _event(i: int, at: datetime = NOW) -> tuple[object, ...]:
    return (f"E{i}", "sale", 1 + i % 3, 1, float(i), at, None if i % 2 else f"R{i}",
            {"id": f"E{i}", "n": i, "nested": {"ü": [1, 2.5]}}, NOW, i % 2 == 0, None)


def test_insert_returning_skips_conflicts_and_spans_several_statements(engine):
    n = bulk.MAX_ROWS * 2 + 7
    with engine.begin() as conn:
        first = bulk.insert_returning(conn, stock_events, COLUMNS, [_event(i) for i in range(0, n, 2)],
                                      ("id", "event_id"), "ON CONFLICT (event_id) DO NOTHING")
        again = bulk.insert_returning(conn, stock_events, COLUMNS, [_event(i) for i in range(n)],
                                      ("id", "event_id"), "ON CONFLICT (event_id) DO NOTHING")
        ids = {event_id: row_id for row_id, event_id in conn.execute(
            select(stock_events.c.id, stock_events.c.event_id))}
    assert sorted(e for _, e in first) == sorted(f"E{i}" for i in range(0, n, 2))
    assert sorted(e for _, e in again) == sorted(f"E{i}" for i in range(1, n, 2))  # only new ones
    assert {e: i for i, e in first + again} == ids


def test_values_read_back_as_sqlalchemy_writes_them(engine):
    at = datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=CST)
    with engine.begin() as conn:
        bulk.insert_returning(conn, stock_events, COLUMNS, [_event(1, at)], ("id",))
        conn.execute(insert(stock_events), dict(zip(COLUMNS, _event(2, at), strict=True)))
        rows = {r.event_id: r for r in conn.execute(select(stock_events))}
        # the stored form is the same (on SQLite: the same datetime text), so comparisons agree
        same_at = conn.execute(select(func.count()).select_from(stock_events)
                               .where(stock_events.c.at == at)).scalar_one()
    mine, theirs = rows["E1"], rows["E2"]
    assert mine.at == theirs.at == at
    assert mine.at.tzinfo is not None
    assert mine.payload == {"id": "E1", "n": 1, "nested": {"ü": [1, 2.5]}}
    assert mine.applied is False and theirs.applied is True
    assert mine.qty == 1.0 and mine.ref is None and mine.batch_id is None
    assert same_at == 2


def test_insert_many_upserts_and_update_many_updates(engine):
    day = date(2026, 11, 20)
    with engine.begin() as conn:
        bulk.insert_many(conn, stock_levels, ("sku_id", "warehouse_id"), [(1, 1), (2, 1)],
                         "ON CONFLICT (sku_id, warehouse_id) DO NOTHING")
        bulk.insert_many(conn, stock_levels, ("sku_id", "warehouse_id"), [(1, 1), (3, 1)],
                         "ON CONFLICT (sku_id, warehouse_id) DO NOTHING")
        upsert = ("ON CONFLICT (sku_id, warehouse_id, day) "
                  "DO UPDATE SET qty = demand_days.qty + excluded.qty")
        bulk.insert_many(conn, demand_days, ("sku_id", "warehouse_id", "day", "qty"),
                         [(1, 1, day, 2.0), (2, 1, day, 1.0)], upsert)
        bulk.insert_many(conn, demand_days, ("sku_id", "warehouse_id", "day", "qty"),
                         [(1, 1, day, 3.5)], upsert)
        bulk.update_many(conn, stock_levels, ("on_hand", "last_event_at", "last_sale_day", "demand_window"),
                         ("sku_id", "warehouse_id"),
                         [(5.0, NOW, day, {"start": "2026-11-20", "qty": [2], "last": None}, 1, 1),
                          (7.0, None, None, None, 2, 1)],
                         also="version = version + 1")
        levels = {r.sku_id: r for r in conn.execute(select(stock_levels))}
        demand = {r.sku_id: (r.day, r.qty) for r in conn.execute(select(demand_days))}
    assert sorted(levels) == [1, 2, 3]
    assert (levels[1].on_hand, levels[1].last_event_at, levels[1].last_sale_day) == (5.0, NOW, day)
    assert levels[1].demand_window == {"start": "2026-11-20", "qty": [2], "last": None}
    assert (levels[2].on_hand, levels[2].demand_window, levels[2].version) == (7.0, None, 1)
    assert (levels[3].on_hand, levels[3].version) == (0.0, 0)
    assert demand == {1: (day, 5.5), 2: (day, 1.0)}


def test_open_alert_conflict_on_the_partial_index_many_times(engine):
    # psycopg prepares a statement after a few executions: the literal predicate keeps working.
    cols = ("rule", "rule_version", "sku_id", "warehouse_id", "severity", "owner", "state",
            "opened_at", "last_hit_at", "resolved_at", "resolution", "hits", "facts")
    suffix = f"ON CONFLICT (rule, sku_id, warehouse_id) WHERE {OPEN_ALERT_PREDICATE} DO NOTHING"

    def row(sku: int, state: str = "open") -> tuple[object, ...]:
        return ("r", 1, sku, 1, "low", None, state, NOW, NOW, None, None, 1, {"a": sku})

    with engine.begin() as conn:
        made = [bulk.insert_returning(conn, alerts, cols, [row(1 + i % 3)], ("id", "sku_id"), suffix)
                for i in range(9)]
        conn.execute(text("UPDATE alerts SET state = 'resolved' WHERE sku_id = 1"))
        reopened = bulk.insert_returning(conn, alerts, cols, [row(1), row(2)], ("id", "sku_id"), suffix)
    assert [len(m) for m in made] == [1, 1, 1] + [0] * 6
    assert [sku for _, sku in reopened] == [1]


def test_a_rollback_takes_the_bulk_rows_with_it(engine):
    with engine.connect() as conn:
        bulk.insert_returning(conn, stock_events, COLUMNS, [_event(1)], ("id",))
        conn.rollback()
        assert conn.execute(select(func.count()).select_from(stock_events)).scalar_one() == 0


def test_select_by_pairs_reads_what_sqlalchemy_reads(engine):
    day = date(2026, 11, 20)
    window = {"start": "2026-11-19", "qty": [1, 0, 2.5], "last": "2026-11-21"}
    with engine.begin() as conn:
        conn.execute(insert(stock_levels), {"sku_id": 1, "warehouse_id": 1, "on_hand": 4.5,
                                            "last_event_at": NOW, "last_sale_day": day,
                                            "demand_window": window})
        conn.execute(insert(stock_levels), {"sku_id": 2, "warehouse_id": 1})
        cols = [c.name for c in stock_levels.c]
        # more keys than one statement takes; most of them have no row
        keys = [(1, 1), (2, 1), (3, 1)] + [(s, w) for s in range(10, 40) for w in range(2, 80)]
        assert len(keys) > bulk.MAX_PAIRS
        mine = sorted(bulk.select_by_pairs(conn, stock_levels, cols, keys, lock=True))
        theirs = sorted(tuple(r) for r in conn.execute(select(stock_levels)))
    assert mine == theirs
    first = dict(zip(cols, mine[0], strict=True))
    assert (first["last_event_at"], first["last_sale_day"], first["demand_window"]) == (NOW, day, window)


def test_select_by_pairs_filters_and_takes_the_latest(engine):
    cols = ("rule", "rule_version", "sku_id", "warehouse_id", "severity", "owner", "state",
            "opened_at", "last_hit_at", "resolved_at", "resolution", "hits", "facts")
    later = NOW + timedelta(hours=3)
    with engine.begin() as conn:
        conn.execute(insert(alerts), [dict(zip(cols, row, strict=True)) for row in [
            ("r", 1, 1, 1, "low", None, "resolved", NOW, NOW, NOW, "auto", 1, {}),
            ("r", 1, 1, 1, "low", None, "resolved", NOW, NOW, later, "auto", 1, {}),
            ("q", 1, 1, 1, "low", None, "open", NOW, NOW, None, None, 2, {}),
            ("r", 1, 2, 1, "low", None, "acknowledged", NOW, NOW, None, None, 1, {}),
            ("r", 1, 3, 1, "low", None, "open", NOW, NOW, None, None, 1, {})]])
        keys = [(1, 1), (2, 1)]
        open_ = bulk.select_by_pairs(conn, alerts, ("rule", "sku_id", "hits"), keys,
                                     where=f"t.{OPEN_ALERT_PREDICATE}")
        latest = bulk.select_by_pairs(conn, alerts, ("rule", "sku_id", "warehouse_id"), keys,
                                      where="t.resolved_at IS NOT NULL", max_of="resolved_at")
    assert sorted(open_) == [("q", 1, 2), ("r", 2, 1)]
    assert latest == [("r", 1, 1, later)]


@pytest.mark.parametrize("at", [
    datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=CST),
    datetime(2026, 1, 1, 0, 0, tzinfo=CST),  # a day and a year earlier in UTC, no microseconds
    datetime(999, 5, 6, 7, 8, 9, 10, tzinfo=UTC),
])
def test_the_stored_form_is_sqlalchemys_to_the_byte(engine, at):
    payload = {"id": "x", "ü": "中文", "q": [1, 2.5, -0.0, 1e20, None, True], "n": {"a": {}}}
    row = ("E", "sale", 1, 1, 2.0, at, "r", payload, NOW, True, 7)
    with engine.begin() as conn:
        bulk.insert_returning(conn, stock_events, COLUMNS, [row], ("id",))
        conn.execute(insert(stock_events), dict(zip(COLUMNS, ("F", *row[1:]), strict=True)))
        stored = conn.exec_driver_sql(
            "SELECT type, sku_id, warehouse_id, qty, at, ref, payload, received_at, applied, batch_id "
            "FROM stock_events ORDER BY event_id").fetchall()
    assert stored[0] == stored[1]
    with pytest.raises(ValueError):
        with engine.begin() as conn:
            bulk.insert_returning(conn, stock_events, COLUMNS, [(*row[:5], datetime(2026, 1, 1), *row[6:])],
                                  ("id",))


def test_the_apply_jobs_query_reads_the_unapplied_index(engine):
    """The apply job asks for the unapplied events in id order on every pass: the partial index
    must serve it (the query's WHERE has to say what the index's does, per dialect)."""
    query = (select(stock_events.c.id).where(stock_events.c.applied.is_(False))
             .order_by(stock_events.c.id).limit(5000))
    with engine.connect() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            plan = " ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
        else:
            conn.execute(text("SET LOCAL enable_seqscan = off"))  # the table is tiny here
            plan = " ".join(r[0] for r in conn.execute(text("EXPLAIN " + sql)))
    assert "ix_stock_events_unapplied" in plan, plan


@pytest.mark.parametrize("day", [date(2026, 11, 20), date(999, 1, 2),
                                 datetime(2026, 11, 20, 23, 59)])
def test_dates_are_stored_as_sqlalchemy_stores_them(engine, day):
    with engine.begin() as conn:
        bulk.insert_many(conn, demand_days, ("sku_id", "warehouse_id", "day", "qty"),
                         [(1, 1, day, 1.0)])
        conn.execute(insert(demand_days), {"sku_id": 2, "warehouse_id": 1, "day": day, "qty": 1.0})
        stored = conn.exec_driver_sql("SELECT day FROM demand_days ORDER BY sku_id").fetchall()
    assert stored[0] == stored[1]


def _answer(read):  # type: ignore[no-untyped-def]
    try:
        return read()
    except ValueError as exc:
        return str(exc)


@pytest.mark.parametrize("stored", [
    "2026-11-20 08:00:00.000000", "2026-11-20 08:00:00.123456", "0999-05-06 07:08:09.000010",
    "2026-11-20 08:00:00", "2026-11-20T08:00:00.000000", "2026-11-20 16:00:00.000000+08:00", None,
    "2026-13-20 08:00:00.000000",
])
def test_utc_datetimes_are_read_as_sqlalchemy_reads_them(engine, stored):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's datetime text")
    with engine.begin() as conn:
        conn.execute(insert(stock_levels), {"sku_id": 1, "warehouse_id": 1})
        conn.exec_driver_sql("UPDATE stock_levels SET last_event_at = ?", (stored,))
        mine = _answer(lambda: bulk.select_by_pairs(
            conn, stock_levels, ("last_event_at",), [(1, 1)])[0][0])
        theirs = _answer(lambda: conn.execute(select(stock_levels.c.last_event_at)).scalar_one())
    assert mine == theirs and type(mine) is type(theirs)  # a bad one: the same error message
    assert not isinstance(mine, datetime) or mine.tzinfo is theirs.tzinfo


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=4)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(members=st.lists(json_values, min_size=1, max_size=5),
       picks=st.lists(st.lists(st.tuples(st.text(max_size=3), st.integers(0, 4)), max_size=4),
                      max_size=6))
def test_json_columns_share_members_and_write_what_json_dumps_writes(members, picks):
    """Objects whose members are shared (the same objects, as an event's facts in its alerts)
    are written exactly as json.dumps writes each of them, and so is anything else."""
    values = [{key: members[i % len(members)] for key, i in pick} for pick in picks]
    values += [members[0], [members[0]], {"a": 1, "b": members[0]}, {1: [], "x": {}}]
    engine = make_engine("sqlite://")
    with engine.connect() as conn:
        (_, proc), = bulk._processors(conn, alerts, ("facts",))
        assert proc in bulk._JSON_COLUMNS
        assert bulk._json_texts(values, proc) == [json.dumps(v) for v in values]


def test_rows_go_in_statements_of_a_few_sizes_only():
    sizes = set()
    for n in range(0, 2 * bulk.MAX_ROWS + 300):
        chunks = list(bulk._chunks(n, bulk.MAX_ROWS))
        assert [i for start, stop in chunks for i in range(start, stop)] == list(range(n))
        assert len(chunks) <= n // bulk.MAX_ROWS + bulk.MAX_ROWS.bit_length()
        sizes.update(stop - start for start, stop in chunks)
    assert sizes == {bulk.MAX_ROWS} | {1 << i for i in range(bulk.MAX_ROWS.bit_length())}
    # not on SQLite: full statements, then the rest in one (each statement is a round trip)
    assert list(bulk._chunks(2 * bulk.MAX_ROWS + 300, bulk.MAX_ROWS, sqlite=False)) == [
        (0, bulk.MAX_ROWS), (bulk.MAX_ROWS, 2 * bulk.MAX_ROWS), (2 * bulk.MAX_ROWS, 2 * bulk.MAX_ROWS + 300)]
