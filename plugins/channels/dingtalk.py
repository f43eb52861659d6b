"""DingTalk (钉钉) custom robot: ``POST {"msgtype": "text", ...}`` to its webhook URL.

With the robot's "加签" security setting, ``timestamp`` (ms) and
``sign = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")))`` are appended to the
URL. Success is ``{"errcode": 0}``. Recipients' phones are @-mentioned (``at.atMobiles``, and
``@phone`` in the text, which DingTalk needs to render the mention).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote_plus

from marshmallow import fields, validate

from engine.channels import OutgoingMessage
from plugins.channels.http import (
    HttpTargetSchema,
    check_api_code,
    post_json,
    robot_text,
    truncate_utf8,
)

MAX_TEXT_BYTES = 18000  # DingTalk caps a message at 20,000 bytes
# -1: system busy; 130101: sending too fast (20 messages a minute per robot).
RETRYABLE = frozenset({-1, 130101})


def sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest))


class DingtalkConfigSchema(HttpTargetSchema):
    secret = fields.String(load_default=None, validate=validate.Length(min=1))
    at_all = fields.Boolean(load_default=False)


class DingtalkChannel:
    name = "dingtalk"
    config_schema = DingtalkConfigSchema
    address = "phone"

    def send(self, message: OutgoingMessage, config: dict[str, Any]) -> None:
        mentions = "".join(f" @{phone}" for phone in message.recipients)
        content = truncate_utf8(
            robot_text(message.subject, message.text), MAX_TEXT_BYTES - len(mentions)
        )
        payload = {
            "msgtype": "text",
            "text": {"content": content + mentions},
            "at": {"atMobiles": list(message.recipients), "isAtAll": config["at_all"]},
        }
        url = config["url"]
        if config.get("secret"):
            timestamp = int(time.time() * 1000)
            url += (
                "&" if "?" in url else "?"
            ) + f"timestamp={timestamp}&sign={sign(config['secret'], timestamp)}"
        response = post_json(
            url, payload, timeout=config["timeout"], allow_private=config["allow_private"]
        )
        check_api_code(response, "DingTalk", ("errcode",), RETRYABLE)


channel = DingtalkChannel()
