"""Durations: "30m", "1d12h" and friends, and the sentences that refuse everything else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.rules.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("4h", timedelta(hours=4)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("90s", timedelta(seconds=90)),
        ("2w", timedelta(weeks=2)),
        ("1h30m", timedelta(minutes=90)),
        (" 4h ", timedelta(hours=4)),
        ("0m", timedelta(0)),
        ("365d", timedelta(days=365)),
    ],
)
def test_reads_durations_with_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "it is empty"),
        ("4 hours", "got '4 hours' — write 4h"),
        ("24 Hours", "write 24h"),
        ("-1h", "cannot be negative"),
        ("1x", "must be a duration such as 30m, 4h or 7d; got '1x'"),
        ("1.5h", "whole numbers, such as 1h30m"),
        ("30", "needs a unit: write 30m, 30h or 30d"),
        (30, "needs a unit"),
        (True, "got a yes/no value"),
        ("12h1d", "largest first"),
        ("366d", "more than the limit of 365d"),
        ("53w", "more than the limit of 365d"),
    ],
)
def test_refuses_anything_else_with_a_sentence(value: object, fragment: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(value)
    assert fragment in caught.value.reason


def test_zero_is_refused_where_not_allowed() -> None:
    with pytest.raises(DurationError, match="must be longer than zero; got '0h'"):
        parse_duration("0h", allow_zero=False)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(days=1, hours=12), "1d12h"),
        (timedelta(minutes=30), "30m"),
        (timedelta(weeks=2), "14d"),
        (timedelta(0), "0s"),
        (timedelta(hours=1, seconds=5), "1h5s"),
    ],
)
def test_formats_durations_the_way_documents_write_them(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text
    assert parse_duration(text) == delta


def test_formatting_a_negative_duration_is_an_error() -> None:
    with pytest.raises(ValueError):
        format_duration(timedelta(hours=-1))
