"""Noise control on the real database (SQLite, and PostgreSQL when configured), through the
REST API and the periodic sweep: snoozes (until a time, until the stock changes, a time in the
past refused), mutes, daily digests, and the rate limit and quiet hours at delivery."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from engine.services import deliveries, digests, escalations, noise_control
from engine.storage.tables import alert_snoozes, alerts, notifications, outbox, rule_mutes
from tests.engine.services.test_deliveries import FakeChannel
from tests.engine.services.test_replenishment_scenario import RULESET, count, event, history, setup


def alert_id(services: Any) -> int:
    with services.db.connect() as conn:
        return int(conn.execute(select(alerts.c.id)).scalar_one())


def fire(services: Any, now: Any) -> list[dict[str, Any]]:
    with services.uow() as uow:
        active = services.rulesets.active(uow.conn)
        fired = escalations.fire_all(uow.conn, now, active.compiled)
        uow.commit()
    return fired


def test_a_snooze_in_the_past_is_refused_and_changes_nothing(client, admin_headers, services, clock):
    setup(client, admin_headers)
    client.post("/api/v1/events", json=history(), headers=admin_headers)
    aid = alert_id(services)
    past = (clock.now() - timedelta(hours=1)).isoformat()
    r = client.post(f"/api/v1/alerts/{aid}/snooze", json={"until": past, "reason": "truck"},
                    headers=admin_headers)
    assert r.status_code == 422, r.json
    assert r.json["errors"][0]["field"] == "until" and "in the past" in r.json["errors"][0]["message"]
    no_reason = client.post(f"/api/v1/alerts/{aid}/snooze", json={"until_stock_change": True},
                            headers=admin_headers)
    assert no_reason.status_code == 422 and no_reason.json["errors"][0]["field"] == "reason"
    assert count(services, alert_snoozes) == 0
    assert client.delete(f"/api/v1/alerts/{aid}/snooze", headers=admin_headers).status_code == 409
    assert client.post("/api/v1/alerts/999999/snooze", json={"until_stock_change": True,
                       "reason": "x"}, headers=admin_headers).status_code == 404


def test_a_snoozed_alert_does_not_escalate_until_its_snooze_ends(client, admin_headers, services, clock):
    setup(client, admin_headers)
    client.post("/api/v1/events", json=history(), headers=admin_headers)
    aid = alert_id(services)
    until = clock.now() + timedelta(days=1)
    r = client.post(f"/api/v1/alerts/{aid}/snooze", headers=admin_headers,
                    json={"until": until.isoformat(), "reason": "卡车明天到 truck tomorrow"})
    assert r.status_code == 201, r.json
    assert (r.json["by"], r.json["reason"], r.json["until_stock_change"]) == (
        "root", "卡车明天到 truck tomorrow", False)
    listed = client.get("/api/v1/snoozes", headers=admin_headers).json
    assert [(s["alert"], s["sku"], s["rule"]) for s in listed] == [(aid, "SKU-1", "below-rop")]
    assert fire(services, clock.now()) == []  # the 8h level is due, but the alert is snoozed
    clock.advance(timedelta(days=1, minutes=1))
    with services.uow() as uow:
        noise_control.end_expired(uow.conn, clock.now())
        uow.commit()
    with services.db.connect() as conn:
        assert conn.execute(select(alert_snoozes.c.end_reason)).scalar_one() == "time"
    assert [f["level"] for f in fire(services, clock.now()) if "level" in f] == [1]
    assert client.get("/api/v1/snoozes", headers=admin_headers).json == []


def test_until_the_stock_changes_ends_at_the_pairs_next_event(client, admin_headers, services, clock):
    clock.at = clock.at.replace(day=5, hour=12)  # 2 h after the alert opened
    setup(client, admin_headers)
    client.post("/api/v1/events", json=history(), headers=admin_headers)
    aid = alert_id(services)
    r = client.post(f"/api/v1/alerts/{aid}/snooze", headers=admin_headers,
                    json={"until_stock_change": True, "reason": "count tomorrow"})
    assert r.status_code == 201 and r.json["until"] is None
    # held: the alert's notice waiting to be sent stays quiet while snoozed
    with services.uow() as uow:
        note_id = uow.conn.execute(select(notifications.c.id)).scalar_one()
        uow.conn.execute(update(notifications).values(state="pending"))
        deliveries.deliver(uow.conn, note_id, {"email": FakeChannel()}, {"email": {}}, clock.now())
        assert uow.conn.execute(select(notifications.c.state)).scalar_one() == "snoozed"
        uow.commit()
    clock.advance(timedelta(hours=7))  # the 8h level is due at 18:00
    assert fire(services, clock.now()) == []
    # an event dated before the snooze changes nothing; the next one after it ends it
    client.post("/api/v1/events", json=[event("s-old", "sale", date(2026, 11, 5), 1, hour=11)],
                headers=admin_headers)
    assert len(client.get("/api/v1/snoozes", headers=admin_headers).json) == 1
    r = client.post("/api/v1/events", json=[event("s-5", "sale", date(2026, 11, 5), 10, hour=18)],
                    headers=admin_headers)
    assert r.json["accepted"] == 1, r.json
    with services.db.connect() as conn:
        assert conn.execute(select(alerts.c.state)).scalar_one() == "open"
    assert client.get("/api/v1/snoozes", headers=admin_headers).json == []
    assert len(fire(services, clock.now())) == 1  # no longer snoozed: the level fires
    with services.uow() as uow:  # the sweep writes the end down and sends the held notice
        follow = noise_control.end_expired(uow.conn, clock.now())
        uow.commit()
    assert len(follow) == 1
    with services.db.connect() as conn:
        assert conn.execute(select(alert_snoozes.c.end_reason)).scalar_one() == "stock"
        assert conn.execute(select(notifications.c.state)
                            .where(notifications.c.id == note_id)).scalar_one() == "pending"


def test_a_muted_rule_opens_no_alert_for_its_sku_until_removed(client, admin_headers, user_headers, services):
    setup(client, admin_headers)
    bad = client.post("/api/v1/mutes", headers=admin_headers,
                      json={"rule": "below-rpo", "sku": "SKU-1", "reason": "x"})
    assert bad.status_code == 422 and "did you mean 'below-rop'" in bad.json["errors"][0]["message"]
    bad = client.post("/api/v1/mutes", headers=admin_headers,
                      json={"rule": "below-rop", "sku": "SKU-404", "reason": "x"})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "sku"
    bad = client.post("/api/v1/mutes", headers=admin_headers,
                      json={"rule": "below-rop", "reason": "x"})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "sku"
    assert client.post("/api/v1/mutes", headers=user_headers, json={}).status_code == 403
    r = client.post("/api/v1/mutes", headers=admin_headers,
                    json={"rule": "below-rop", "sku": "SKU-1", "reason": "清仓 clearance"})
    assert r.status_code == 201, r.json
    assert (r.json["rule"], r.json["sku"], r.json["warehouse"], r.json["by"]) == (
        "below-rop", "SKU-1", None, "root")
    assert [m["id"] for m in client.get("/api/v1/mutes", headers=user_headers).json] == [r.json["id"]]
    client.post("/api/v1/events", json=history(), headers=admin_headers)
    assert count(services, alerts) == 0
    assert client.delete(f"/api/v1/mutes/{r.json['id']}", headers=admin_headers).status_code == 204
    assert client.delete(f"/api/v1/mutes/{r.json['id']}", headers=admin_headers).status_code == 404
    assert client.get("/api/v1/mutes", headers=admin_headers).json == []
    client.post("/api/v1/events", json=[event("s-9", "sale", date(2026, 11, 6), 1)],
                headers=admin_headers)
    assert count(services, alerts) == 1
    with services.db.connect() as conn:
        assert conn.execute(select(rule_mutes.c.removed_by)).scalar_one() == "root"


DIGEST_RULESET = RULESET.replace("      - notify: {to: owner}\n",
                                 "      - notify: {to: owner, digest: daily}\n")


def test_a_daily_digest_lists_new_then_still_open_once_a_day(client, admin_headers, services, clock):
    setup(client, admin_headers)
    r = client.put("/api/v1/ruleset", data=DIGEST_RULESET, content_type="application/yaml",
                   headers=admin_headers)
    assert r.status_code == 200, r.json
    client.post("/api/v1/events", json=history(), headers=admin_headers)
    with services.db.connect() as conn:
        assert conn.execute(select(notifications.c.state, notifications.c.role,
                                   notifications.c.digest)).one() == ("queued", "buyer", "daily")
        assert conn.execute(select(outbox.c.id).where(outbox.c.kind == "deliver")).first() is None

    def run(now: Any) -> int:
        with services.uow() as uow:
            follow = digests.run(uow.conn, services.rulesets.active(uow.conn).compiled, now,
                                 frozenset({"email"}))
            uow.commit()
        return len(follow)

    early = clock.now().replace(hour=7, minute=59)  # the scenario's time zone is UTC
    assert run(early) == 0
    assert run(clock.now()) == 1 and run(clock.now()) == 0  # once a day
    with services.db.connect() as conn:
        digest = conn.execute(select(notifications).where(notifications.c.digest == "digest")).one()
    assert digest.dedupe_key == "digest:buyer:email:2026-11-20" and digest.recipients == ["alice"]
    assert "1 新 new" in digest.subject and "below-rop: SKU-1 @ WH-1" in digest.message
    clock.advance(timedelta(days=1))
    assert run(clock.now()) == 1
    with services.db.connect() as conn:
        second = conn.execute(select(notifications.c.message).where(
            notifications.c.dedupe_key == "digest:buyer:email:2026-11-21")).scalar_one()
    assert "New (0)" in second and "Still open (1)" in second


ROLES = ("  - {id: buyer, name: 采购员, members: [alice], channels: [email]}\n")


def test_rate_limit_folds_into_the_digest_and_quiet_hours_hold(client, admin_headers, services, clock):
    setup(client, admin_headers)
    doc = RULESET.replace(ROLES, "  - {id: buyer, name: 采购员, members: [alice], channels: [email],"
                                 " rate_limit: 1, quiet_hours: '07:00-08:00'}\n")
    assert client.put("/api/v1/ruleset", data=doc, content_type="application/yaml",
                      headers=admin_headers).status_code == 200
    with services.uow() as uow:
        ids = [uow.conn.execute(insert(notifications).returning(notifications.c.id).values(
            dedupe_key=f"t{i}", channel="email", recipients=["alice@example.com"], subject="s",
            message="m", state="pending", role="buyer", created_at=clock.now())).scalar_one()
            for i in range(3)]
        uow.commit()
    channel = FakeChannel(requires_address=False)
    with services.db.connect() as conn:
        policy = digests.Policy.of(services.rulesets.active(conn).compiled)

    def deliver(note_id: int, now: Any) -> str:
        with services.uow() as uow:
            deliveries.deliver(uow.conn, note_id, {"email": channel}, {"email": {}}, now, policy)
            uow.commit()
            return str(uow.conn.execute(select(notifications.c.state).where(
                notifications.c.id == note_id)).scalar_one())

    quiet = clock.now().replace(hour=7, minute=30)
    assert deliver(ids[0], quiet) == "held"
    with services.db.connect() as conn:
        held = conn.execute(select(notifications.c.held_until).where(notifications.c.id == ids[0])).scalar_one()
        due = conn.execute(select(outbox.c.available_at).where(outbox.c.kind == "deliver")).scalar_one()
    assert held == due == clock.now().replace(hour=8, minute=0)
    assert deliver(ids[0], clock.now()) == "sent"  # 08:00: quiet hours over
    assert deliver(ids[1], clock.now()) == "queued"  # one an hour: folded, not dropped
    assert len(channel.sent) == 1
    assert deliver(ids[2], clock.now() + timedelta(hours=1, seconds=1)) == "sent"
    with services.db.connect() as conn:
        folded = conn.execute(select(notifications.c.digest, notifications.c.last_error)
                              .where(notifications.c.id == ids[1])).one()
    assert folded.digest == "folded" and "rate limit of 1 per hour" in folded.last_error


def test_the_periodic_work_without_redis_sends_the_daily_digest_once(client, admin_headers, services, clock):
    from engine.services import periodic

    setup(client, admin_headers)
    assert client.put("/api/v1/ruleset", data=DIGEST_RULESET, content_type="application/yaml",
                      headers=admin_headers).status_code == 200
    client.post("/api/v1/events", json=history(), headers=admin_headers)
    periodic.run_once(services, "web-1")  # the sweep: 08:00 UTC, the scenario's time zone
    clock.advance(timedelta(hours=3))
    periodic.run_once(services, "web-1")  # a later pass the same day: nothing more
    with services.db.connect() as conn:
        digests_sent = conn.execute(select(notifications.c.dedupe_key, notifications.c.state)
                                    .where(notifications.c.digest == "digest")).all()
    # no channel is configured in the tests: the digest is kept, visibly undeliverable
    assert digests_sent == [("digest:buyer:email:2026-11-20", "undeliverable")]
