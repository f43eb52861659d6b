"""Delivering notifications: once, with reasons, with retries and a limit, on the real database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from marshmallow import Schema
from sqlalchemy import Engine, insert, select

from engine.channels import DeliveryFailed, OutgoingMessage
from engine.services import deliveries
from engine.storage.database import make_engine
from engine.storage.tables import notifications, users
from engine.storage.unit_of_work import UnitOfWork
from plugins.channels.email import channel as email_channel

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
CONFIG = {"email": {"from_addr": "bot@example.com"}, "sms": {}, "wecom": {}}


class FakeChannel:
    config_schema = Schema

    def __init__(
        self,
        name: str = "email",
        address: str = "email",
        requires_address: bool = True,
        fail: Exception | None = None,
    ) -> None:
        self.name, self.address, self.requires_address = name, address, requires_address
        self.fail = fail
        self.sent: list[tuple[OutgoingMessage, dict[str, Any]]] = []

    def send(self, message: OutgoingMessage, config: dict[str, Any]) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append((message, config))


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    with UnitOfWork(engine) as uow:
        for name, email, phone, active in [
            ("alice", "alice@example.com", "13800000000", True),
            ("bob", None, "+86 139 0000 0000", True),
            ("carol", "carol@example.com", None, False),
            ("mallory", "m@example.com\r\nBcc: all@example.com", None, True),
        ]:
            uow.conn.execute(
                insert(users).values(
                    username=name, email=email, phone=phone, active=active, created_at=NOW
                )
            )
        uow.commit()
    yield engine
    engine.dispose()


def add_note(
    db: Engine, channel: str = "email", recipients: tuple[str, ...] = ("alice",), key: str = "n1"
) -> int:
    with UnitOfWork(db) as uow:
        note_id = uow.conn.execute(
            insert(notifications).returning(notifications.c.id),
            {
                "dedupe_key": key,
                "channel": channel,
                "recipients": list(recipients),
                "subject": "Low stock",
                "message": "SKU-1 available 3",
                "state": "pending",
                "created_at": NOW,
            },
        ).scalar_one()
        uow.commit()
    return note_id


def note(db: Engine, note_id: int) -> Any:
    with db.connect() as conn:
        return conn.execute(select(notifications).where(notifications.c.id == note_id)).one()


def run(
    db: Engine, note_id: int, channels: dict[str, Any], config: dict[str, Any] = CONFIG
) -> None:
    """What the job runner does: deliver in one transaction, record a raised failure in another."""
    try:
        with UnitOfWork(db) as uow:
            assert deliveries.deliver(uow.conn, note_id, channels, config, NOW) == []
            uow.commit()
    except DeliveryFailed as exc:
        with UnitOfWork(db) as uow:
            deliveries.mark_failed(uow.conn, note_id, str(exc), exc.retryable, NOW)
            uow.commit()
        raise


def test_a_notification_is_sent_once(db):
    channel = FakeChannel()
    note_id = add_note(db, recipients=("alice", "bob", "carol", "buyer@supplier.example"))

    run(db, note_id, {"email": channel})
    run(db, note_id, {"email": channel})

    [(message, settings)] = channel.sent
    assert message == OutgoingMessage(
        f"ntf-{note_id}",
        "email",
        ("alice@example.com", "buyer@supplier.example"),
        "Low stock",
        "SKU-1 available 3",
        None,
    )
    assert settings == CONFIG["email"]
    row = note(db, note_id)
    assert (row.state, row.attempts, row.sent_at) == ("sent", 1, NOW)
    assert row.last_error == "no email address for: bob, carol"


def test_an_unconfigured_channel_makes_it_undeliverable_without_retrying(db):
    channel = FakeChannel()
    note_id = add_note(db)

    run(db, note_id, {"email": channel}, config={})

    row = note(db, note_id)
    assert (row.state, row.attempts, row.last_error) == (
        "undeliverable",
        1,
        "channel 'email' is not configured",
    )
    assert channel.sent == []


def test_a_channel_without_a_plugin_is_undeliverable(db):
    note_id = add_note(db, channel="dingtalk")

    run(db, note_id, {"email": FakeChannel()})

    assert note(db, note_id).last_error == "no channel plugin named 'dingtalk' is installed"


def test_nobody_reachable_is_undeliverable_with_the_reason(db):
    note_id = add_note(db, recipients=("bob", "ghost"))

    run(db, note_id, {"email": FakeChannel()})

    row = note(db, note_id)
    assert (row.state, row.last_error) == ("undeliverable", "no email address for: bob, ghost")


def test_a_retryable_failure_raises_and_becomes_failed_after_the_limit(db):
    channel = FakeChannel(fail=DeliveryFailed("SMTP connection failed: refused", True))
    note_id = add_note(db)

    for attempt in range(1, deliveries.MAX_ATTEMPTS + 1):
        with pytest.raises(DeliveryFailed):
            run(db, note_id, {"email": channel})
        row = note(db, note_id)
        assert row.attempts == attempt
        assert row.state == ("retrying" if attempt < deliveries.MAX_ATTEMPTS else "failed")
        assert row.last_error == "SMTP connection failed: refused"

    run(db, note_id, {"email": channel})  # a late job run on a failed notification does nothing
    assert note(db, note_id).attempts == deliveries.MAX_ATTEMPTS


def test_a_permanent_failure_is_recorded_without_raising(db):
    note_id = add_note(db)

    run(db, note_id, {"email": FakeChannel(fail=DeliveryFailed("HTTP 404", False))})

    row = note(db, note_id)
    assert (row.state, row.attempts, row.last_error) == ("failed", 1, "HTTP 404")


def test_a_crashing_plugin_is_a_retryable_failure(db):
    note_id = add_note(db)

    with pytest.raises(DeliveryFailed, match="crashed: KeyError"):
        run(db, note_id, {"email": FakeChannel(fail=KeyError("host"))})

    assert note(db, note_id).state == "retrying"


def test_retry_brings_failed_and_undeliverable_back(db):
    failed = add_note(db, key="a")
    undeliverable = add_note(db, key="b", channel="sms", recipients=("alice",))
    sent = add_note(db, key="c")
    run(db, failed, {"email": FakeChannel(fail=DeliveryFailed("HTTP 400", False))})
    run(db, undeliverable, {}, config={})
    run(db, sent, {"email": FakeChannel()})

    with UnitOfWork(db) as uow:
        assert deliveries.retry(uow.conn, [undeliverable, sent], NOW) == [undeliverable]
        assert deliveries.retry(uow.conn, None, NOW) == [failed]
        uow.commit()

    assert [(note(db, i).state, note(db, i).attempts) for i in (failed, undeliverable, sent)] == [
        ("pending", 0),
        ("pending", 0),
        ("sent", 1),
    ]
    channel = FakeChannel()
    run(db, failed, {"email": channel})
    assert note(db, failed).state == "sent" and len(channel.sent) == 1


def test_phones_for_sms_and_the_alias_uses_its_channels_config(db):
    sms = FakeChannel("sms", address="phone")
    robot = FakeChannel("wecom", address="phone", requires_address=False)
    sms_note = add_note(
        db, channel="sms", recipients=("alice", "bob", "+86 137 0000 0000"), key="s"
    )
    robot_note = add_note(db, channel="wechat", recipients=("carol",), key="w")

    run(db, sms_note, {"sms": sms})
    run(db, robot_note, {"wechat": robot})

    assert sms.sent[0][0].recipients == ("13800000000", "+86 139 0000 0000", "+86 137 0000 0000")
    assert robot.sent[0][0].recipients == () and robot.sent[0][1] == CONFIG["wecom"]
    assert note(db, robot_note).state == "sent"


def test_header_injection_in_a_users_email_is_refused(db):
    note_id = add_note(db, recipients=("alice", "mallory"))
    config = {
        "email": {
            "host": "127.0.0.1",
            "port": 9,
            "ssl": False,
            "starttls": False,
            "from_addr": "bot@example.com",
            "timeout": 1.0,
        }
    }

    run(db, note_id, {"email": email_channel}, config)

    row = note(db, note_id)
    assert row.state == "failed"
    assert row.last_error.startswith("invalid email address: 'm@example.com\\r\\nBcc")


def test_list_notifications_by_state(db):
    ids = [add_note(db, key=f"k{i}") for i in range(3)]
    run(db, ids[0], {"email": FakeChannel()})

    with db.connect() as conn:
        pending = deliveries.list_notifications(conn, "pending")
        page = deliveries.list_notifications(conn, limit=1, offset=1)

    assert [n["id"] for n in pending] == [ids[2], ids[1]]
    assert [n["id"] for n in page] == [ids[1]]
    assert pending[0]["recipients"] == ["alice"]
