"""WeCom, DingTalk and Feishu robots against a local fake speaking their protocol.

Signatures are recomputed here from each vendor's documented algorithm, independently of the
plugins' own helpers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from engine.channels import DeliveryFailed, OutgoingMessage
from plugins.channels import dingtalk, feishu, wecom

MESSAGE = OutgoingMessage(
    "ntf-3", "wecom", ("13800000000", "+8613900000000"), "低库存 SKU-1", "SKU-1 @ WH-SH 可用 3", 9
)


def test_wecom_posts_a_text_message_mentioning_members(sink):
    sink.answer(200, {"errcode": 0, "errmsg": "ok"})
    settings = wecom.WecomConfigSchema().load(
        {
            "url": f"{sink.url}/cgi-bin/webhook/send?key=abc",
            "allow_private": True,
            "mentioned_list": ["@all"],
        }
    )

    wecom.channel.send(MESSAGE, settings)

    [got] = sink.requests
    assert got.path == "/cgi-bin/webhook/send?key=abc"
    assert got.json() == {
        "msgtype": "text",
        "text": {
            "content": "低库存 SKU-1\nSKU-1 @ WH-SH 可用 3",
            "mentioned_list": ["@all"],
            "mentioned_mobile_list": ["13800000000", "+8613900000000"],
        },
    }


def test_wecom_error_code_is_a_failure_with_its_message(sink):
    sink.answer(200, {"errcode": 93000, "errmsg": "invalid webhook url, hint: [123]"})
    settings = wecom.WecomConfigSchema().load(
        {"url": f"{sink.url}/send?key=x", "allow_private": True}
    )

    with pytest.raises(DeliveryFailed, match="invalid webhook url") as failed:
        wecom.channel.send(MESSAGE, settings)

    assert not failed.value.retryable
    assert "93000" in failed.value.reason


def test_wecom_rate_limit_is_retryable_and_long_text_is_cut_to_its_limit(sink):
    sink.answer(200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    settings = wecom.WecomConfigSchema().load(
        {"url": f"{sink.url}/send?key=x", "allow_private": True}
    )
    long = OutgoingMessage("ntf-4", "wecom", (), "", "库" * 2000)

    with pytest.raises(DeliveryFailed) as failed:
        wecom.channel.send(long, settings)

    assert failed.value.retryable
    content = sink.requests[0].json()["text"]["content"]
    assert len(content.encode()) <= 2048 and content.endswith("…")


def expected_dingtalk_sign(secret: str, timestamp: str) -> str:
    string_to_sign = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(
        hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    ).decode()


def test_dingtalk_signs_the_url_and_mentions_phones(sink):
    sink.answer(200, {"errcode": 0, "errmsg": "ok"})
    settings = dingtalk.DingtalkConfigSchema().load(
        {
            "url": f"{sink.url}/robot/send?access_token=tok",
            "secret": "SECabc+/=",
            "allow_private": True,
        }
    )

    before = int(time.time() * 1000)
    dingtalk.channel.send(MESSAGE, settings)

    [got] = sink.requests
    query = parse_qs(urlsplit(got.path).query)
    assert query["access_token"] == ["tok"]
    timestamp = query["timestamp"][0]
    assert before - 1000 <= int(timestamp) <= int(time.time() * 1000)
    assert query["sign"] == [expected_dingtalk_sign("SECabc+/=", timestamp)]
    assert "+" not in urlsplit(got.path).query.split("sign=")[1]  # base64 is URL-encoded
    assert got.json() == {
        "msgtype": "text",
        "text": {"content": "低库存 SKU-1\nSKU-1 @ WH-SH 可用 3 @13800000000 @+8613900000000"},
        "at": {"atMobiles": ["13800000000", "+8613900000000"], "isAtAll": False},
    }


def test_dingtalk_without_secret_adds_no_signature_and_reports_errors(sink):
    sink.answer(200, {"errcode": 310000, "errmsg": "keywords not in content"})
    settings = dingtalk.DingtalkConfigSchema().load(
        {"url": f"{sink.url}/robot/send?access_token=tok", "allow_private": True}
    )

    with pytest.raises(DeliveryFailed, match="keywords not in content") as failed:
        dingtalk.channel.send(MESSAGE, settings)

    assert not failed.value.retryable
    assert set(parse_qs(urlsplit(sink.requests[0].path).query)) == {"access_token"}


def expected_feishu_sign(secret: str, timestamp: str) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def test_feishu_signs_the_body(sink):
    sink.answer(200, {"code": 0, "msg": "success", "data": {}})
    settings = feishu.FeishuConfigSchema().load(
        {
            "url": f"{sink.url}/open-apis/bot/v2/hook/h00k",
            "secret": "fs-secret",
            "allow_private": True,
        }
    )

    before = int(time.time())
    feishu.channel.send(MESSAGE, settings)

    body = sink.requests[0].json()
    assert before - 1 <= int(body["timestamp"]) <= int(time.time())
    assert body["sign"] == expected_feishu_sign("fs-secret", body["timestamp"])
    assert body["msg_type"] == "text"
    assert body["content"] == {"text": "低库存 SKU-1\nSKU-1 @ WH-SH 可用 3"}


def test_feishu_error_code_is_a_failure_with_its_message(sink):
    sink.answer(200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"})
    settings = feishu.FeishuConfigSchema().load({"url": f"{sink.url}/hook", "allow_private": True})

    with pytest.raises(DeliveryFailed, match="sign match fail") as failed:
        feishu.channel.send(MESSAGE, settings)

    assert not failed.value.retryable
    assert "timestamp" not in sink.requests[0].json()


def test_an_answer_that_is_not_json_is_a_failure(sink):
    sink.answer(200, b"<html>captive portal</html>")
    settings = feishu.FeishuConfigSchema().load({"url": f"{sink.url}/hook", "allow_private": True})

    with pytest.raises(DeliveryFailed, match="not JSON"):
        feishu.channel.send(MESSAGE, settings)


@pytest.mark.parametrize("module", [wecom, dingtalk, feishu])
def test_robots_refuse_internal_urls_before_connecting(sink, module):
    settings = {
        "url": f"{sink.url}/hook",
        "timeout": 2.0,
        "allow_private": False,
        "mentioned_list": [],
        "secret": None,
        "at_all": False,
    }

    with pytest.raises(DeliveryFailed, match="not allowed"):
        module.channel.send(MESSAGE, settings)

    assert sink.connections == 0
