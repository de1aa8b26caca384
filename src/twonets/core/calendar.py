"""Every question about days, working days, holidays and deadlines is answered here.

Timestamps are stored in UTC; "same day", working days and office hours are judged in the
district's local time, Asia/Shanghai (UTC+8, no DST).

Clocks. A time limit runs on one of four clocks:
- ``calendar``: plain elapsed time;
- ``working_days``: only the 24 hours of each working day count (holidays and weekends are
  skipped, make-up workdays count), so "2 working days" from Friday 10:00 ends Tuesday 10:00;
- ``working_hours``: only office hours (09:00–18:00) of working days count;
- ``same_day``: due at the end of the local calendar day of the start.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml
from pydantic import AfterValidator, AwareDatetime, BeforeValidator

log = logging.getLogger("twonets.calendar")

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
OFFICE_OPEN = time(9, 0)
OFFICE_CLOSE = time(18, 0)
HOLIDAY_FILE = Path(__file__).with_name("holidays.yaml")
DAY = 86400.0

Clock = Literal["calendar", "working_days", "working_hours", "same_day"]
CLOCKS: tuple[str, ...] = ("calendar", "working_days", "working_hours", "same_day")


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_local(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime: twonets works only with aware datetimes")
    return at.astimezone(LOCAL_TZ)


def local_date(at: datetime) -> date:
    return to_local(at).date()


def local_midnight(day: date) -> datetime:
    """Start of a local day, as an aware datetime in UTC."""
    return datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)


def end_of_local_day(at: datetime) -> datetime:
    return local_midnight(local_date(at) + timedelta(days=1))


# --- the range of time the system reasons about --------------------------------------------

# Every instant and day that comes from outside (filters, readings, validity periods) lies in
# this range: far beyond any record, and far enough inside Python's years 1-9999 that a day
# added, a window of 90 days subtracted or a conversion to UTC never overflows.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
RANGE_TEXT = f"between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}"


def day_in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def in_range(at: datetime) -> bool:
    """Whether an instant (aware; a naive one is read as UTC) lies in the supported range."""
    try:
        utc = at.astimezone(UTC) if at.tzinfo is not None else at
    except OverflowError:  # e.g. 0001-01-01T00:00+14:00 is before year 1 in UTC
        return False
    return day_in_range(utc.date())


def _instant(at: datetime) -> datetime:
    if not in_range(at):
        raise ValueError(f"a time {RANGE_TEXT}")
    return at


def _day(day: date) -> date:
    if not day_in_range(day):
        raise ValueError(f"a day {RANGE_TEXT}")
    return day


def _written(value: object) -> object:
    """Times and days come written out (ISO 8601), never as a bare number of seconds."""
    if isinstance(value, (int, float)):
        raise ValueError("an ISO 8601 text, e.g. 2026-11-28T10:00:00+08:00")
    return value


# Types for validated input (API query parameters and bodies): an error names the field.
Instant = Annotated[AwareDatetime, BeforeValidator(_written), AfterValidator(_instant)]
AnyInstant = Annotated[datetime, BeforeValidator(_written), AfterValidator(_instant)]  # a naive time is read as UTC
Day = Annotated[date, BeforeValidator(_written), AfterValidator(_day)]


# --- working days -------------------------------------------------------------------------


def _expand(items: list[str]) -> set[date]:
    out: set[date] = set()
    for item in items or []:
        if ".." in str(item):
            a, b = (date.fromisoformat(x.strip()) for x in str(item).split(".."))
            out.update(a + timedelta(days=i) for i in range((b - a).days + 1))
        else:
            out.add(date.fromisoformat(str(item)))
    return out


@lru_cache(maxsize=1)
def _holiday_file() -> dict[int, tuple[frozenset[date], frozenset[date]]]:
    raw = yaml.safe_load(HOLIDAY_FILE.read_text(encoding="utf-8")) or {}
    return {
        int(year): (frozenset(_expand(spec.get("holidays", []))), frozenset(_expand(spec.get("workdays", []))))
        for year, spec in raw.items()
    }


_warned_years: set[int] = set()


@lru_cache(maxsize=8192)
def is_workday(day: date) -> bool:
    """A working day: Monday–Friday that is not a public holiday, or a make-up workday."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        pass
    known = _holiday_file().get(day.year)
    if known is not None:
        holidays, workdays = known
        if day in workdays:
            return True
        return day.weekday() < 5 and day not in holidays
    if day.year not in _warned_years:
        _warned_years.add(day.year)
        log.warning(
            "no holiday schedule for %s in chinese-calendar or %s; using Monday-Friday",
            day.year,
            HOLIDAY_FILE.name,
        )
    return day.weekday() < 5


