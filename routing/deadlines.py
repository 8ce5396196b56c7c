"""Deadlines counted in Vietnamese working days (Monday to Friday; holidays supplied by the caller)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
CLOSE_OF_BUSINESS = time(17, 0)


def is_working_day(day: date, holidays: Collection[date] = ()) -> bool:
    """True for Monday to Friday unless the day is a holiday."""
    return day.weekday() < 5 and day not in holidays


def add_working_days(start: datetime, days: int, holidays: Collection[date] = ()) -> datetime:
    """Close of business (17:00 local) on the days-th working day after start's local date."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if days < 0:
        raise ValueError("days must not be negative")
    day = start.astimezone(LOCAL).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            counted += 1
    if days == 0 and not is_working_day(day, holidays):
        return add_working_days(start, 1, holidays)
    return datetime.combine(day, CLOSE_OF_BUSINESS, tzinfo=LOCAL)
