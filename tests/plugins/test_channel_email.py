"""Email: a real SMTP server (aiosmtpd) on 127.0.0.1 receives what the channel sends."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from marshmallow import ValidationError

from engine.channels import DeliveryFailed, OutgoingMessage
from plugins.channels.email import EmailConfigSchema, channel, is_valid_address

MESSAGE = OutgoingMessage(
    "ntf-12",
    "email",
    ("alice@example.com", "bob@example.org"),
    "补货 SKU-1 @ WH-SH",
    "available 3, reorder point 10.5",
    5,
)


class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.rcpt_answer: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def smtp_server(**kwargs: Any) -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    yield from smtp_server()


def settings(port: int, **extra: Any) -> dict[str, Any]:
    return EmailConfigSchema().load(
        {"host": "127.0.0.1", "port": port, "from": "stockwarn@example.net", "timeout": 5, **extra}
    )


def test_the_mail_arrives_with_subject_body_and_recipients(smtp):
    mailbox, port = smtp

    channel.send(MESSAGE, settings(port))

    [envelope] = mailbox.envelopes
    assert envelope.mail_from == "stockwarn@example.net"
    assert envelope.rcpt_tos == ["alice@example.com", "bob@example.org"]
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert mail["Subject"] == "补货 SKU-1 @ WH-SH"
    assert mail["To"] == "alice@example.com, bob@example.org"
    assert mail["Message-ID"] == "<ntf-12@example.net>"
    assert mail["X-Stockwarn-Delivery"] == "ntf-12"
    assert mail.get_content().strip() == "available 3, reorder point 10.5"


def test_it_logs_in_when_configured():
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"pw"
        return AuthResult(success=ok, handled=False)

    for mailbox, port in smtp_server(authenticator=authenticate, auth_require_tls=False):
        channel.send(MESSAGE, settings(port, username="robot", password="pw"))
        assert len(mailbox.envelopes) == 1
        with pytest.raises(DeliveryFailed, match="login refused") as failed:
            channel.send(MESSAGE, settings(port, username="robot", password="wrong"))
        assert not failed.value.retryable


@pytest.mark.parametrize(
    "address",
    [
        "a@b.com\r\nBcc: x@y.com",
        "a@b.com\nBcc: x@y.com",
        "a@b.com, x@y.com",
        "Eve <e@x.com>",
        "no-at-sign",
        "a@b",
    ],
)
def test_header_injection_and_bad_addresses_are_refused(smtp, address):
    mailbox, port = smtp
    message = OutgoingMessage("ntf-1", "email", ("ok@example.com", address), "s", "t")

    with pytest.raises(DeliveryFailed, match="invalid email address") as failed:
        channel.send(message, settings(port))

    assert not failed.value.retryable
    assert mailbox.envelopes == []


def test_a_line_break_in_the_subject_cannot_add_a_header(smtp):
    mailbox, port = smtp
    message = OutgoingMessage("ntf-2", "email", ("ok@example.com",), "Low\r\nBcc: eve@x.com", "t")

    channel.send(message, settings(port))

    mail = message_from_bytes(mailbox.envelopes[0].content, policy=policy.default)
    assert mail["Subject"] == "Low Bcc: eve@x.com" and mail["Bcc"] is None


@pytest.mark.parametrize(
    ("answer", "retryable"), [("550 no such user", False), ("450 mailbox busy", True)]
)
def test_refused_recipients_fail_by_the_server_code(smtp, answer, retryable):
    mailbox, port = smtp
    mailbox.rcpt_answer = answer

    with pytest.raises(DeliveryFailed, match="refused") as failed:
        channel.send(MESSAGE, settings(port))

    assert failed.value.retryable is retryable


def test_an_unreachable_server_is_retryable():
    with pytest.raises(DeliveryFailed, match="SMTP connection failed") as failed:
        channel.send(MESSAGE, settings(free_port(), timeout=2))
    assert failed.value.retryable


def test_config_checks_its_fields():
    assert settings(25)["port"] == 25
    assert (
        EmailConfigSchema().load({"host": "h", "from": "a@b.example", "ssl": True})["port"] == 465
    )
    assert (
        EmailConfigSchema().load({"host": "h", "from": "a@b.example", "starttls": True})["port"]
        == 587
    )
    with pytest.raises(ValidationError) as invalid:
        EmailConfigSchema().load(
            {"host": "h", "from": "a@b.example\r\nBcc: x@y", "port": "x", "colour": 1}
        )
    assert set(invalid.value.messages) == {"port", "colour"}
    with pytest.raises(ValidationError, match="invalid email address"):
        EmailConfigSchema().load({"host": "h", "from": "a@b.example\r\nBcc: x@y"})
    with pytest.raises(ValidationError, match="not both"):
        EmailConfigSchema().load(
            {"host": "h", "from": "a@b.example", "ssl": True, "starttls": True}
        )


def test_address_validation():
    assert is_valid_address("first.last+tag@sub.example.com")
    assert not is_valid_address("a@b.com\r\nBcc: x@y")
    assert not is_valid_address("")
