from datetime import date, datetime

import pytest

from app.engine import calendar as cal
from app.engine.calendar import WorkCalendar, default_calendar, get_calendar, set_calendar_provider


@pytest.fixture(scope="module")
def cn() -> WorkCalendar:
    return default_calendar()


def test_national_day_2025(cn: WorkCalendar) -> None:
    for day in range(1, 9):
        assert not cn.is_working_day(date(2025, 10, day)), day
    assert cn.is_working_day(date(2025, 9, 28))  # Sunday, make-up workday
    assert cn.is_working_day(date(2025, 10, 11))  # Saturday, make-up workday
    assert cn.is_working_day(date(2025, 9, 30))
    assert cn.is_working_day(date(2025, 10, 9))
    assert not cn.is_working_day(date(2025, 10, 12))  # plain Sunday


def test_spring_festival_2026(cn: WorkCalendar) -> None:
    for day in (16, 17, 18, 19, 20, 23):
        assert not cn.is_working_day(date(2026, 2, day)), day
    assert cn.is_working_day(date(2026, 2, 14))  # Saturday, make-up workday
    assert cn.is_working_day(date(2026, 2, 28))  # Saturday, make-up workday
    assert cn.is_working_day(date(2026, 2, 24))


def test_add_working_days_across_national_day(cn: WorkCalendar) -> None:
    start = date(2025, 9, 30)
    assert cn.add_working_days(start, 1) == date(2025, 10, 9)
    assert cn.add_working_days(start, 3) == date(2025, 10, 11)
    assert cn.add_working_days(start, 4) == date(2025, 10, 13)
    assert cn.add_working_days(date(2025, 10, 9), -1) == start
    assert cn.next_working_day(start) == date(2025, 10, 9)
    assert cn.previous_working_day(date(2025, 10, 9)) == start


def test_add_working_days_zero_rolls_forward(cn: WorkCalendar) -> None:
    assert cn.add_working_days(date(2025, 10, 3), 0) == date(2025, 10, 9)
    assert cn.add_working_days(date(2025, 10, 9), 0) == date(2025, 10, 9)


def test_datetimes_keep_time_of_day(cn: WorkCalendar) -> None:
    start = datetime(2025, 9, 30, 17, 45)
    assert cn.add_working_days(start, 1) == datetime(2025, 10, 9, 17, 45)


def test_working_days_between(cn: WorkCalendar) -> None:
    a, b = date(2025, 9, 30), date(2025, 10, 11)
    assert cn.working_days_between(a, b) == 3
    assert cn.working_days_between(b, a) == -3
    assert cn.working_days_between(a, a) == 0
    assert cn.add_working_days(a, cn.working_days_between(a, b)) == b


def test_provider_can_be_replaced() -> None:
    custom = WorkCalendar(holidays={date(2030, 1, 2)}, workdays={date(2030, 1, 5)})
    previous = set_calendar_provider(lambda: custom)
    try:
        assert get_calendar() is custom
        assert get_calendar().add_working_days(date(2030, 1, 1), 1) == date(2030, 1, 3)
        assert get_calendar().is_working_day(date(2030, 1, 5))
        set_calendar_provider(None)
        assert get_calendar() is cal._default_provider()
    finally:
        set_calendar_provider(previous)  # the app's database-backed provider, for the tests after this one
