"""``parse_event``: the plain-event fast path answers exactly as the field-by-field check."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.rules.compiled import EVENT_TYPES
from engine.stock import StockEvent, _checked_event, _plain_event, parse_event

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

texts = st.one_of(st.none(), st.just(""), st.just("  "), st.text(max_size=3), st.just("x" * 64),
                  st.just("x" * 65), st.just("y" * 129), st.integers(0, 3), st.just(True))
numbers = st.one_of(st.none(), st.integers(-3, 3), st.floats(allow_nan=True), st.just(True),
                    st.just("2"), st.just(1e9), st.just(1e9 + 1), st.just(10**400), st.just(0.0),
                    st.just(-0.0))
times = st.one_of(st.none(), st.just("2026-11-20T15:00:00+08:00"), st.just("2026-11-20T08:00:00Z"),
                  st.just("2026-11-20T08:00:00"), st.just("2026-11-20T09:00:00Z"),
                  st.just("2026-11-20T08:04:59.5+00:00"), st.just("not a time"), st.just(7))
fields = {
    "id": texts, "type": st.one_of(st.sampled_from(EVENT_TYPES), st.just("nope"), st.none(),
                                   st.just(["sale"]), st.just({"a": 1}), st.just(1)),
    "sku": texts, "warehouse": texts, "qty": numbers, "at": times, "ref": texts,
    "to_warehouse": texts, "supplier": texts, "eta": times, "reserved": numbers,
    "on_order": numbers, "meta": st.one_of(st.none(), st.just({}), st.just([])), "extra": texts,
}


@st.composite
def items(draw: Any) -> dict[str, Any]:
    """Mostly valid-looking events, each field sometimes missing or wrong."""
    item: dict[str, Any] = {"id": "E1", "type": draw(st.sampled_from(EVENT_TYPES)), "sku": "S1",
                            "warehouse": "W1", "qty": 2, "at": "2026-11-20T15:00:00+08:00"}
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3)):
        if draw(st.booleans()):
            item[name] = draw(fields[name])
        else:
            item.pop(name, None)
    return item


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, StockEvent) and isinstance(b, StockEvent):
        return vars(a) == vars(b) and all(type(x) is type(y) for x, y in zip(
            vars(a).values(), vars(b).values(), strict=True)) and a.raw is b.raw
    return bool(a == b)


@settings(max_examples=3000, deadline=None)
@given(item=items(), now=st.sampled_from([NOW, None]))
def test_fast_path_answers_as_the_full_check(item: dict[str, Any], now: datetime | None) -> None:
    try:
        expected: Any = _checked_event(item, now)
    except (OverflowError, ValueError) as exc:  # the full check's own failures stay its own
        expected = type(exc)
    plain = _plain_event(item, now) if set(item) <= set(fields) - {"extra"} else None
    if plain is not None:
        assert _same(plain, expected)
    try:
        got: Any = parse_event(item, now)
    except (OverflowError, ValueError) as exc:
        got = type(exc)
    assert _same(got, expected)


def test_usual_events_take_the_fast_path() -> None:
    for item in ({"id": "E1", "type": "sale", "sku": "S", "warehouse": "W", "qty": 2,
                  "at": "2026-11-20T15:00:00+08:00"},
                 {"id": "E2", "type": "receipt", "sku": "S", "warehouse": "W", "qty": 2.5,
                  "at": "2026-11-20T07:00:00Z", "ref": "PO-1"},
                 {"id": "E3", "type": "count", "sku": "S", "warehouse": "W", "qty": 0,
                  "at": "2026-11-20T07:00:00Z"},
                 {"id": "E4", "type": "adjustment", "sku": "S", "warehouse": "W", "qty": -3,
                  "at": "2026-11-20T07:00:00Z"}):
        event = _plain_event(item, NOW)
        assert event is not None
        assert _same(event, _checked_event(item, NOW))
        assert hash(event) == hash(_checked_event(item, NOW))


def test_the_fast_path_fills_every_field_in_order() -> None:
    item = {"id": "E1", "type": "sale", "sku": "S", "warehouse": "W", "qty": 2,
            "at": "2026-11-20T15:00:00+08:00"}
    fast, full = _plain_event(item, NOW), _checked_event(item, NOW)
    assert list(vars(fast)) == list(vars(full)) == [f.name for f in dataclasses.fields(StockEvent)]
