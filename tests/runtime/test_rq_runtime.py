"""The production runtime on the real Redis: record now, apply in a worker, exactly once."""

from __future__ import annotations

from dataclasses import replace

import pytest
from psycopg.pq import TransactionStatus
from rq import SimpleWorker
from rq.serializers import JSONSerializer
from sqlalchemy import event, func, select

from engine.services import outbox as outbox_service
from engine.services.runner import relay_once, run_outbox
from engine.storage.tables import (
    alerts,
    notifications,
    outbox,
    rejected_events,
    requisitions,
    stock_events,
    tasks,
)
from tests.engine.services.test_replenishment_scenario import history, setup


def work(services) -> None:  # type: ignore[no-untyped-def]
    from engine.worker import use_services

    use_services(services)
    queues = [services.jobs.queue(q) for q in ("events", "notifications")]
    SimpleWorker(queues, connection=services.jobs.connection, serializer=JSONSerializer).work(burst=True)


def counts(services) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with services.db.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar_one()  # type: ignore[return-value]
                     for t in (alerts, tasks, requisitions))


def test_ingest_records_now_and_a_worker_applies(rq_app, admin_headers_rq):
    client, services = rq_app.test_client(), rq_app.extensions["engine"]
    setup(client, admin_headers_rq)
    r = client.post("/api/v1/events", json=history(), headers=admin_headers_rq)
    assert r.status_code == 200 and r.json["accepted"] == 14
    assert counts(services) == (0, 0, 0)  # recorded, not applied yet
    with services.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(stock_events)
                            .where(stock_events.c.applied.is_(False))).scalar_one() == 14
    assert relay_once(services) == 1  # the relay (in every worker) hands the row over
    assert services.jobs.depths()["events"] == 1
    work(services)
    assert counts(services) == (1, 1, 1)
    with services.db.connect() as conn:
        kinds = dict(conn.execute(select(outbox.c.kind, func.count()).where(outbox.c.status == "done")
                                  .group_by(outbox.c.kind)).all())
        note = conn.execute(select(notifications.c.state, notifications.c.last_error)).one()
    # No channel is configured in this test: the message is kept as undeliverable, no job spent.
    assert kinds == {"apply_events": 1}
    assert note.state == "undeliverable" and "not configured" in note.last_error


def test_a_job_run_twice_changes_nothing_the_second_time(rq_app, admin_headers_rq):
    client, services = rq_app.test_client(), rq_app.extensions["engine"]
    setup(client, admin_headers_rq)
    client.post("/api/v1/events", json=history(), headers=admin_headers_rq)
    with services.db.connect() as conn:
        row_id = conn.execute(select(outbox.c.id).where(outbox.c.kind == "apply_events")).scalar_one()
    assert run_outbox(services, row_id) == "done"
    assert run_outbox(services, row_id) == "already done"
    work(services)  # the queued copy of the same job
    assert counts(services) == (1, 1, 1)


def test_ingest_keeps_answering_while_redis_is_down_and_the_relay_catches_up(
        settings, clock, private_redis, admin_token_factory):
    from admin import create_app

    app = create_app(replace(settings, redis_url=private_redis.url), clock)
    client, services = app.test_client(), app.extensions["engine"]
    headers = admin_token_factory(app)
    setup(client, headers)
    private_redis.stop()
    r = client.post("/api/v1/events", json=history(), headers=headers)
    assert r.status_code == 200 and r.json["accepted"] == 14
    health = client.get("/health").json
    assert health["status"] == "degraded" and health["queue"] == "degraded"
    assert relay_once(services) == 0  # Redis is down: the row goes back to pending
    private_redis.start()
    clock.advance(outbox_service.LEASE * 2)
    assert relay_once(services) == 1
    work(services)
    assert counts(services) == (1, 1, 1)
    assert client.get("/health").json["status"] == "ok"
    app.extensions["engine"].close()


def test_an_evicting_redis_is_refused_at_start(settings, clock, private_redis, capsys):
    from redis import Redis

    from admin import create_app

    Redis.from_url(private_redis.url).config_set("maxmemory-policy", "allkeys-lru")
    with pytest.raises(SystemExit):
        create_app(replace(settings, redis_url=private_redis.url), clock)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "noeviction" in err[0]


def test_the_pickle_serializer_is_refused_at_start(settings, clock, capsys):
    from admin import create_app

    with pytest.raises(SystemExit):
        create_app(replace(settings, rq_serializer="pickle"), clock)
    assert "pickle" in capsys.readouterr().err


