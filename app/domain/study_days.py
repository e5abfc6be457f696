"""Study days (SPEC §1): Day 1 is the calendar date of randomization.

Study day of date `d` = `(d - day1).days + 1`. There is no Day 0: the day before Day 1 is
Day 0 only arithmetically and means "before randomization"; every date before Day 1 gives a
study day <= 0, which no protocol window contains.
"""

from __future__ import annotations

from datetime import date, timedelta


def study_day(day1: date, d: date) -> int:
    """The study day of `d`; <= 0 for dates before randomization."""
    return (d - day1).days + 1


def date_of_study_day(day1: date, n: int) -> date:
    """The calendar date of study day `n` (the inverse of `study_day`)."""
    return day1 + timedelta(days=n - 1)
