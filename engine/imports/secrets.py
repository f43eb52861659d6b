"""Secrets of configured sources (passwords, API keys): stored encrypted, or as a reference to
an environment variable (``env:ODOO_KEY``), and never shown again.

The key is derived from ``SECRET_KEY`` (Fernet: AES-128-CBC with HMAC-SHA256), so a database
dump alone does not reveal them; rotating ``SECRET_KEY`` means entering them again.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from engine.imports.plugin import Option

PREFIX = "fernet:"
ENV = "env:"
HIDDEN = "••••••"


class SecretUnavailable(Exception):
    """A stored secret cannot be read: its environment variable is unset, or SECRET_KEY
    changed since it was stored."""

    def __init__(self, option: str, reason: str) -> None:
        super().__init__(f"option '{option}': {reason}")
        self.option = option
        self.reason = reason


def _fernet(secret_key: str) -> Fernet:
    digest = hashlib.sha256(b"stockwarn import secrets\x00" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(config: Mapping[str, Any], options: tuple[Option, ...], secret_key: str) -> dict[str, Any]:
    """The config to store: each secret option encrypted, unless it is an ``env:VAR`` reference
    or sealed already (a source edited on its page keeps the secrets left blank)."""
    secret = {o.name for o in options if o.secret}
    out: dict[str, Any] = {}
    for name, value in config.items():
        if name in secret and isinstance(value, str) and value and not value.startswith(
                (ENV, PREFIX)):
            value = PREFIX + _fernet(secret_key).encrypt(value.encode()).decode()
        out[name] = value
    return out


def unseal(config: Mapping[str, Any], secret_key: str,
           getenv: Callable[[str], str | None]) -> dict[str, Any]:
    """The config an importer is given: secrets decrypted, ``env:VAR`` read from ``getenv``."""
    out: dict[str, Any] = {}
    for name, value in config.items():
        if isinstance(value, str) and value.startswith(PREFIX):
            try:
                value = _fernet(secret_key).decrypt(value[len(PREFIX):].encode()).decode()
            except InvalidToken:
                raise SecretUnavailable(name, "it cannot be decrypted (SECRET_KEY changed since "
                                              "it was stored?); enter it again") from None
        elif isinstance(value, str) and value.startswith(ENV):
            found = getenv(value[len(ENV):])
            if found is None:
                raise SecretUnavailable(name, f"the environment variable {value[len(ENV):]} "
                                              "is not set")
            value = found
        out[name] = value
    return out


def shown(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as pages and listings show it: encrypted secrets hidden, references kept."""
    return {name: HIDDEN if isinstance(value, str) and value.startswith(PREFIX) else value
            for name, value in config.items()}