def is_holiday(day: date) -> bool:
    return not is_workday(day)


def next_workday(day: date) -> date:
    day += timedelta(days=1)
    while not is_workday(day):
        day += timedelta(days=1)
    return day


# --- clocks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """A time limit: `value` units on a clock. Units: days for working_days, hours otherwise."""

    clock: str
    value: float = 0.0

    def __post_init__(self):
        if self.clock not in CLOCKS:
            raise ValueError(f"unknown clock {self.clock!r}; use one of {', '.join(CLOCKS)}")
        if self.value < 0:
            raise ValueError("a time limit cannot be negative")

    @property
    def seconds(self) -> float:
        """Length of the limit in clock-seconds (0 for same_day: it depends on the start)."""
        if self.clock == "working_days":
            return self.value * DAY
        if self.clock in ("working_hours", "calendar"):
            return self.value * 3600.0
        return 0.0


def _windows(clock: str, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The stretches of time (UTC) that count on `clock`, from the local day of `start` on."""
    day = local_date(start)
    while True:
        if is_workday(day):
            if clock == "working_days":
                yield local_midnight(day), local_midnight(day + timedelta(days=1))
            else:
                yield (
                    datetime.combine(day, OFFICE_OPEN, LOCAL_TZ).astimezone(UTC),
                    datetime.combine(day, OFFICE_CLOSE, LOCAL_TZ).astimezone(UTC),
                )
        day += timedelta(days=1)


def add(clock: str, start: datetime, seconds: float) -> datetime:
    """The moment when `seconds` of `clock` time have passed since `start`."""
    if clock == "calendar":
        return start + timedelta(seconds=seconds)
    if clock == "same_day":
        return end_of_local_day(start)
    remaining = seconds
    for a, b in _windows(clock, start):
        if b <= start:
            continue
        a = max(a, start)
        span = (b - a).total_seconds()
        if remaining <= span:
            return a + timedelta(seconds=remaining)
        remaining -= span
    raise AssertionError("unreachable")  # _windows is infinite


def elapsed(clock: str, start: datetime, end: datetime) -> float:
    """Seconds of `clock` time between `start` and `end` (0 if end <= start)."""
    if end <= start:
        return 0.0
    if clock in ("calendar", "same_day"):
        return (end - start).total_seconds()
    total = 0.0
    for a, b in _windows(clock, start):
        if a >= end:
            break
        lo, hi = max(a, start), min(b, end)
        if hi > lo:
            total += (hi - lo).total_seconds()
    return total


def working_days_between(start: datetime, end: datetime) -> float:
    """Elapsed working time in working days (fractional): the KPI's resolution time."""
    return elapsed("working_days", start, end) / DAY


@dataclass(frozen=True)
class Deadline:
    due_at: datetime
    warn_at: datetime


def deadline(limit: Limit, start: datetime, warning_share: float = 0.75, spent: float = 0.0) -> Deadline:
    """Due and warning moments for a limit started at `start`, with `spent` clock-seconds used.

    `spent` lets a suspended order resume with the time it had left.
    """
    if limit.clock == "same_day":
        due = end_of_local_day(start)
        total = (due - start).total_seconds()
        return Deadline(due, start + timedelta(seconds=total * warning_share))
    total = limit.seconds
    due = add(limit.clock, start, max(total - spent, 0.0))
    warn = add(limit.clock, start, max(total * warning_share - spent, 0.0))
    return Deadline(due, warn)
