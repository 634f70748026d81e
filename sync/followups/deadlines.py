"""Working-day deadlines: weekends, official holidays and make-up workdays (调休) skipped right.

The official calendar comes from the chinese-calendar package (the State Council's yearly
notice). For a year the package does not know yet, Monday to Friday are working days.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import chinese_calendar

#: seed 004: 5 个工作日内解决并答复
DEFAULT_DAYS = 5
#: seed 004: 确需延期的经受理部门同意后，最长不超过一个月
MAX_EXTENSION_MONTHS = 1


def is_working_day(day: date) -> bool:
    """Whether offices work that day by the official calendar."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # a year beyond the package's calendar
        return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The day `days` working days after `start` (the opening day itself does not count)."""
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clipped to the month's end (Jan 31 + 1 → Feb 28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def latest_extension(opened_on: date) -> date:
    """The furthest an extended deadline may go: one month after opening."""
    return add_months(opened_on, MAX_EXTENSION_MONTHS)
