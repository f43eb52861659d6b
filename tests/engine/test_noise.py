"""Noise control's pure rules (issue #17 item 4), without a database: mutes, snoozes, quiet
hours, rate limits and the digest's text."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.noise import (
    FOLD,
    HOLD,
    SEND,
    DigestItem,
    Mute,
    Mutes,
    NoiseInvalid,
    QuietHours,
    check_mute,
    check_snooze,
    compose_digest,
    digest_day,
    gate,
    snooze_active,
)

NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
SH = ZoneInfo("Asia/Shanghai")


def test_a_mute_covers_its_rule_and_pairs_until_its_end() -> None:
    mutes = Mutes.of([Mute(1, "low", 7, None), Mute(2, "low", None, 3, until=NOW),
                      Mute(3, "high", 7, 3)])
    assert mutes.covers("low", 7, 99, NOW)  # a SKU in every warehouse
    assert mutes.covers("low", 1, 3, NOW - timedelta(seconds=1))  # a warehouse, before the end
    assert not mutes.covers("low", 1, 3, NOW)  # ... not from its end on
    assert mutes.covers("high", 7, 3, NOW) and not mutes.covers("high", 7, 4, NOW)
    assert not mutes.covers("other", 7, 3, NOW)
    assert not Mutes() and mutes


def test_a_mute_needs_a_pair_a_future_end_and_a_reason() -> None:
    with pytest.raises(NoiseInvalid) as exc:
        check_mute("low", None, None, None, "noisy", NOW)
    assert exc.value.field == "sku"
    with pytest.raises(NoiseInvalid) as exc:
        check_mute("low", 1, None, NOW - timedelta(minutes=1), "noisy", NOW)
    assert exc.value.field == "until" and "not in the future" in exc.value.message
    with pytest.raises(NoiseInvalid) as exc:
        check_mute("low", 1, None, None, "  ", NOW)
    assert exc.value.field == "reason"
    check_mute("low", None, 2, NOW + timedelta(days=1), "stocktake week", NOW)


def test_a_snooze_in_the_past_is_refused_with_its_field() -> None:
    with pytest.raises(NoiseInvalid) as exc:
        check_snooze(NOW - timedelta(hours=1), False, "waiting for the truck", NOW)
    assert exc.value.field == "until" and "in the past" in exc.value.message
    assert exc.value.errors == [{"field": "until", "message": exc.value.message, "code": "past"}]
    with pytest.raises(NoiseInvalid):
        check_snooze(NOW, False, "x", NOW)  # now is not later
    with pytest.raises(NoiseInvalid) as exc:
        check_snooze(None, False, "x", NOW)
    assert "until the stock changes" in exc.value.message
    with pytest.raises(NoiseInvalid) as exc:
        check_snooze(datetime(2026, 12, 9), False, "x", NOW)
    assert "time zone" in exc.value.message
    check_snooze(None, True, "the count is tomorrow", NOW)
    check_snooze(NOW + timedelta(hours=2), False, "truck at noon", NOW)


def test_a_snooze_is_active_until_its_end_or_until_ended() -> None:
    assert snooze_active(NOW + timedelta(minutes=1), None, NOW)
    assert not snooze_active(NOW, None, NOW)
    assert snooze_active(None, None, NOW)
    assert not snooze_active(None, NOW, NOW)


def test_quiet_hours_across_midnight_and_within_a_day() -> None:
    night = QuietHours.parse("22:00-08:00")
    assert str(night) == "22:00-08:00"
    assert night.contains(time(23, 30)) and night.contains(time(7, 59))
    assert not night.contains(time(8, 0)) and not night.contains(time(12, 0))
    lunch = QuietHours.parse("12:00 – 13:30")
    assert lunch.contains(time(12, 0)) and not lunch.contains(time(13, 30))
    late = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    assert night.ends_after(late, SH) == datetime(2026, 12, 9, 8, 0, tzinfo=SH)
    early = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)  # 06:00 in Shanghai
    assert night.ends_after(early, SH) == datetime(2026, 12, 8, 8, 0, tzinfo=SH)


@pytest.mark.parametrize("text", ["22-08", "25:00-08:00", "08:00", "08:00-08:00", "night"])
def test_bad_quiet_hours_say_how_to_write_them(text: str) -> None:
    with pytest.raises(NoiseInvalid) as exc:
        QuietHours.parse(text)
    assert exc.value.field == "quiet_hours"


def test_the_gate_holds_in_quiet_hours_then_folds_past_the_rate_limit() -> None:
    night = QuietHours.parse("22:00-08:00")
    late = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
    held = gate(now=late, tz=SH, quiet=night, rate_limit=5, sent_last_hour=0)
    assert held.decision == HOLD and held.until == datetime(2026, 12, 9, 8, 0, tzinfo=SH)
    assert gate(now=NOW, tz=SH, quiet=night, rate_limit=5, sent_last_hour=4).decision == SEND
    folded = gate(now=NOW, tz=SH, quiet=night, rate_limit=5, sent_last_hour=5)
    assert folded.decision == FOLD and "next digest" in folded.reason
    # a digest is never folded (folded messages go there), but waits for the quiet hours' end
    assert gate(now=NOW, tz=SH, quiet=None, rate_limit=1, sent_last_hour=9,
                is_digest=True).decision == SEND
    assert gate(now=late, tz=SH, quiet=night, rate_limit=None, sent_last_hour=0,
                is_digest=True).decision == HOLD
    assert gate(now=NOW, tz=SH, quiet=None, rate_limit=None, sent_last_hour=10**6).decision == SEND


def test_the_digest_goes_from_eight_local_time_and_lists_new_and_open() -> None:
    assert digest_day(datetime(2026, 12, 7, 23, 59, tzinfo=UTC), SH) is None  # 07:59 local
    assert digest_day(datetime(2026, 12, 8, 0, 0, tzinfo=UTC), SH) == date(2026, 12, 8)
    item = DigestItem(12, "low", "SKU-1", "WH-1", "high", NOW)
    folded = DigestItem(13, "low", "SKU-2", "WH-1", "high", NOW, folded=True)
    subject, text = compose_digest("buyer", "email", date(2026, 12, 8), [item, folded], [])
    assert "Daily digest 2026-12-08" in subject and "2 新 new" in subject
    assert "#12 [high] low: SKU-1 @ WH-1" in text and "1 held back by the rate limit" in text
    assert "Still open (0)" in text
