"""SMS through a provider: ``log`` (a JSON-lines file in the instance folder, for development) or
``http`` (a JSON POST to an SMS gateway, behind the same SSRF guard as webhooks).

Each phone gets its own send with ``Idempotency-Key: <delivery id>:<phone>``, so a retry after a
partial failure can be deduplicated by the gateway for the phones already served.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from engine.channels import DeliveryFailed, OutgoingMessage
from plugins.channels.http import (
    HeadersField,
    UrlRefused,
    check_literal,
    encode,
    post_json,
    sign_body,
)

MAX_TEXT_CHARS = 1000
_PHONE = re.compile(r"\+?[0-9]{5,20}")


def normalize_phone(value: str) -> str | None:
    """``+86 138-0000-0000`` → ``+8613800000000``; None when it is not a phone number."""
    if not isinstance(value, str):
        return None
    compact = re.sub(r"[ \-().]", "", value)
    return compact if _PHONE.fullmatch(compact) else None


class SmsProvider(Protocol):
    def send_sms(self, phone: str, text: str, *, delivery_id: str = "") -> None: ...


class LogProvider:
    """Appends one JSON line per message to a file: what would have been sent, for development."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def send_sms(self, phone: str, text: str, *, delivery_id: str = "") -> None:
        line = json.dumps(
            {
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "delivery_id": delivery_id,
                "phone": phone,
                "text": text,
            },
            ensure_ascii=False,
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as exc:
            raise DeliveryFailed(f"cannot write the SMS log {self.path}: {exc}", True) from None


class HttpProvider:
    """POSTs ``{"phone", "text", "delivery_id"}`` to a gateway; 2xx means accepted."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def send_sms(self, phone: str, text: str, *, delivery_id: str = "") -> None:
        body = encode({"phone": phone, "text": text, "delivery_id": delivery_id})
        headers = {**self.config.get("headers", {}), "Idempotency-Key": f"{delivery_id}:{phone}"}
        if self.config.get("secret"):
            headers["X-Stockwarn-Signature"] = sign_body(self.config["secret"], body)
        post_json(
            self.config["url"],
            body,
            headers=headers,
            timeout=self.config["timeout"],
            allow_private=self.config["allow_private"],
        )


class SmsConfigSchema(Schema):
    provider = fields.String(required=True, validate=validate.OneOf(["log", "http"]))
    path = fields.String(load_default="sms.log")  # log: relative to the instance folder
    url = fields.String(load_default=None)
    headers = HeadersField(load_default=dict)
    secret = fields.String(load_default=None, validate=validate.Length(min=1))
    timeout = fields.Float(load_default=5.0, validate=validate.Range(min=0.1, max=60))
    allow_private = fields.Boolean(load_default=False)

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("provider") != "http":
            return
        if not data.get("url"):
            raise ValidationError("the http provider needs the gateway's url", "url")
        try:
            check_literal(data["url"], data.get("allow_private", False))
        except UrlRefused as exc:
            raise ValidationError(str(exc), "url") from None


def provider_for(config: dict[str, Any]) -> SmsProvider:
    if config["provider"] == "http":
        return HttpProvider(config)
    path = Path(config["path"])
    if not path.is_absolute():
        path = Path(config.get("instance_path") or ".") / path
    return LogProvider(path)


class SmsChannel:
    name = "sms"
    config_schema = SmsConfigSchema
    address = "phone"
    requires_address = True

    def send(self, message: OutgoingMessage, config: dict[str, Any]) -> None:
        phones = [normalize_phone(r) for r in message.recipients]
        if None in phones:
            bad = message.recipients[phones.index(None)]
            raise DeliveryFailed(f"invalid phone number: {bad!r}", False)
        if not phones:
            raise DeliveryFailed("no recipient has a phone number", False)
        provider, text = provider_for(config), message.text[:MAX_TEXT_CHARS]
        failures: list[DeliveryFailed] = []
        for phone in dict.fromkeys(p for p in phones if p):
            try:
                provider.send_sms(phone, text, delivery_id=message.delivery_id)
            except DeliveryFailed as exc:
                failures.append(DeliveryFailed(f"{phone}: {exc.reason}", exc.retryable))
        if failures:
            raise DeliveryFailed(
                "; ".join(f.reason for f in failures), any(f.retryable for f in failures)
            )


channel = SmsChannel()
