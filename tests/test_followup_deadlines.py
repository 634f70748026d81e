"""Working-day deadlines: weekends, official holidays and make-up workdays (调休)."""

from __future__ import annotations

from datetime import date

import pytest

from sync.followups.deadlines import add_months, add_working_days, is_working_day, latest_extension


def test_a_plain_week_skips_the_weekend():
    # Friday 2026-11-20 + 5 working days: Mon 23 … Fri 27
    assert add_working_days(date(2026, 11, 20), 5) == date(2026, 11, 27)
    assert add_working_days(date(2026, 11, 23), 5) == date(2026, 11, 30)
    assert add_working_days(date(2026, 11, 21), 1) == date(2026, 11, 23)  # opened on a Saturday


def test_national_day_holiday_and_make_up_saturday():
    # 2026: 1–7 October are holidays, Saturday 10 October is a make-up workday (调休上班).
    assert not is_working_day(date(2026, 10, 1)) and not is_working_day(date(2026, 10, 5))
    assert is_working_day(date(2026, 10, 10))  # a Saturday that is a working day
    assert not is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    # Opened Wed 30 Sep: Thu 8 (1), Fri 9 (2), Sat 10 make-up (3), Mon 12 (4), Tue 13 (5).
    assert add_working_days(date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)


def test_make_up_sunday_before_the_holiday_counts():
    # Sunday 20 September 2026 is a make-up workday for the National Day holiday.
    assert is_working_day(date(2026, 9, 20))
    assert add_working_days(date(2026, 9, 19), 1) == date(2026, 9, 20)


def test_spring_festival_2026():
    # 2026 Spring Festival: 15–23 February off; Saturday 14 and 28 February are make-up days.
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 14), 1) == date(2026, 2, 24)


def test_a_year_beyond_the_calendar_falls_back_to_weekdays():
    assert is_working_day(date(2099, 1, 1)) is (date(2099, 1, 1).weekday() < 5)
    assert add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 5)  # Friday → Monday


def test_zero_and_negative_days():
    assert add_working_days(date(2026, 10, 1), 0) == date(2026, 10, 1)
    with pytest.raises(ValueError):
        add_working_days(date(2026, 10, 1), -1)


def test_extension_limit_is_one_calendar_month():
    assert latest_extension(date(2026, 1, 31)) == date(2026, 2, 28)
    assert latest_extension(date(2026, 12, 15)) == date(2027, 1, 15)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
