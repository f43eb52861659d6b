"""The generic webhook and the shared HTTP guard: signed, pinned, never redirected, never inward."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import threading
from collections.abc import Iterator

import pytest
from marshmallow import ValidationError

from engine.channels import DeliveryFailed, OutgoingMessage
from plugins.channels.http import refusal, vetted_address
from plugins.channels.webhook import WebhookConfigSchema, channel

MESSAGE = OutgoingMessage(
    "ntf-7", "webhook", ("alice", "bob"), "Low stock: SKU-1", "可用 3 < 10", 42
)


def config(url: str, **extra: object) -> dict[str, object]:
    """Settings as the channel gets them, bypassing the config-time URL check on purpose."""
    return {
        "url": url,
        "timeout": 2.0,
        "allow_private": False,
        "headers": {},
        "secret": None,
        **extra,
    }


def test_posts_signed_json_with_the_delivery_id(sink):
    sink.answer(204)
    settings = WebhookConfigSchema().load(
        {
            "url": f"{sink.url}/hooks/stock?team=1",
            "secret": "s3cret",
            "allow_private": True,
            "headers": {"Authorization": "Bearer t0k"},
        }
    )

    channel.send(MESSAGE, settings)

    [got] = sink.requests
    assert got.path == "/hooks/stock?team=1"
    assert got.json() == {
        "delivery_id": "ntf-7",
        "alert_id": 42,
        "subject": "Low stock: SKU-1",
        "text": "可用 3 < 10",
        "recipients": ["alice", "bob"],
    }
    expected = hmac.new(b"s3cret", got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Stockwarn-Signature"] == f"sha256={expected}"
    assert got.headers["X-Stockwarn-Delivery"] == "ntf-7"
    assert got.headers["Idempotency-Key"] == "ntf-7"
    assert got.headers["Authorization"] == "Bearer t0k"
    assert got.headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "[::1]",
        "169.254.169.254",
        "10.0.0.5",
        "[::ffff:127.0.0.1]",
        "2130706433",
        "localhost",
        "0.0.0.0",
        "0x7f.1",
        "[fd00::1]",
    ],
)
def test_non_public_addresses_are_refused_before_connecting(sink, host):
    port = sink.url.rsplit(":", 1)[1]

    with pytest.raises(DeliveryFailed) as failed:
        channel.send(MESSAGE, config(f"http://{host}:{port}/hook"))

    assert not failed.value.retryable
    assert "not allowed" in failed.value.reason
    assert sink.connections == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
        "http://10.0.0.5/",
        "ftp://example.com/x",
        "https://user:pw@example.com/",
        "http://[::1]:8080/",
    ],
)
def test_config_refuses_urls_it_can_judge_without_dns(url):
    with pytest.raises(ValidationError) as invalid:
        WebhookConfigSchema().load({"url": url})
    assert "url" in invalid.value.messages


def test_config_accepts_a_private_url_when_allowed_and_refuses_bad_headers():
    assert WebhookConfigSchema().load({"url": "http://10.0.0.5/x", "allow_private": True})["url"]
    with pytest.raises(ValidationError, match="invalid header"):
        WebhookConfigSchema().load(
            {"url": "https://example.com/", "headers": {"X-A": "1\r\nX-B: 2"}}
        )


def test_a_redirect_is_not_followed(sink, canary):
    sink.answer(302, b"", {"Location": f"{canary.url}/internal"})

    with pytest.raises(DeliveryFailed) as failed:
        channel.send(MESSAGE, config(f"{sink.url}/hook", allow_private=True))

    assert failed.value.reason == "HTTP 302 not followed"
    assert not failed.value.retryable
    assert len(sink.requests) == 1 and canary.connections == 0


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (400, False), (401, False), (404, False)],
)
def test_server_errors_are_retryable_and_client_errors_are_not(sink, status, retryable):
    sink.answer(status, b"nope")

    with pytest.raises(DeliveryFailed) as failed:
        channel.send(MESSAGE, config(f"{sink.url}/hook", allow_private=True))

    assert failed.value.retryable is retryable
    assert failed.value.reason.startswith(f"HTTP {status}")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listener that accepts and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
    thread.start()
    yield server.getsockname()[1]
    for conn in accepted:
        conn.close()
    server.close()


def test_a_timeout_is_retryable(silent_port):
    with pytest.raises(DeliveryFailed, match="timed out") as failed:
        channel.send(
            MESSAGE, config(f"http://127.0.0.1:{silent_port}/", allow_private=True, timeout=0.3)
        )
    assert failed.value.retryable


def test_a_refused_connection_is_retryable():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryFailed, match="connection") as failed:
        channel.send(MESSAGE, config(f"http://127.0.0.1:{port}/", allow_private=True))
    assert failed.value.retryable


def fake_resolver(*addresses: str):
    def resolve(host, port, family=0, type=0):
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    return resolve


def test_every_dns_answer_is_vetted_and_the_first_is_pinned():
    assert (
        vetted_address("ok.example", 443, False, fake_resolver("93.184.216.34", "2606:4700::1111"))
        == "93.184.216.34"
    )
    # A name with one public and one internal answer (or a rebinding resolver) is refused.
    with pytest.raises(DeliveryFailed, match="10.0.0.5"):
        vetted_address("evil.example", 443, False, fake_resolver("93.184.216.34", "10.0.0.5"))
    assert vetted_address("evil.example", 443, True, fake_resolver("10.0.0.5")) == "10.0.0.5"


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("::", True),
        ("fd12::1", True),
        ("fe80::1", True),
        ("::ffff:8.8.8.8", True),
        ("2002:7f00:1::", True),
        ("64:ff9b::a00:5", True),
        ("ff02::1", True),
        ("93.184.216.34", False),
        ("8.8.8.8", False),
        ("2606:4700::1111", False),
    ],
)
def test_address_classification(address, refused):
    assert (refusal(ipaddress.ip_address(address)) is not None) is refused
