"""WeCom (企业微信) group robot: ``POST {"msgtype": "text", ...}`` to the robot's webhook URL.

The URL is ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``; the answer is
``{"errcode": 0, "errmsg": "ok"}`` on success. Recipients' phones become
``mentioned_mobile_list``; ``mentioned_list`` (WeCom user ids, or ``@all``) comes from the config.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from engine.channels import OutgoingMessage
from plugins.channels.http import (
    HttpTargetSchema,
    check_api_code,
    post_json,
    robot_text,
    truncate_utf8,
)

MAX_TEXT_BYTES = 2048  # WeCom's limit for a text message's content
# -1: system busy; 45009: API call frequency over the limit.
RETRYABLE = frozenset({-1, 45009})


class WecomConfigSchema(HttpTargetSchema):
    mentioned_list = fields.List(fields.String(), load_default=list)


class WecomChannel:
    name = "wecom"
    config_schema = WecomConfigSchema
    address = "phone"

    def send(self, message: OutgoingMessage, config: dict[str, Any]) -> None:
        text: dict[str, Any] = {
            "content": truncate_utf8(robot_text(message.subject, message.text), MAX_TEXT_BYTES)
        }
        if config.get("mentioned_list"):
            text["mentioned_list"] = list(config["mentioned_list"])
        if message.recipients:
            text["mentioned_mobile_list"] = list(message.recipients)
        response = post_json(
            config["url"],
            {"msgtype": "text", "text": text},
            timeout=config["timeout"],
            allow_private=config["allow_private"],
        )
        check_api_code(response, "WeCom", ("errcode",), RETRYABLE)


channel = WecomChannel()
