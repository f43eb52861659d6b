"""Durations in rule documents ("30m", "4h", "1d12h", "2w") to and from ``timedelta``."""

from __future__ import annotations

import re
from datetime import timedelta

MAX_DURATION = timedelta(days=365)
EXAMPLES = "30m, 4h or 7d"
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PATTERN = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_WORDS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")
_SPELLED = {
    "s": ("sec", "secs", "second", "seconds"),
    "m": ("min", "mins", "minute", "minutes"),
    "h": ("hr", "hrs", "hour", "hours"),
    "d": ("day", "days"),
    "w": ("wk", "wks", "week", "weeks"),
}


class DurationError(ValueError):
    """A value that is not an acceptable duration; ``reason`` completes "'cooldown' ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_duration(
    value: object, *, allow_zero: bool = True, maximum: timedelta = MAX_DURATION
) -> timedelta:
    """Read "1d12h"-style text; raise ``DurationError`` with a sentence saying what is wrong."""
    if isinstance(value, timedelta):
        return _bounded(value, str(value), allow_zero, maximum)
    text = _as_text(value)
    match = _PATTERN.fullmatch(text)
    if not text or match is None or not any(match.groups()):
        raise DurationError(_explain(text))
    seconds = sum(int(n) * _UNITS[u] for n, u in zip(match.groups(), "wdhms", strict=True) if n)
    return _bounded(timedelta(seconds=seconds), text, allow_zero, maximum)


def format_duration(delta: timedelta) -> str:
    """Write a duration the way a document would: ``timedelta(hours=36)`` → ``"1d12h"``."""
    if delta < timedelta(0):
        raise ValueError("a duration cannot be negative")
    rest = int(delta.total_seconds())
    parts = []
    for unit in "dhms":
        count, rest = divmod(rest, _UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        raise DurationError(f"must be a duration such as {EXAMPLES}; got a yes/no value")
    if isinstance(value, int | float):
        raise DurationError(
            f"needs a unit: write {value:g}s, {value:g}m, {value:g}h or {value:g}d "
            f"rather than the bare number {value:g}"
        )
    if not isinstance(value, str):
        raise DurationError(f"must be a duration such as {EXAMPLES}")
    return value.strip()


def _explain(text: str) -> str:
    if not text:
        return f"must be a duration such as {EXAMPLES}; it is empty"
    if text.startswith("-"):
        return f"cannot be negative; got '{text}'"
    if text.isdigit():
        return f"needs a unit: write {text}m, {text}h or {text}d rather than the bare number {text}"
    hint = _spelled_out(text)
    if hint:
        return f"must be a duration such as {EXAMPLES}; got '{text}' — write {hint}"
    if re.fullmatch(r"[\d.]+[wdhms]", text):
        return f"must use whole numbers, such as 1h30m rather than 1.5h; got '{text}'"
    return (
        f"must be a duration such as {EXAMPLES}; got '{text}' "
        "(units: s, m, h, d, w — largest first, as in 1d12h)"
    )


def _spelled_out(text: str) -> str:
    """'4 hours' → '4h'; empty when the text is not a number followed by a unit word."""
    match = _WORDS.match(text)
    if not match or "." in match.group(1):
        return ""
    word = match.group(2).lower()
    for unit, words in _SPELLED.items():
        if word in words or word == unit:
            return f"{match.group(1)}{unit}"
    return ""


def _bounded(delta: timedelta, text: str, allow_zero: bool, maximum: timedelta) -> timedelta:
    if delta < timedelta(0):
        raise DurationError(f"cannot be negative; got '{text}'")
    if not delta and not allow_zero:
        raise DurationError(f"must be longer than zero; got '{text}'")
    if delta > maximum:
        raise DurationError(
            f"is too long: '{text}' is more than the limit of {format_duration(maximum)}"
        )
    return delta