def test_single_event_requests_go_out_as_one_job_and_are_applied_once(rq_app, admin_headers_rq):
    client, services = rq_app.test_client(), rq_app.extensions["engine"]
    setup(client, admin_headers_rq)
    events = history()
    for event in events:
        r = client.post("/api/v1/events", json=event, headers=admin_headers_rq)
        assert r.status_code == 200 and r.json["accepted"] == 1
    assert relay_once(services) == len(events)  # one outbox row per request …
    assert services.jobs.depths()["events"] == 1  # … handed over as one job
    work(services)
    assert counts(services) == (1, 1, 1)
    with services.db.connect() as conn:
        statuses = set(conn.execute(select(outbox.c.status).where(outbox.c.kind == "apply_events")).scalars())
        unapplied = conn.execute(select(func.count()).select_from(stock_events)
                                 .where(stock_events.c.applied.is_(False))).scalar_one()
    assert statuses == {"done"} and unapplied == 0
    assert relay_once(services) == 0


def test_a_failed_batch_job_notes_the_error_on_every_row_and_its_retry_applies_once(rq_app, admin_headers_rq):
    from sqlalchemy import text

    from engine.services.runner import run_outbox_batch

    client, services = rq_app.test_client(), rq_app.extensions["engine"]
    setup(client, admin_headers_rq)
    for event in history():
        client.post("/api/v1/events", json=event, headers=admin_headers_rq)
    with services.db.connect() as conn:
        ids = list(conn.execute(select(outbox.c.id).where(outbox.c.kind == "apply_events")).scalars())
    # A real fault, no mock: a table the apply needs is missing while the job runs.
    with services.db.begin() as conn:
        conn.execute(text("ALTER TABLE demand_days RENAME TO demand_days_away"))
    try:
        with pytest.raises(Exception):
            run_outbox_batch(services, ids)
    finally:
        with services.db.begin() as conn:
            conn.execute(text("ALTER TABLE demand_days_away RENAME TO demand_days"))
    with services.db.connect() as conn:
        rows = conn.execute(select(outbox.c.status, outbox.c.last_error).where(outbox.c.id.in_(ids))).all()
    assert len(rows) == len(ids) > 1
    assert all(r.status != "done" and "demand_days" in r.last_error for r in rows)
    assert counts(services) == (0, 0, 0)
    assert run_outbox_batch(services, ids) == f"applied {len(ids)} event(s)"
    assert run_outbox_batch(services, ids) == "nothing to do"
    assert counts(services) == (1, 1, 1)


def test_each_recorded_event_names_its_announcing_row_and_duplicates_add_no_row(rq_app, admin_headers_rq):
    # On PostgreSQL the outbox row and the events are written by one statement; on SQLite by
    # two. Either way: one pending row per request that recorded something, named by its events.
    client, services = rq_app.test_client(), rq_app.extensions["engine"]
    setup(client, admin_headers_rq)
    events = history()
    assert client.post("/api/v1/events", json=events[:5], headers=admin_headers_rq).json["accepted"] == 5
    assert client.post("/api/v1/events", json=events[5], headers=admin_headers_rq).json["accepted"] == 1
    again = client.post("/api/v1/events", json=events[:6], headers=admin_headers_rq).json
    assert again["duplicates"] == 6 and again["accepted"] == 0
    with services.db.connect() as conn:
        rows = conn.execute(select(outbox.c.id, outbox.c.kind, outbox.c.status, outbox.c.payload)
                            .order_by(outbox.c.id)).all()
        named = conn.execute(select(stock_events.c.batch_id, func.count()).group_by(stock_events.c.batch_id)
                             .order_by(stock_events.c.batch_id)).all()
    assert [(r.kind, r.status, r.payload) for r in rows] == [("apply_events", "pending", {})] * 2
    assert [tuple(n) for n in named] == [(rows[0].id, 5), (rows[1].id, 1)]
    assert relay_once(services) == 2
    work(services)
    with services.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(stock_events)
                            .where(stock_events.c.applied.is_(False))).scalar_one() == 0


def test_a_batch_is_still_one_transaction_and_a_single_event_needs_none(rq_app, admin_headers_rq):
    client, services = rq_app.test_client(), rq_app.extensions["engine"]
    if services.db.dialect.name != "postgresql":
        pytest.skip("statement commits are a PostgreSQL saving; SQLite keeps BEGIN IMMEDIATE")
    setup(client, admin_headers_rq)
    seen: list[tuple[str, TransactionStatus]] = []

    def note(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "stock_events" in statement or "rejected_events" in statement:
            seen.append((statement.split()[0], conn.connection.driver_connection.info.transaction_status))

    event.listen(services.db, "after_cursor_execute", note)
    try:
        one = history()[0]
        assert client.post("/api/v1/events", json=one, headers=admin_headers_rq).json["accepted"] == 1
        assert seen and all(status == TransactionStatus.IDLE for _, status in seen)  # never in a transaction
        seen.clear()
        bad = dict(one, id="bad-1", sku="NO-SUCH-SKU")
        answer = client.post("/api/v1/events", json=[dict(one, id="next-1"), bad], headers=admin_headers_rq).json
        assert (answer["accepted"], answer["rejected"]) == (1, 1)
        # both writes (the event with its outbox row, the rejection) ran inside one transaction
        assert [s for s, _ in seen if s in ("WITH", "INSERT")] and all(
            status == TransactionStatus.INTRANS for s, status in seen if s in ("WITH", "INSERT"))
    finally:
        event.remove(services.db, "after_cursor_execute", note)
    with services.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(stock_events)).scalar_one() == 2
        assert conn.execute(select(func.count()).select_from(rejected_events)).scalar_one() == 1


