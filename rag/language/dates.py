"""Dates named in text: the period a question asks about ("in March 2024", "on 5 March 2024")."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH}\s*,?\s+((?:19|20)\d\d)\b", re.I)
_MONTH_DAY_YEAR = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s+((?:19|20)\d\d)\b", re.I)
_MONTH_YEAR = re.compile(rf"\b(?:in|during|since|from|of)\s+{_MONTH}\s*,?\s+((?:19|20)\d\d)\b", re.I)
_YEAR = re.compile(r"\b(?:in|during)\s+((?:19|20)\d\d)\b(?!\s*[-–/])", re.I)  # not "in 2022-23"


def question_dates(question: str) -> tuple[datetime, datetime] | None:
    """The period a question names (a day, "in March 2024", "in 2023") as [start, end] in UTC, or None."""
    if found := _DAY_MONTH_YEAR.search(question):
        day, month, year = int(found[1]), _MONTHS[found[2].lower()], int(found[3])
        return _day(year, month, day)
    if found := _MONTH_DAY_YEAR.search(question):
        month, day, year = _MONTHS[found[1].lower()], int(found[2]), int(found[3])
        return _day(year, month, day)
    if found := _MONTH_YEAR.search(question):
        month, year = _MONTHS[found[1].lower()], int(found[2])
        last = calendar.monthrange(year, month)[1]
        return _span(datetime(year, month, 1, tzinfo=UTC), datetime(year, month, last, tzinfo=UTC))
    if found := _YEAR.search(question):
        year = int(found[1])
        return _span(datetime(year, 1, 1, tzinfo=UTC), datetime(year, 12, 31, tzinfo=UTC))
    return None


def _day(year: int, month: int, day: int) -> tuple[datetime, datetime] | None:
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    start = datetime(year, month, day, tzinfo=UTC)
    return _span(start, start)


def _span(first_day: datetime, last_day: datetime) -> tuple[datetime, datetime]:
    return first_day, last_day + timedelta(days=1) - timedelta(microseconds=1)
