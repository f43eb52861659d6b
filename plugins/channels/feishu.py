"""Feishu / Lark (飞书) custom bot: ``POST {"msg_type": "text", "content": {"text": ...}}``.

With the bot's signature check on, the body also carries ``timestamp`` (seconds) and
``sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))``. Success is
``{"code": 0}`` (older bots answer ``{"StatusCode": 0}``). Mentions need Feishu user ids, which
users here do not have, so recipients are not mentioned.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from marshmallow import fields, validate

from engine.channels import OutgoingMessage
from plugins.channels.http import (
    HttpTargetSchema,
    check_api_code,
    post_json,
    robot_text,
    truncate_utf8,
)

MAX_TEXT_BYTES = 18000  # Feishu caps a request body at 20 KB
# -1: system busy; 11232: message frequency limited.
RETRYABLE = frozenset({-1, 11232})


def sign(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


class FeishuConfigSchema(HttpTargetSchema):
    secret = fields.String(load_default=None, validate=validate.Length(min=1))


class FeishuChannel:
    name = "feishu"
    config_schema = FeishuConfigSchema
    address = "username"

    def send(self, message: OutgoingMessage, config: dict[str, Any]) -> None:
        payload: dict[str, Any] = {
            "msg_type": "text",
            "content": {
                "text": truncate_utf8(robot_text(message.subject, message.text), MAX_TEXT_BYTES)
            },
        }
        if config.get("secret"):
            timestamp = int(time.time())
            payload = {
                "timestamp": str(timestamp),
                "sign": sign(config["secret"], timestamp),
                **payload,
            }
        response = post_json(
            config["url"], payload, timeout=config["timeout"], allow_private=config["allow_private"]
        )
        check_api_code(response, "Feishu", ("code", "StatusCode"), RETRYABLE)


channel = FeishuChannel()