def test_a_backlog_over_one_jobs_limit_is_handed_over_again_at_once(rq_app, admin_headers_rq, clock,
                                                                   monkeypatch):
    """A job applies at most APPLY_LIMIT events; the rows still waiting go out on the relay's
    next pass, not when their 60 s leases run out (a 63k-event backlog took 20k a minute)."""
    from datetime import timedelta

    from engine.services import apply

    monkeypatch.setattr(apply, "APPLY_LIMIT", 5)
    monkeypatch.setattr(apply, "APPLY_CHUNK", 5)
    client, services = rq_app.test_client(), rq_app.extensions["engine"]
    setup(client, admin_headers_rq)
    events = history()
    for part in (events[:5], events[5:10], events[10:]):  # three recorded batches, three rows
        assert client.post("/api/v1/events", json=part, headers=admin_headers_rq).json["accepted"] == len(part)
    assert relay_once(services) == 3
    jobs = 0
    while True:
        work(services)
        jobs += 1
        clock.advance(timedelta(seconds=1))  # the relay's next pass, well inside the 60 s lease
        if relay_once(services) == 0:
            break
        assert jobs < 10
    with services.db.connect() as conn:
        unapplied = conn.execute(select(func.count()).select_from(stock_events)
                                 .where(stock_events.c.applied.is_(False))).scalar_one()
        statuses = set(conn.execute(select(outbox.c.status).where(outbox.c.kind == "apply_events")).scalars())
    assert (unapplied, statuses, jobs) == (0, {"done"}, 3)
    assert counts(services) == (1, 1, 1)


def test_the_demo_with_a_queue_applies_its_history_itself(rq_app):
    """With REDIS_URL set the demo still ends applied: ABC classes from its revenue and open
    alerts to look at, without waiting for a worker."""
    import re

    result = rq_app.test_cli_runner().invoke(args=["demo", "--skus", "30"])
    assert result.exit_code == 0, result.output
    services = rq_app.extensions["engine"]
    with services.db.connect() as conn:
        unapplied = conn.execute(select(func.count()).select_from(stock_events)
                                 .where(stock_events.c.applied.is_(False))).scalar_one()
    classes = re.search(r"ABC \{'A': (\d+), 'B': (\d+), 'C': (\d+)\}", result.output)
    open_alerts = re.search(r"now open: (\d+) alerts", result.output)
    assert unapplied == 0
    assert classes and int(classes[1]) > 0 and int(classes[2]) > 0, result.output
    assert open_alerts and int(open_alerts[1]) > 0, result.output


def test_replayed_rejected_events_are_queued_like_any_batch_and_applied_once(rq_app, admin_headers_rq):
    """Replay of rejected events goes through the one handler: with a queue it records the
    events and their outbox row (it used to apply them inline, in the admin's request)."""
    client, services = rq_app.test_client(), rq_app.extensions["engine"]
    setup(client, admin_headers_rq)
    events = [dict(e, warehouse="WH-2") for e in history()]  # a warehouse not there yet
    r = client.post("/api/v1/events", json=events, headers=admin_headers_rq).json
    assert r["rejected"] == len(events)
    client.put("/api/v1/warehouses", json=[{"code": "WH-2", "name": "二号仓"}], headers=admin_headers_rq)
    replayed = client.post("/api/v1/events/rejected/replay", json={}, headers=admin_headers_rq).json
    assert replayed == {"accepted": len(events), "duplicate": 0, "rejected": 0}
    with services.db.connect() as conn:
        waiting = conn.execute(select(func.count()).select_from(stock_events)
                               .where(stock_events.c.applied.is_(False))).scalar_one()
        rows = conn.execute(select(outbox.c.kind, outbox.c.status)).all()
    assert waiting == len(events) and [tuple(r) for r in rows] == [("apply_events", "pending")]
    assert counts(services) == (0, 0, 0)
    relay_once(services)
    work(services)
    assert counts(services) == (1, 1, 1)
    relay_once(services)
    work(services)
    assert counts(services) == (1, 1, 1)
