"""SMS: the development log provider and the HTTP gateway provider."""

from __future__ import annotations

import json

import pytest
from marshmallow import ValidationError

from engine.channels import DeliveryFailed, OutgoingMessage
from plugins.channels.sms import SmsConfigSchema, channel, normalize_phone

MESSAGE = OutgoingMessage(
    "ntf-8", "sms", ("+86 138-0000-0000", "13900000000"), "s", "低库存 SKU-1\n可用 3"
)


def test_the_log_provider_appends_one_json_line_per_phone(tmp_path):
    settings = SmsConfigSchema().load({"provider": "log"})
    settings["instance_path"] = str(tmp_path)

    channel.send(MESSAGE, settings)
    channel.send(MESSAGE, settings)

    lines = [json.loads(line) for line in (tmp_path / "sms.log").read_text("utf-8").splitlines()]
    assert [(e["phone"], e["delivery_id"]) for e in lines] == [
        ("+8613800000000", "ntf-8"),
        ("13900000000", "ntf-8"),
    ] * 2
    assert lines[0]["text"] == "低库存 SKU-1\n可用 3"


def test_an_invalid_phone_is_refused_and_nothing_is_sent(tmp_path):
    settings = {**SmsConfigSchema().load({"provider": "log"}), "instance_path": str(tmp_path)}

    with pytest.raises(DeliveryFailed, match="invalid phone number") as failed:
        channel.send(
            OutgoingMessage("ntf-9", "sms", ("13900000000", "123\r\nX"), "s", "t"), settings
        )

    assert not failed.value.retryable
    assert not (tmp_path / "sms.log").exists()


def test_the_http_provider_posts_each_phone_with_an_idempotency_key(sink):
    sink.answer(200, {"ok": True})
    settings = SmsConfigSchema().load(
        {
            "provider": "http",
            "url": f"{sink.url}/sms",
            "allow_private": True,
            "headers": {"X-Api-Key": "k"},
        }
    )

    channel.send(MESSAGE, settings)

    assert [r.json() for r in sink.requests] == [
        {"phone": "+8613800000000", "text": "低库存 SKU-1\n可用 3", "delivery_id": "ntf-8"},
        {"phone": "13900000000", "text": "低库存 SKU-1\n可用 3", "delivery_id": "ntf-8"},
    ]
    assert [r.headers["Idempotency-Key"] for r in sink.requests] == [
        "ntf-8:+8613800000000",
        "ntf-8:13900000000",
    ]
    assert sink.requests[0].headers["X-Api-Key"] == "k"


def test_a_gateway_outage_is_retryable(sink):
    sink.answer(503, b"down")
    settings = SmsConfigSchema().load(
        {"provider": "http", "url": f"{sink.url}/sms", "allow_private": True}
    )

    with pytest.raises(DeliveryFailed, match="HTTP 503") as failed:
        channel.send(MESSAGE, settings)

    assert failed.value.retryable


def test_the_gateway_is_behind_the_ssrf_guard(sink):
    settings = {
        **SmsConfigSchema().load({"provider": "http", "url": "https://sms.example.com/"}),
        "url": f"{sink.url}/sms",
    }

    with pytest.raises(DeliveryFailed, match="not allowed"):
        channel.send(MESSAGE, settings)

    assert sink.connections == 0


def test_config_needs_a_url_for_http_and_refuses_literal_internal_ones():
    with pytest.raises(ValidationError, match="url"):
        SmsConfigSchema().load({"provider": "http"})
    with pytest.raises(ValidationError) as invalid:
        SmsConfigSchema().load({"provider": "http", "url": "http://127.0.0.1:9/"})
    assert "url" in invalid.value.messages
    with pytest.raises(ValidationError) as invalid:
        SmsConfigSchema().load({"provider": "pigeon"})
    assert "provider" in invalid.value.messages


@pytest.mark.parametrize(
    ("raw", "phone"),
    [
        ("+86 138-0000-0000", "+8613800000000"),
        ("(010) 6552.1234", "01065521234"),
        ("alice", None),
        ("12", None),
        ("1\n2345678", None),
    ],
)
def test_phone_normalization(raw, phone):
    assert normalize_phone(raw) == phone
