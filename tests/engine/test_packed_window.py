"""The packed demand window (``DemandWindow.to_packed``, ``stock_levels.demand_packed``, issue
#16): the same window as its JSON form, read one at a time or all at once, and kept by the
event path and migration 0022 on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.fact_columns import window_columns, window_stats
from engine.metrics import DemandWindow

TODAY = date(2026, 11, 5)
days = st.integers(TODAY.toordinal() - 150, TODAY.toordinal())
amounts = st.one_of(st.integers(1, 500), st.sampled_from([0.25, 1.5, 2.75, 1e-3]))


def window_of(entries: list[tuple[int, float]]) -> DemandWindow:
    window = DemandWindow()
    for o, q in entries:
        window.add(date.fromordinal(o), q)
    return window


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(days, amounts), max_size=40))
def test_a_packed_window_is_its_json_window(entries: list[tuple[int, float]]) -> None:
    window = window_of(entries)
    packed = window.to_packed()
    assert isinstance(packed, bytes) and len(packed) % 8 == 0
    again = DemandWindow.from_packed(packed)
    reference = DemandWindow.from_dict(window.to_dict())
    assert again.to_dict() == window.to_dict()
    assert (again._qty, again._last, again._latest) == (reference._qty, reference._last,
                                                       reference._latest)
    for n in (1, 7, 28, 90):
        assert again.stats(TODAY, n) == reference.stats(TODAY, n)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.tuples(days, amounts), max_size=30)),
                min_size=1, max_size=8),
       st.lists(st.sampled_from([1, 7, 28, 60]), min_size=8, max_size=8))
def test_packed_windows_read_at_once_are_each_read_alone(
        many: list[list[tuple[int, float]] | None], sizes: list[int]) -> None:
    stored = [window_of(e).to_packed() if e is not None else None for e in many]
    n = np.array(sizes[:len(stored)])
    mean, std, last = window_columns(stored, TODAY, n)
    for i, w in enumerate(stored):
        expected = window_stats(w, TODAY, int(n[i]))
        reference = (window_of(many[i]).stats(TODAY, int(n[i])) if many[i] is not None
                     else (0.0, 0.0))
        assert (mean[i], std[i]) == expected[:2] == tuple(reference)
        assert last[i] == (expected[2] if expected[2] is not None else -1)


def test_a_window_with_no_demand_but_a_last_day_keeps_it() -> None:
    window = DemandWindow.from_dict({"start": None, "qty": [], "last": "2026-10-01"})
    again = DemandWindow.from_packed(window.to_packed())
    assert again.last_demand_day == date(2026, 10, 1) and again.to_dict() == window.to_dict()


def test_windows_summed_by_chunks_are_summed_alike(monkeypatch) -> None:
    import engine.fact_columns as fc

    stored = [window_of([(TODAY.toordinal() - k, q) for k, q in enumerate(qty)]).to_packed()
              if qty else None for qty in ([3, 1, 4], [], [1.5, 2], [7] * 30, [0.001], [2, 2])]
    n = np.array([7, 28, 7, 28, 1, 2])
    whole = fc.window_columns(stored, TODAY, n)
    monkeypatch.setattr(fc, "WINDOW_CHUNK", 4)
    chunked = fc.window_columns(stored, TODAY, n)
    for a, b in zip(whole, chunked, strict=True):
        assert a.tolist() == b.tolist()
