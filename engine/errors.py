"""The engine's error tree: every failure the outside world can see has one type here.

Exceptions carry data (what, where) rather than pre-formatted strings, so that the web layer can
turn them into JSON bodies and the CLI into lines without parsing messages.
"""

from __future__ import annotations


class EngineError(Exception):
    """Root of every error the engine raises on purpose."""


class NotFound(EngineError):
    """A thing named by the caller does not exist."""

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key!r} not found")
        self.kind = kind
        self.key = key


class Conflict(EngineError):
    """The request clashes with the current state (stale version, concurrent change)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PermissionDenied(EngineError):
    """The caller is known but may not do this."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputInvalid(EngineError):
    """A request's data is invalid; ``errors`` maps a location (field or row) to messages."""

    def __init__(self, errors: list[dict[str, object]]) -> None:
        super().__init__(f"{len(errors)} invalid input(s)")
        self.errors = errors
