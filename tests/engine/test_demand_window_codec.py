"""``DemandWindow.to_dict`` / ``from_dict`` give exactly what their first, plainer versions gave."""

from __future__ import annotations

from datetime import date
from itertools import repeat
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.metrics import DemandWindow, _iso

DAY0 = date(2026, 8, 1).toordinal()


def reference_to_dict(window: DemandWindow) -> dict[str, Any]:
    kept = window._qty
    days = [o for o, q in kept.items() if q != 0]
    if not days:
        return {"start": None, "qty": [], "last": _iso(window._last)}
    start = min(days)
    qty = [int(q) if q.is_integer() else q
           for q in map(kept.get, range(start, max(days) + 1), repeat(0.0))]
    return {"start": date.fromordinal(start).isoformat(), "qty": qty, "last": _iso(window._last)}


def reference_from_dict(data: dict[str, Any]) -> DemandWindow:
    window = DemandWindow()
    if data.get("start"):
        start = date.fromisoformat(data["start"]).toordinal()
        window._qty = {start + i: float(q) for i, q in enumerate(data["qty"]) if q}
        window._latest = max(window._qty, default=0)
    if data.get("last"):
        window._last = date.fromisoformat(data["last"]).toordinal()
    return window


def _typed(value: Any) -> Any:
    """``value`` with each number's type next to it: 1 and 1.0 must not pass for each other."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, repr(value))


quantities = st.one_of(st.integers(-3, 50).map(float), st.floats(-5, 50, allow_nan=False),
                       st.just(0.0), st.just(-0.0))


@settings(max_examples=1000, deadline=None)
@given(adds=st.lists(st.tuples(st.integers(0, 200), quantities), max_size=40),
       stored=st.dictionaries(st.integers(0, 200), quantities, max_size=5))
def test_to_dict_as_before(adds: list[tuple[int, float]], stored: dict[int, float]) -> None:
    window = DemandWindow()
    for day, qty in adds:
        window.add(date.fromordinal(DAY0 + day), qty)
    for day, qty in stored.items():  # zeros and negatives stored as they are
        window._qty[DAY0 + day] = qty
    assert _typed(window.to_dict()) == _typed(reference_to_dict(window))


@settings(max_examples=1000, deadline=None)
@given(start=st.one_of(st.none(), st.just(""), st.integers(0, 200)),
       qty=st.lists(st.one_of(st.integers(0, 9), st.floats(0, 9), st.just(0), st.just(0.0)),
                    max_size=40),
       last=st.one_of(st.none(), st.integers(0, 200)))
def test_from_dict_as_before(start: Any, qty: list[float], last: int | None) -> None:
    day = date.fromordinal(DAY0 + start).isoformat() if isinstance(start, int) else start
    data = {"start": day,
            "qty": qty, "last": None if last is None else date.fromordinal(DAY0 + last).isoformat()}
    got, expected = DemandWindow.from_dict(data), reference_from_dict(data)
    assert [getattr(got, s) for s in DemandWindow.__slots__] == \
        [getattr(expected, s) for s in DemandWindow.__slots__]
    assert _typed(list(got._qty.items())) == _typed(list(expected._qty.items()))
