"""Working-day calendar: official holidays and weekend make-up workdays (调休上班).

Rules: a date listed in ``workdays`` is a working day (even on a weekend); a date listed in
``holidays`` is a day off; otherwise Monday to Friday are working days.

The app reads the calendar through ``get_calendar()``; the default provider is seeded from the
``holidays`` package and can be replaced (e.g. by a database-backed calendar that admins edit)
with ``set_calendar_provider``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import TypeVar

D = TypeVar("D", date, datetime)

# A safety net: no sane deadline is this far away, and it stops an endless loop on a bad calendar.
_MAX_SCAN_DAYS = 366 * 20


def _as_date(d: date | datetime) -> date:
    return d.date() if isinstance(d, datetime) else d


class WorkCalendar:
    """A working-day calendar; immutable after construction."""

    def __init__(self, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> None:
        self.holidays: frozenset[date] = frozenset(_as_date(d) for d in holidays)
        self.workdays: frozenset[date] = frozenset(_as_date(d) for d in workdays)

    def __repr__(self) -> str:
        return f"WorkCalendar({len(self.holidays)} holidays, {len(self.workdays)} make-up workdays)"

    def is_working_day(self, d: date | datetime) -> bool:
        """True when ``d`` (a date, or the date of a datetime) is a working day."""
        day = _as_date(d)
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def next_working_day(self, d: D) -> D:
        """The first working day strictly after ``d`` (a datetime keeps its time of day)."""
        return self._step(d, 1)

    def previous_working_day(self, d: D) -> D:
        """The last working day strictly before ``d``."""
        return self._step(d, -1)

    def add_working_days(self, start: D, n: int) -> D:
        """Move ``n`` working days from ``start``; a datetime keeps its time of day.

        - ``n >= 1``: the n-th working day after ``start``; ``start`` itself never counts, so
          from a Friday (or a holiday) ``n=1`` is the next working day.
        - ``n == 0``: ``start`` if it is a working day, else the next working day (roll forward).
        - ``n < 0``: the |n|-th working day before ``start``.
        """
        if n == 0:
            return start if self.is_working_day(start) else self.next_working_day(start)
        step = 1 if n > 0 else -1
        current = start
        for _ in range(abs(n)):
            current = self._step(current, step)
        return current

    def working_days_between(self, a: date | datetime, b: date | datetime) -> int:
        """Working days in the half-open range (a, b]; negative when ``b`` is before ``a``.

        For a working day ``b`` after ``a``: ``add_working_days(a, working_days_between(a, b)) == b``.
        Times of day are ignored.
        """
        start, end = _as_date(a), _as_date(b)
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start + timedelta(days=1)
        while day <= end:
            if self.is_working_day(day):
                count += 1
            day += timedelta(days=1)
        return count

    def _step(self, d: D, direction: int) -> D:
        current = d
        for _ in range(_MAX_SCAN_DAYS):
            current = current + timedelta(days=direction)
            if self.is_working_day(current):
                return current
        raise ValueError("工作日历中找不到工作日，请检查节假日设置")


def default_calendar(years: Iterable[int] = range(2025, 2028)) -> WorkCalendar:
    """A calendar seeded from ``holidays.China``: official holidays on weekdays and make-up workdays."""
    import holidays as holidays_pkg  # imported lazily: only the default provider needs it

    wanted = sorted(set(years))
    cn = holidays_pkg.China(years=wanted)
    days_off = {d for d in cn if d.weekday() < 5}
    # weekend_workdays also carries a few historical dates from other years: keep the asked years.
    make_up = {d for d in cn.weekend_workdays if d.year in wanted}
    return WorkCalendar(days_off, make_up)


_lock = threading.Lock()
_cached_default: WorkCalendar | None = None


def _default_provider() -> WorkCalendar:
    global _cached_default
    if _cached_default is None:
        with _lock:
            if _cached_default is None:
                this_year = date.today().year
                _cached_default = default_calendar(range(2025, max(2028, this_year + 2)))
    return _cached_default


_provider: Callable[[], WorkCalendar] = _default_provider


def set_calendar_provider(fn: Callable[[], WorkCalendar] | None) -> Callable[[], WorkCalendar]:
    """Replace the calendar source (``None``: the default, seeded from ``holidays``); returns the previous one."""
    global _provider
    previous = _provider
    _provider = fn or _default_provider
    return previous


def get_calendar() -> WorkCalendar:
    """The calendar currently in force (called on every use, so a provider may refresh it)."""
    return _provider()
