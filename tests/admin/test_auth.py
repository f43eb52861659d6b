"""Bearer tokens on every API request: one read per request, the use noted at most once a minute,
a revoked token refused at once, and POST /events sharing the token check's transaction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from engine.storage.tables import api_tokens, stock_events
from tests.admin.test_events_api import ev, setup


def last_used(services):  # type: ignore[no-untyped-def]
    with services.db.connect() as conn:
        return conn.execute(select(api_tokens.c.last_used_at)).scalar_one()


def test_the_first_use_is_noted_then_at_most_once_a_minute(runner, client, services, clock):
    runner.invoke(args=["users", "create", "ivy", "--admin", "--no-password"])
    token = runner.invoke(args=["tokens", "create", "ivy"]).output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert last_used(services) is None
    start = clock.now()
    assert client.get("/api/v1/ruleset", headers=headers).status_code == 200
    assert last_used(services) == start
    clock.advance(timedelta(seconds=30))
    assert client.post("/api/v1/events", json=[], headers=headers).status_code == 200
    assert last_used(services) == start  # within the minute: read only
    clock.advance(timedelta(seconds=31))
    assert client.post("/api/v1/events", json=[], headers=headers).status_code == 200
    assert last_used(services) == clock.now()


def test_the_use_is_noted_even_when_the_request_itself_fails(runner, client, services, app):
    runner.invoke(args=["users", "create", "joe", "--admin", "--no-password"])
    token = runner.invoke(args=["tokens", "create", "joe"]).output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    too_many = [ev(f"e{i}") for i in range(services.settings.max_batch_events + 1)]
    assert client.post("/api/v1/events", json=too_many, headers=headers).status_code == 422
    assert last_used(services) is not None


def test_a_revoked_token_is_refused_at_once_and_records_nothing(runner, client, services, admin_headers):
    setup(client, admin_headers)
    runner.invoke(args=["users", "create", "kim", "--admin", "--no-password"])
    token = runner.invoke(args=["tokens", "create", "kim"]).output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/events", json=ev("before"), headers=headers).json["accepted"] == 1
    assert runner.invoke(args=["tokens", "revoke", token[:10]]).exit_code == 0
    assert client.post("/api/v1/events", json=ev("after"), headers=headers).status_code == 401
    assert client.post("/api/v1/events", json=ev("after"), headers=headers).status_code == 401
    with services.db.connect() as conn:
        ids = set(conn.execute(select(stock_events.c.event_id)).scalars())
    assert ids == {"before"}


def test_a_failed_ingest_rolls_back_everything_of_its_own(client, services, admin_headers):
    setup(client, admin_headers)
    r = client.post("/api/v1/events", data=b'{"id": "x", "id": "y"}', headers=admin_headers,
                    content_type="application/json")
    assert r.status_code == 400
    assert client.post("/api/v1/events", json=ev("ok"), headers=admin_headers).json["accepted"] == 1
    with services.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(stock_events)).scalar_one() == 1


def test_a_non_admin_is_refused_before_any_work(client, services, admin_headers, user_headers):
    setup(client, admin_headers)
    assert client.post("/api/v1/events/rejected/replay", json={}, headers=user_headers).status_code == 403
    assert client.post("/api/v1/events", json=ev("u1"), headers=user_headers).json["accepted"] == 1


def test_a_sku_another_process_added_is_known_to_the_next_request(client, services, admin_headers):
    # The catalogue revision is read with the token (one statement): a SKU written by another
    # process, which never told this one's cache, must still be accepted at once.
    from datetime import UTC, datetime

    from sqlalchemy import insert, update

    from engine.storage.tables import ruleset_state, skus

    setup(client, admin_headers)
    assert client.post("/api/v1/events", json=ev("x1", sku="SKU-NEW"), headers=admin_headers).json[
        "rejected"] == 1
    with services.db.begin() as conn:  # as catalog.put_rows does, from elsewhere
        conn.execute(insert(skus).values(code="SKU-NEW", name="new", tags=[], attributes={},
                                         updated_at=datetime(2026, 11, 20, tzinfo=UTC)))
        conn.execute(update(ruleset_state).values(catalog_revision=ruleset_state.c.catalog_revision + 1))
    assert client.post("/api/v1/events", json=ev("x2", sku="SKU-NEW"), headers=admin_headers).json[
        "accepted"] == 1
