import logging
from datetime import UTC, date, datetime

import pytest

from twonets.core import calendar as cal

CST = cal.LOCAL_TZ


def local(*args) -> datetime:
    return datetime(*args, tzinfo=CST)


def test_national_day_2026_and_its_make_up_workday():
    assert not cal.is_workday(date(2026, 10, 1))
    assert not cal.is_workday(date(2026, 10, 7))
    assert cal.is_workday(date(2026, 10, 8))
    assert cal.is_workday(date(2026, 10, 10))  # Saturday, a make-up workday
    assert not cal.is_workday(date(2026, 10, 11))  # an ordinary Sunday


def test_working_days_limit_spans_national_day():
    # Created Wednesday 30 Sep 10:00; 3 working days: rest of 30 Sep (14 h), then the holiday
    # 1–7 Oct is skipped, 8 and 9 Oct count, and the limit ends on 10 Oct (make-up Saturday) at 10:00.
    start = local(2026, 9, 30, 10, 0)
    due = cal.add("working_days", start, 3 * cal.DAY)
    assert due == local(2026, 10, 10, 10, 0)
    d = cal.deadline(cal.Limit("working_days", 3), start)
    assert d.due_at == due
    # 75% of 3 working days = 2.25 days: 30 Sep 14h + 8 Oct 24h + 9 Oct 16h.
    assert d.warn_at == local(2026, 10, 9, 16, 0)


def test_elapsed_working_days_skips_holidays_and_counts_make_up_day():
    start, end = local(2026, 9, 30, 12, 0), local(2026, 10, 12, 12, 0)
    # 30 Sep: 12h; 8, 9, 10 Oct: 72h; 12 Oct: 12h → 96h = 4 working days
    assert cal.working_days_between(start, end) == pytest.approx(4.0)
    assert cal.elapsed("calendar", start, end) == 12 * cal.DAY


def test_working_hours_clock_counts_office_hours_only():
    start = local(2026, 11, 27, 17, 0)  # Friday 17:00
    assert cal.add("working_hours", start, 4 * 3600) == local(2026, 11, 30, 12, 0)  # Monday 12:00
    assert cal.elapsed("working_hours", start, local(2026, 11, 30, 12, 0)) == 4 * 3600


def test_same_day_is_end_of_local_day():
    start = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 23:30 local
    d = cal.deadline(cal.Limit("same_day"), start)
    assert d.due_at == local(2026, 11, 25, 0, 0)
    assert start < d.warn_at < d.due_at


def test_suspension_resumes_with_time_left():
    limit = cal.Limit("working_days", 2)
    start = local(2026, 11, 23, 9, 0)  # Monday
    spent = cal.elapsed("working_days", start, local(2026, 11, 23, 21, 0))  # 12 h used
    resumed = local(2026, 11, 26, 9, 0)
    assert cal.deadline(limit, resumed, spent=spent).due_at == local(2026, 11, 27, 21, 0)


def test_year_beyond_chinese_calendar_falls_back_to_weekdays_with_one_warning(caplog):
    caplog.set_level(logging.WARNING, logger="twonets.calendar")
    cal._warned_years.discard(2031)
    cal.is_workday.cache_clear()
    assert cal.is_workday(date(2031, 1, 6))  # a Monday
    assert not cal.is_workday(date(2031, 1, 5))  # a Sunday
    cal.is_workday(date(2031, 1, 7))
    warnings = [r for r in caplog.records if "2031" in r.getMessage()]
    assert len(warnings) == 1
    # An order due in such a year still gets a deadline.
    assert cal.add("working_days", local(2031, 1, 3, 10), cal.DAY) == local(2031, 1, 6, 10)


def test_holiday_file_years_are_used(monkeypatch, tmp_path):
    f = tmp_path / "h.yaml"
    f.write_text('2032:\n  holidays: ["2032-01-01..2032-01-02"]\n  workdays: ["2032-01-04"]\n')
    monkeypatch.setattr(cal, "HOLIDAY_FILE", f)
    cal._holiday_file.cache_clear()
    cal.is_workday.cache_clear()
    try:
        assert not cal.is_workday(date(2032, 1, 1))  # Thursday, holiday
        assert not cal.is_workday(date(2032, 1, 2))
        assert cal.is_workday(date(2032, 1, 4))  # Sunday, make-up workday
        assert cal.is_workday(date(2032, 1, 5))
    finally:
        cal._holiday_file.cache_clear()
        cal.is_workday.cache_clear()


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        cal.local_date(datetime(2026, 1, 1))


def test_limit_validation():
    with pytest.raises(ValueError):
        cal.Limit("fortnights", 1)
    with pytest.raises(ValueError):
        cal.Limit("calendar", -1)
