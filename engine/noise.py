"""Noise control (issue #17 item 4), the pure part: is a rule muted for a pair, is a snooze
valid, and should a message go now, be held (quiet hours) or folded into the next digest
(rate limit). No database, no clock: callers pass ``now`` and what they read.

What "quiet" means while an alert is snoozed (README, "Noise control"): no notification of the
alert goes out (those waiting are held and go out when the snooze ends), no escalation fires
(a level that fell due fires at the first sweep after the snooze ends), the alert is left out
of digests, and its tasks leave the inbox's default view (the "snoozed" filter shows them,
marked with the snooze's end).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from engine.errors import InputInvalid

DIGEST_KINDS = ("daily",)
DIGEST_AT = time(8, 0)  # local time (the settings' time zone) from which the day's digest goes
RATE_WINDOW = timedelta(hours=1)
MAX_SNOOZE = timedelta(days=366)

SEND, HOLD, FOLD = "send", "hold", "fold"


class NoiseInvalid(InputInvalid):
    """A snooze, mute or quiet-hours value that cannot be accepted; ``field`` names the input
    and ``message`` says why in a sentence (nothing is changed). The API answers 422."""

    def __init__(self, field: str, message: str, code: str = "invalid") -> None:
        super().__init__([{"field": field, "message": message, "code": code}])
        self.args = (f"{field}: {message}",)
        self.field, self.message, self.code = field, message, code


# -- mutes -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mute:
    """A rule muted for a SKU, a warehouse, or one SKU×warehouse (None: any), until a time or
    until removed."""

    id: int
    rule: str
    sku_id: int | None
    warehouse_id: int | None
    until: datetime | None = None

    def covers(self, rule: str, sku_id: int, warehouse_id: int, at: datetime) -> bool:
        return (rule == self.rule and (self.until is None or at < self.until)
                and (self.sku_id is None or self.sku_id == sku_id)
                and (self.warehouse_id is None or self.warehouse_id == warehouse_id))


@dataclass(frozen=True)
class Mutes:
    """The mutes in force, by rule: ``covers`` answers for one rule and pair at an instant."""

    by_rule: Mapping[str, tuple[Mute, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, mutes: Iterable[Mute]) -> Mutes:
        found: dict[str, list[Mute]] = {}
        for m in mutes:
            found.setdefault(m.rule, []).append(m)
        return cls({k: tuple(v) for k, v in found.items()})

    def covers(self, rule: str, sku_id: int, warehouse_id: int, at: datetime) -> bool:
        return any(m.covers(rule, sku_id, warehouse_id, at) for m in self.by_rule.get(rule, ()))

    def __bool__(self) -> bool:
        return bool(self.by_rule)


NO_MUTES = Mutes()


def check_mute(rule: str, sku_id: int | None, warehouse_id: int | None, until: datetime | None,
               reason: str, now: datetime) -> None:
    """Refuse a mute that names no pair, ends in the past or gives no reason."""
    if not rule:
        raise NoiseInvalid("rule", "name the rule to mute", "no_rule")
    if sku_id is None and warehouse_id is None:
        raise NoiseInvalid("sku", "a mute names a SKU, a warehouse or both; to stop a rule for "
                                  "every pair, disable it in the rule editor", "no_pair")
    if until is not None and until <= now:
        raise NoiseInvalid("until", f"the end {until.isoformat()} is not in the future "
                                    f"(now {now.isoformat(timespec='minutes')})", "past")
    _check_reason(reason)


# -- snoozes -----------------------------------------------------------------------------------
def check_snooze(until: datetime | None, until_stock_change: bool, reason: str,
                 now: datetime) -> None:
    """Refuse a snooze that never ends, ends in the past or too far ahead, or has no reason."""
    if until is None and not until_stock_change:
        raise NoiseInvalid("until", "give an end time, or choose 'until the stock changes'",
                           "no_end")
    if until is not None:
        if until.tzinfo is None:
            raise NoiseInvalid("until", "the end time needs a time zone (e.g. "
                                        "2026-12-09T08:00:00+08:00)", "no_tz")
        if until <= now:
            raise NoiseInvalid("until", f"the snooze would end at {until.isoformat()}, which "
                                        f"is in the past (now {now.isoformat(timespec='minutes')})",
                               "past")
        if until - now > MAX_SNOOZE:
            raise NoiseInvalid("until", "a snooze lasts at most a year; mute the rule instead",
                               "too_long")
    _check_reason(reason)


def parse_instant(text: str | None, field: str, tz: tzinfo | None = None) -> datetime | None:
    """An end time as written: ISO 8601 with an offset; without one it is local time in
    ``tz`` (the pages' ``datetime-local`` input), refused when ``tz`` is None (the API)."""
    if text is None or not str(text).strip():
        return None
    try:
        found = datetime.fromisoformat(str(text).strip())
    except ValueError:
        raise NoiseInvalid(field, f"'{text}' is not a date and time; write it as "
                                  "2026-12-09T08:00:00+08:00", "bad_time") from None
    if found.tzinfo is None:
        if tz is None:
            raise NoiseInvalid(field, "the end time needs a time zone (e.g. "
                                      "2026-12-09T08:00:00+08:00)", "no_tz")
        found = found.replace(tzinfo=tz)
    return found


def snooze_active(until: datetime | None, ended_at: datetime | None, now: datetime) -> bool:
    return ended_at is None and (until is None or now < until)


def _check_reason(reason: str) -> None:
    if not reason.strip():
        raise NoiseInvalid("reason", "say why (it is shown to everyone who sees the alert)",
                           "no_reason")
    if len(reason) > 500:
        raise NoiseInvalid("reason", "the reason is longer than 500 characters", "reason_long")


# -- quiet hours and rate limits ---------------------------------------------------------------
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class QuietHours:
    """A daily span of local time (``start`` included, ``end`` excluded); it may cross
    midnight (22:00–08:00)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """``"22:00-08:00"`` (also with ``–`` or ``~``); NoiseInvalid names what is wrong."""
        parts = re.split(r"\s*[-–~]\s*", str(text).strip())
        if len(parts) != 2:
            raise NoiseInvalid("quiet_hours", f"'{text}' is not a span of time; write it as "
                                              "'22:00-08:00'")
        start, end = (_parse_time(p) for p in parts)
        if start == end:
            raise NoiseInvalid("quiet_hours", "the quiet hours start and end at the same time")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, now: datetime, tz: tzinfo) -> datetime:
        """The end of the quiet span ``now`` is in (an aware instant)."""
        local = now.astimezone(tz)
        end = datetime.combine(local.date(), self.end, tzinfo=tz)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=tz)
        return end


def _parse_time(text: str) -> time:
    match = _HHMM.match(text)
    if match is None:
        raise NoiseInvalid("quiet_hours", f"'{text}' is not a time of day; use HH:MM, e.g. 22:00")
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class Gate:
    """What to do with one message now: ``send``; ``hold`` until ``until``; ``fold`` into the
    next digest of its role and channel."""

    decision: str
    until: datetime | None = None
    reason: str = ""


def gate(*, now: datetime, tz: tzinfo, quiet: QuietHours | None, rate_limit: int | None,
         sent_last_hour: int, is_digest: bool = False) -> Gate:
    """Quiet hours first (every message, digests too, waits for their end), then the rate
    limit (a digest is never folded: it is where folded messages go)."""
    if quiet is not None and quiet.contains(now.astimezone(tz).time()):
        until = quiet.ends_after(now, tz)
        return Gate(HOLD, until, f"quiet hours {quiet}: held until {until.isoformat()}")
    if not is_digest and rate_limit is not None and sent_last_hour >= rate_limit:
        return Gate(FOLD, None, f"rate limit of {rate_limit} per hour reached: folded into "
                                "the next digest")
    return Gate(SEND)


def rate_limit_for(limit: int | Mapping[str, int] | None, channel: str) -> int | None:
    """A role's limit for ``channel``: one number for each channel, or one per channel."""
    if limit is None or isinstance(limit, int):
        return limit
    return limit.get(channel)


# -- digests -----------------------------------------------------------------------------------
def digest_day(now: datetime, tz: tzinfo, at: time = DIGEST_AT) -> date | None:
    """The local day whose digest may go at ``now`` (None before ``at`` local time)."""
    local = now.astimezone(tz)
    return local.date() if local.time() >= at else None


@dataclass(frozen=True)
class DigestItem:
    alert_id: int
    rule: str
    sku: str
    warehouse: str
    severity: str
    opened_at: datetime
    folded: bool = False  # a message the rate limit folded here, not a digest rule's


def compose_digest(role: str, channel: str, day: date, new: list[DigestItem],
                   still_open: list[DigestItem]) -> tuple[str, str]:
    """The digest's subject and text, in both languages (its readers may use either)."""
    subject = f"每日摘要 Daily digest {day.isoformat()} · {role}: {len(new)} 新 new, " \
              f"{len(still_open)} 仍未处理 still open"
    lines = [subject, ""]
    folded = sum(1 for i in new if i.folded)
    if folded:
        lines.append(f"其中 {folded} 条因频率上限合并至此 / {folded} held back by the rate limit")
    lines.append(f"新 New ({len(new)}):")
    lines += [_line(i) for i in new] or ["  —"]
    lines.append(f"仍未处理 Still open ({len(still_open)}):")
    lines += [_line(i) for i in still_open] or ["  —"]
    return subject[:200], "\n".join(lines)


def _line(item: DigestItem) -> str:
    return (f"  #{item.alert_id} [{item.severity}] {item.rule}: {item.sku} @ {item.warehouse} "
            f"({item.opened_at:%Y-%m-%d %H:%M})")
