"""The deadline timer inside the server: started and stopped with the app, survives failures."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.districts import seed_tiny_district
from twonets.api.app import create_app
from twonets.city import orders
from twonets.city.models import OrderCreate
from twonets.city.timer import BackgroundTimer, start_background_timer
from twonets.core.actor import SYSTEM
from twonets.core.calendar import utcnow
from twonets.core.db import session_factory


def wait_until(predicate, limit_s: float = 20.0) -> bool:
    """Poll (this waits for a thread; it asserts nothing about how long it takes)."""
    end = time.monotonic() + limit_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_timer_runs_with_the_app_and_flags_overdue_orders(sqlite_engine):
    s = session_factory(sqlite_engine)()
    seed_tiny_district(s)
    created = utcnow() - timedelta(hours=6)  # illegal_parking: 4 calendar hours → overdue now
    oid = orders.create_order(s, SYSTEM, OrderCreate(source="citizen", channel="phone", category="illegal_parking",
                                                      description="堵门", address="某路1号"), created).id
    s.commit()
    app = create_app(sqlite_engine)
    timer = start_background_timer(app, interval=0.05)
    assert start_background_timer(app) is timer  # once per app
    assert not timer.running
    with TestClient(app):
        assert timer.running
        assert wait_until(lambda: timer.runs >= 2)
    assert not timer.running
    s.expire_all()
    order = orders.get_order(s, SYSTEM, oid)
    assert order.flag == "overdue" and order.escalation_level == 1
    assert [e.action for e in order.timeline].count("escalate") == 1  # idempotent across ticks
    s.close()


def test_a_failing_tick_is_counted_and_the_timer_goes_on():
    calls = []
    ran_twice = threading.Event()

    def job():
        calls.append(1)
        if len(calls) >= 2:
            ran_twice.set()
        raise RuntimeError("database went away")

    timer = BackgroundTimer(job, interval=0.01)
    timer.start()
    assert ran_twice.wait(20)
    timer.stop()
    assert timer.failures >= 2 and timer.runs >= 2 and not timer.running
