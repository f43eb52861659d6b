"""Channel discovery through entry points and the channel config file."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from engine.channels import (
    GROUP,
    ChannelConfigInvalid,
    discover,
    load_channel_config,
    load_channels,
)

REPO = Path(__file__).resolve().parents[2]


def test_the_built_in_channels_are_installed_as_entry_points():
    channels = load_channels()

    assert {"email", "sms", "webhook", "wecom", "wechat", "dingtalk", "feishu"} <= set(channels)
    assert channels["wechat"] is channels["wecom"]
    assert load_channels()["email"] is channels["email"]  # discovered once


def test_a_plugin_that_fails_to_load_is_listed_as_unavailable(caplog):
    found = [
        EntryPoint("email", "plugins.channels.email:channel", GROUP),
        EntryPoint("broken", "plugins.channels.no_such_module:channel", GROUP),
        EntryPoint("not-a-channel", "json:dumps", GROUP),
    ]

    registry = discover(found)

    assert list(registry.available) == ["email"]
    assert set(registry.unavailable) == {"broken", "not-a-channel"}
    assert "ModuleNotFoundError" in registry.unavailable["broken"]
    assert "broken" in caplog.text


def write(tmp_path, text: str):
    path = tmp_path / "channels.yaml"
    path.write_text(text, "utf-8")
    return path


def test_a_valid_file_is_loaded_with_defaults(tmp_path):
    path = write(
        tmp_path,
        """
email: {host: smtp.example.com, from: bot@example.com, starttls: true}
wechat: {url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"}
sms: {provider: log}
""",
    )

    config = load_channel_config(path)

    assert config["email"]["port"] == 587 and config["email"]["from_addr"] == "bot@example.com"
    assert config["wechat"]["timeout"] == 5.0
    assert config["sms"]["instance_path"] == str(tmp_path)


def test_the_example_file_is_valid():
    assert set(load_channel_config(REPO / "configs" / "channels.example.yaml")) == {
        "email",
        "webhook",
        "wecom",
        "dingtalk",
        "feishu",
        "sms",
    }


def test_every_problem_names_its_channel_and_field(tmp_path):
    path = write(
        tmp_path,
        """
email: {host: smtp.example.com, from: bot@example.com, port: many}
webhook: {url: "http://169.254.169.254/latest/meta-data"}
pigeon: {}
""",
    )

    with pytest.raises(ChannelConfigInvalid) as invalid:
        load_channel_config(path)

    problems = invalid.value.problems
    assert "channel 'email': port: Not a valid integer." in problems
    assert any(
        p.startswith("channel 'webhook': url: the URL points to a link-local address")
        for p in problems
    )
    assert any(p.startswith("unknown channel 'pigeon'") for p in problems)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("email: &a {host: h}\nsms: *a\n", "aliases"),
        ("email: {host: a}\nemail: {host: b}\n", "duplicate key 'email'"),
        ("- email\n", "must map channel names"),
        ("email: {host: [\n", "line"),
        ("x: " + "a" * 70_000, "too large"),
    ],
)
def test_unsafe_or_malformed_files_are_refused(tmp_path, text, problem):
    with pytest.raises(ChannelConfigInvalid, match=problem):
        load_channel_config(write(tmp_path, text))


def test_a_missing_or_empty_file_configures_nothing(tmp_path):
    assert load_channel_config(tmp_path / "absent.yaml") == {}
    assert load_channel_config(write(tmp_path, "# nothing yet\n")) == {}
