"""Calendar periods: which days they cover, which groups they apply to (issue #16)."""

from __future__ import annotations

from datetime import date

from engine.calendars import CalendarView, covers
from engine.rules.compiled import Calendar

CNY = Calendar("cny", "春节", "closure", date(2026, 12, 28), date(2027, 1, 3), ("food",),
               yearly=True, lead_time_change=7)
D11 = Calendar("d11", "双11", "promotion", date(2026, 11, 1), date(2026, 11, 11), (), 3.0)
SEASON = Calendar("summer", "夏季", "season", date(2026, 6, 1), date(2026, 8, 31), ("drinks",),
                  1.5, yearly=True)


def test_a_yearly_period_across_new_year_covers_its_days_every_year() -> None:
    assert covers(CNY, date(2030, 12, 31)) and covers(CNY, date(2031, 1, 2))
    assert not covers(CNY, date(2030, 12, 27)) and not covers(CNY, date(2031, 1, 4))
    assert covers(D11, date(2026, 11, 11)) and not covers(D11, date(2027, 11, 11))


def test_a_view_keeps_the_periods_of_its_groups() -> None:
    drinks = CalendarView((CNY, D11, SEASON), ("drinks",))
    assert [c.id for c in drinks.calendars] == ["d11", "summer"]
    assert drinks.multiplier(date(2026, 7, 1)) == 1.5
    assert drinks.multiplier(date(2026, 11, 5)) == 3.0
    assert drinks.multipliers(date(2026, 10, 31), 3) == [1.0, 3.0, 3.0]
    facts = drinks.facts(date(2026, 11, 5))
    assert facts["promotion"] and facts["period"] == "d11" and facts["demand_multiplier"] == 3.0
    assert not CalendarView((CNY,), ("drinks",))


def test_a_closure_in_the_lead_time_adds_its_days_once() -> None:
    food = CalendarView((CNY,), ("food",))
    assert food.lead_time_change(date(2026, 12, 20), 10) == 7
    assert food.lead_time_change(date(2026, 12, 1), 10) == 0


def test_promotion_days_still_mark_promotion_days() -> None:
    view = CalendarView((SEASON,), ("drinks",), frozenset({"2026-06-18"}))
    assert view.facts(date(2026, 6, 18))["promotion"] and not view.facts(date(2026, 6, 19))["promotion"]
