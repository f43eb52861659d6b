"""The inbox's queries match the partial indexes of migration 0024 (issue #18, PostgreSQL):
the first page in urgency order from ix_tasks_open_urgency (its CASE as PostgreSQL plans the
query's SEVERITY_RANK with the values bound), the count of cases from ix_tasks_open_pair. With
sorting, hashing and sequential scans discouraged, a query the index does not match shows in
the plan; the count is also checked against tasks without a SKU×warehouse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, insert, select, text

from engine.services import inbox
from engine.storage.database import make_engine
from engine.storage.tables import tasks

NOW = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)


def plan(conn: Connection, statement: object) -> str:
    compiled = statement.compile(  # type: ignore[attr-defined]
        conn, compile_kwargs={"render_postcompile": True})
    rows = conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
    return "\n".join(r[0] for r in rows)


def test_the_inbox_reads_its_first_page_and_count_from_the_open_tasks_indexes(
        db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(insert(tasks), [
            {"id": n, "alert_id": None, "action_key": f"k{n}", "title": "t", "workflow": "w",
             "state": "open", "closed": n % 5 == 0, "role": "buyer", "severity": severity,
             "due_at": NOW + timedelta(hours=n) if n % 3 else None, "data": {},
             "created_at": NOW, "updated_at": NOW, "version": 1,
             "sku_id": n % 4 if n % 7 else None, "warehouse_id": 1 if n % 7 else None}
            for n, severity in enumerate(["high", "low", "critical", "info", "medium"] * 8,
                                         start=1)])
        query = inbox.InboxQuery(roles=("buyer",), viewer="alice")
        total, rows = inbox.search(conn, query, 10, 0, NOW)
        open_rows = conn.execute(select(tasks.c.id, tasks.c.sku_id, tasks.c.warehouse_id)
                                 .where(tasks.c.closed.is_(False))).all()
        pairs = {(s, w) if s is not None else (-i, 0) for i, s, w in open_rows}
        assert total == len(pairs) == len(rows) == 8  # 4 pairs, 4 tasks without one
        if conn.dialect.name != "postgresql":
            engine.dispose()
            pytest.skip("the indexes' plans are PostgreSQL's")
        for setting in ("enable_seqscan", "enable_sort", "enable_incremental_sort",
                        "enable_hashagg", "enable_bitmapscan"):
            conn.execute(text(f"SET LOCAL {setting} = off"))
        where = inbox._where(query, NOW)
        first = (select(tasks.c.id).select_from(inbox._joined()).where(*where)
                 .order_by(*inbox._order("urgency")).limit(10))
        assert "ix_tasks_open_urgency" in plan(conn, first)
        # the index gives the order up to the due time, the rank sorted within one
        conn.execute(text("SET LOCAL enable_incremental_sort = on"))
        overdue = inbox.InboxQuery(roles=("buyer",), viewer="alice", sort="due", overdue=True)
        by_due = (select(tasks.c.id).select_from(inbox._joined())
                  .where(*inbox._where(overdue, NOW)).order_by(*inbox._order("due")).limit(10))
        # on these few rows the index of (closed, role, due) is as cheap: without it (in a
        # savepoint rolled back), the plan must find the one whose expression matches
        dropped = conn.begin_nested()
        conn.execute(text("DROP INDEX ix_tasks_closed_role_due"))
        assert "ix_tasks_open_due" in plan(conn, by_due)
        dropped.rollback()
        pairs_q = (select(tasks.c.sku_id, tasks.c.warehouse_id).where(
            *where, tasks.c.sku_id.is_not(None)).distinct()
            .order_by(tasks.c.sku_id, tasks.c.warehouse_id))
        assert "ix_tasks_open_pair" in plan(conn, pairs_q)
    engine.dispose()
