"""Notification channels: the ``Channel`` protocol, plugin discovery and the channel config file.

Channels are plugins (STYLE convention 11): each is an object registered under the entry-point
group ``stockwarn.channels`` whose name is the channel name a rule document uses (SPEC §3
``notify``). The built-ins live in ``plugins/channels`` and are registered the same way. This
module knows no transport: HTTP, SMTP and the rest belong to the plugins.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import yaml
from marshmallow import Schema, ValidationError

log = logging.getLogger(__name__)

GROUP = "stockwarn.channels"
MAX_CONFIG_BYTES = 64 * 1024
# What a channel wants a recipient (a username, or a supplier's contact value) turned into.
ADDRESS_KINDS = ("email", "phone", "username", "wecom_id", "dingtalk_id", "feishu_id")


class DeliveryFailed(Exception):
    """A send did not happen. ``retryable`` says whether trying again later can help."""

    def __init__(self, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable

    def __str__(self) -> str:
        return self.reason


class ChannelConfigInvalid(Exception):
    """The channel config file is unreadable or does not match the channels' schemas."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.path = path
        self.problems = problems


@dataclass(frozen=True)
class OutgoingMessage:
    """One notification as a channel sends it; ``delivery_id`` is stable across retries."""

    delivery_id: str
    channel: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    alert_id: int | None = None


@runtime_checkable
class Channel(Protocol):
    """A way to deliver a message.

    ``send`` raises ``DeliveryFailed`` and nothing else on purpose. Optional attributes:
    ``address`` (one of ``ADDRESS_KINDS``, default ``"username"``) says what recipients are
    resolved to before ``send``; ``requires_address`` (default False) makes a message with no
    resolvable recipient a failure instead of a send (robots post to a group either way).
    """

    name: str
    config_schema: type[Schema]

    def send(self, message: OutgoingMessage, config: dict[str, Any]) -> None: ...


def address_kind(channel: Channel) -> str:
    kind = getattr(channel, "address", "username")
    return kind if kind in ADDRESS_KINDS else "username"


def requires_address(channel: Channel) -> bool:
    return bool(getattr(channel, "requires_address", False))


@dataclass
class ChannelRegistry:
    available: dict[str, Channel] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # name -> why it did not load


def discover(found: Iterable[EntryPoint]) -> ChannelRegistry:
    """Load every entry point; one that fails is logged and listed, never raised."""
    registry = ChannelRegistry()
    for ep in found:
        try:
            obj = ep.load()
            channel = obj() if isinstance(obj, type) else obj
            problem = _protocol_problem(channel)
        except Exception as exc:  # a broken plugin must not stop the engine (STYLE 11)
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            log.error("channel plugin %r (%s) is unavailable: %s", ep.name, ep.value, problem)
            registry.unavailable[ep.name] = problem
        elif ep.name in registry.available:
            log.warning("channel %r is registered twice; keeping the first", ep.name)
        else:
            registry.available[ep.name] = channel
    return registry


def _protocol_problem(channel: Any) -> str | None:
    if not isinstance(getattr(channel, "name", None), str) or not callable(
        getattr(channel, "send", None)
    ):
        return "not a channel: it needs a 'name' and a 'send(message, config)' method"
    schema = getattr(channel, "config_schema", None)
    if not (isinstance(schema, type) and issubclass(schema, Schema)):
        return "its config_schema is not a marshmallow Schema class"
    return None


_lock = threading.Lock()
_registry: ChannelRegistry | None = None


def registry() -> ChannelRegistry:
    """The installed channels, discovered on first use and then kept for the process."""
    global _registry
    with _lock:
        if _registry is None:
            _registry = discover(entry_points(group=GROUP))
        return _registry


def load_channels() -> dict[str, Channel]:
    return dict(registry().available)


def unavailable_channels() -> dict[str, str]:
    return dict(registry().unavailable)


def load_channel_config(
    path: str | Path,
    channels: Mapping[str, Channel] | None = None,
    instance_path: str | Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Read the channel config file: ``{channel name: its settings}``, each checked by its schema.

    A missing file means no channel is configured (every notification is then undeliverable,
    with a reason, until one is). Each channel's settings also get ``instance_path`` (default:
    the file's folder) for plugins that keep files, such as the SMS log provider.
    """
    path = Path(path)
    if not path.exists():
        log.info("no channel config at %s: no notification channel is configured", path)
        return {}
    channels = load_channels() if channels is None else channels
    data = _read_yaml(path)
    problems: list[str] = []
    result: dict[str, dict[str, Any]] = {}
    for name, settings in data.items():
        channel = channels.get(str(name))
        if channel is None:
            if str(name) in unavailable_channels():
                log.warning("%s: channel %r is configured but its plugin did not load", path, name)
            else:
                problems.append(
                    f"unknown channel '{name}' (installed: {', '.join(sorted(channels))})"
                )
            continue
        try:
            loaded = channel.config_schema().load(settings if settings is not None else {})
        except ValidationError as exc:
            problems.extend(f"channel '{name}': {msg}" for msg in _flatten(exc.messages))
            continue
        loaded.setdefault("instance_path", str(instance_path or path.parent))
        result[str(name)] = loaded
    if problems:
        raise ChannelConfigInvalid(str(path), problems)
    return result


class _NoDuplicatesLoader(yaml.SafeLoader):
    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the SafeLoader reports it
            if key in seen:
                raise ChannelConfigInvalid(
                    "", [f"line {key_node.start_mark.line + 1}: duplicate key '{key}'"]
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path) -> dict[Any, Any]:
    raw = path.read_bytes()[: MAX_CONFIG_BYTES + 1]
    if len(raw) > MAX_CONFIG_BYTES:
        raise ChannelConfigInvalid(str(path), [f"file too large (max {MAX_CONFIG_BYTES} bytes)"])
    try:
        text = raw.decode("utf-8-sig")
        if any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=yaml.SafeLoader)):
            raise ChannelConfigInvalid(str(path), ["YAML aliases (*name) are not allowed"])
        data = yaml.load(text, Loader=_NoDuplicatesLoader)
    except UnicodeDecodeError as exc:
        raise ChannelConfigInvalid(str(path), [f"file must be UTF-8 (byte {exc.start})"]) from None
    except ChannelConfigInvalid as exc:
        raise ChannelConfigInvalid(str(path), exc.problems) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ChannelConfigInvalid(
            str(path), [f"{where}{getattr(exc, 'problem', None) or exc}"]
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ChannelConfigInvalid(str(path), ["the file must map channel names to their settings"])
    return data


def _flatten(messages: Any, at: str = "") -> list[str]:
    """marshmallow's nested messages as ``field.sub: message`` lines."""
    if isinstance(messages, dict):
        out: list[str] = []
        for key, sub in messages.items():
            where = at if key == "_schema" else (f"{at}.{key}" if at else str(key))
            out.extend(_flatten(sub, where))
        return out
    if isinstance(messages, list):
        return [m for sub in messages for m in _flatten(sub, at)]
    return [f"{at}: {messages}" if at else str(messages)]
