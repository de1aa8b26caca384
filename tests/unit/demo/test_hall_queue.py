"""The demo hall has people waiting for a number, once a day."""

from __future__ import annotations

from datetime import timedelta

from tests.unit.govservices.support import local, staff
from twonets.core.db import session_factory
from twonets.demo.hall import HALL, seed_queue
from twonets.govservices import hall


def test_the_demo_hall_has_a_queue_once_a_day(sqlite_engine):
    at = local(2026, 12, 3, 9, 30)
    assert seed_queue(sqlite_engine, 4, at=at) == 4
    assert seed_queue(sqlite_engine, 4, at=at + timedelta(minutes=1)) == 0  # again the same day: nothing more
    clerk = staff("hall_clerk", HALL)
    with session_factory(sqlite_engine)() as s:
        waiting = hall.waiting(s, clerk, at=at)
        assert [t.label for t in waiting] == ["A001", "A002", "A003", "A004"]
        assert all(t.issued_at <= at for t in waiting)
        assert hall.call_next(s, clerk, at=at).label == "A001"
