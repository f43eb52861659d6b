"""Generic webhook: a signed JSON POST that a receiver can verify and deduplicate.

Body ``{delivery_id, alert_id, subject, text, recipients}``; headers ``X-Stockwarn-Delivery`` and
``Idempotency-Key`` (both the delivery id, stable across retries: RELIABILITY D3) and, when a
secret is configured, ``X-Stockwarn-Signature: sha256=<hex HMAC-SHA256 of the exact body>``.
"""

from __future__ import annotations

from typing import Any

from engine.channels import OutgoingMessage
from plugins.channels.http import SignedHttpTargetSchema, encode, post_json, sign_body


class WebhookConfigSchema(SignedHttpTargetSchema):
    pass


class WebhookChannel:
    name = "webhook"
    config_schema = WebhookConfigSchema
    address = "username"

    def send(self, message: OutgoingMessage, config: dict[str, Any]) -> None:
        body = encode(
            {
                "delivery_id": message.delivery_id,
                "alert_id": message.alert_id,
                "subject": message.subject,
                "text": message.text,
                "recipients": list(message.recipients),
            }
        )
        headers = {
            **config.get("headers", {}),
            "X-Stockwarn-Delivery": message.delivery_id,
            "Idempotency-Key": message.delivery_id,
        }
        if config.get("secret"):
            headers["X-Stockwarn-Signature"] = sign_body(config["secret"], body)
        post_json(
            config["url"],
            body,
            headers=headers,
            timeout=config["timeout"],
            allow_private=config["allow_private"],
        )


channel = WebhookChannel()
