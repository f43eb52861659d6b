"""Named periods of the rule document's ``calendars`` section, as a SKU's groups see them.

A period (双11, 618, a season, a 春节 closure) covers some days, applies to some groups (or every
SKU), multiplies the demand forecast on its days and may lengthen the lead time of an order
that meets it. ``CalendarView`` answers, for one set of groups, what a day looks like and what
the days ahead hold: the ``calendar.*`` facts and the forecast over the lead time (issue #16).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from engine.rules.compiled import Calendar

LOOKAHEAD_DAYS = 120
"""How far ``calendar.next_period`` looks ahead for the start of a period."""


def covers(cal: Calendar, day: date) -> bool:
    """True when ``day`` is one of the period's days (its month and day every year when yearly)."""
    if not cal.yearly:
        return cal.start <= day <= cal.end
    md, lo, hi = _md(day), _md(cal.start), _md(cal.end)
    return lo <= md <= hi if lo <= hi else (md >= lo or md <= hi)  # across New Year


def _md(day: date) -> int:
    return day.month * 100 + day.day


def applies(cal: Calendar, groups: Iterable[str]) -> bool:
    return not cal.groups or any(g in cal.groups for g in groups)


class CalendarView:
    """The periods that apply to one set of groups, with the questions the engine asks them.

    ``promotion_days`` (the deprecated ``settings.promotion_days``) still makes
    ``calendar.promotion`` true on its days, with no multiplier.
    """

    __slots__ = ("_days", "_facts", "calendars", "promotion_days")

    def __init__(self, calendars: Iterable[Calendar], groups: Iterable[str] = (),
                 promotion_days: frozenset[str] = frozenset()) -> None:
        groups = tuple(groups)
        self.calendars = tuple(c for c in calendars if applies(c, groups))
        self.promotion_days = promotion_days
        self._days: dict[date, tuple[Calendar, ...]] = {}
        self._facts: dict[date, tuple[tuple[str, Any], ...]] = {}

    def __bool__(self) -> bool:
        return bool(self.calendars)

    def periods(self, day: date) -> tuple[Calendar, ...]:
        """The periods covering ``day``, in document order."""
        found = self._days.get(day)
        if found is None:
            if len(self._days) > 4096:
                self._days.clear()
            found = self._days[day] = tuple(c for c in self.calendars if covers(c, day))
        return found

    def multiplier(self, day: date) -> float:
        """The product of the demand multipliers of the periods covering ``day`` (1 when none)."""
        return math.prod(c.multiplier for c in self.periods(day)) if self.calendars else 1.0

    def multipliers(self, first: date, days: int) -> list[float]:
        """``multiplier`` of each of ``days`` days from ``first`` on."""
        if not self.calendars:
            return [1.0] * max(days, 0)
        return [self.multiplier(first + timedelta(n)) for n in range(max(days, 0))]

    def lead_time_change(self, today: date, lead_time: float) -> float:
        """Days the periods meeting an order placed ``today`` add to its lead time: each period
        with a ``lead_time_change`` covering a day of the lead time counts once."""
        if not any(c.lead_time_change for c in self.calendars):
            return 0.0
        seen: dict[str, float] = {}
        for n in range(1, int(math.ceil(lead_time)) + 1):
            for cal in self.periods(today + timedelta(n)):
                if cal.lead_time_change:
                    seen.setdefault(cal.id, cal.lead_time_change)
        return sum(seen.values())

    def facts(self, today: date) -> dict[str, Any]:
        """The ``calendar.*`` facts of ``today`` (nulls left out, as every fact's); a fresh dict
        each time (an alert keeps its facts), worked out once per day."""
        found = self._facts.get(today)
        if found is None:
            if len(self._facts) > 1024:
                self._facts.clear()
            found = self._facts[today] = _facts(self, today)
        return dict(found)


def _facts(view: CalendarView, today: date) -> tuple[tuple[str, Any], ...]:
    iso = today.isoformat()
    out: dict[str, Any] = {"date": iso, "weekday": today.isoweekday(), "month": today.month}
    now = view.periods(today) if view.calendars else ()
    out["promotion"] = iso in view.promotion_days or any(c.kind == "promotion" for c in now)
    out["demand_multiplier"] = view.multiplier(today)
    if now:
        out["period"] = now[0].id
    if view.calendars:
        for n in range(1, LOOKAHEAD_DAYS + 1):
            day = today + timedelta(n)
            starting = [c for c in view.periods(day) if c not in view.periods(day - timedelta(1))]
            if starting:
                out["next_period"] = starting[0].id
                out["days_to_next_period"] = n
                break
    return tuple(out.items())


def plain_facts(today: date, promotion_days: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The ``calendar.*`` facts without any period (what a ruleset without calendars sees)."""
    iso = today.isoformat()
    return {"date": iso, "weekday": today.isoweekday(), "month": today.month,
            "promotion": iso in promotion_days, "demand_multiplier": 1.0}
