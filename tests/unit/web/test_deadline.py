"""A deadline in words on the working-day clock: what is left (or over) in working days,
weekends and holidays not counted; a stopped clock says so."""

from __future__ import annotations

from datetime import datetime

from twonets.core.calendar import LOCAL_TZ
from twonets.web.deadline import left


def at(*args) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def test_time_left_counts_working_days_only():
    # Friday noon to Tuesday midnight: Friday's half day and Monday, the weekend not counted.
    d = left(at(2026, 12, 8, 0, 0), at(2026, 12, 4, 12, 0), flag="warning")
    assert (d.kind, d.value, d.flag) == ("left", 1.5, "warning")


def test_past_the_deadline_is_overdue_whatever_the_stored_flag():
    d = left(at(2026, 12, 3, 12, 0), at(2026, 12, 4, 0, 0), flag="ok")
    assert (d.kind, d.value, d.flag) == ("over", 0.5, "overdue")
    barely = left(at(2026, 12, 3, 12, 0), at(2026, 12, 3, 12, 1))
    assert (barely.kind, barely.value) == ("over", 0.1)  # never "overdue by 0"


def test_a_stopped_clock_says_so_with_or_without_a_deadline():
    assert left(None, at(2026, 12, 3, 12, 0), running=False).kind == "stopped"
    assert left(at(2026, 12, 8), at(2026, 12, 3, 12, 0), running=False).kind == "stopped"
    assert left(None, at(2026, 12, 3, 12, 0)).kind == "none"
