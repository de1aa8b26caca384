"""The daily KPI rollup (city/kpi_rollup.py) equals the full computation over the orders, on
SQLite and PostgreSQL, after the demo's imported histories and a randomized life on top of them
(dispatch, reassign, return, escalate, merge, cancel, suspend, callbacks that reopen, the timer's
overdue flags)."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import pytest
from rich.console import Console
from sqlalchemy import select

from twonets.city import kpi, kpi_rollup, lifecycle, orders
from twonets.city import order_repository as repo
from twonets.city.models import OrderCreate
from twonets.city.reference import reference
from twonets.core.actor import Actor
from twonets.core.calendar import LOCAL_TZ
from twonets.core.db import unit_of_work
from twonets.core.errors import Conflict, InvalidInput
from twonets.demo.orders import run_demo

DESK = Actor(id="desk", roles=frozenset({"dispatcher"}))
END = date(2026, 11, 20)  # the demo's last day (a Friday)
AVERAGES = ("avg_resolution_working_days", "avg_resolution_calendar_days")


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_TZ)


def _random_life(session, rng: random.Random) -> None:
    """New orders on the three days after the demo, then random legal actions on every order."""
    ref = reference()
    departments = sorted(ref.departments)[:8]
    spots = [(r.lon, r.lat, r.category) for r in repo.listing(
        session, visible=None, filters={}, created_from=None, created_to=None, before_id=None, limit=400)
        if r.lon is not None]
    ids = [r.public_id for r in repo.listing(session, visible=None, filters={}, created_from=None, created_to=None,
                                             before_id=None, limit=1000)]
    clock = _at(END + timedelta(days=1), 8)
    for i in range(60):
        lon, lat, category = rng.choice(spots)
        source = rng.choice(["auto", "proactive", "citizen"])
        channel = {"auto": "sensor", "proactive": "inspector", "citizen": "phone"}[source]
        near = rng.random() < 0.3  # close to an existing order: linked as its duplicate
        body = OrderCreate(source=source, channel=channel, category=category, description=f"随机 {i}",
                           lon=lon + (0.00005 if near else rng.uniform(-0.002, 0.002)), lat=lat,
                           department=rng.choice(departments) if rng.random() < 0.2 else None)
        clock += timedelta(minutes=rng.randint(5, 90))
        try:
            ids.append(orders.create_order(session, DESK, body, clock).id)
        except InvalidInput:  # a point that fell outside the district
            continue
    for step in range(500):
        clock += timedelta(minutes=rng.randint(1, 40))
        if step % 150 == 149:
            orders.tick(session, clock + timedelta(days=2))
            continue
        oid = rng.choice(ids)
        state = repo.state_of(repo.load(session, oid))
        allowed = [a for a in lifecycle.allowed_for(state.status, state.source)]
        if not allowed:
            continue
        action = rng.choice(allowed)
        data: dict = {}
        if action in ("dispatch", "reassign"):
            data["department"] = rng.choice(departments)
        elif action == "callback":
            data.update(actually_resolved=rng.random() < 0.7,
                        satisfaction=rng.choice(["satisfied", "basically_satisfied", "dissatisfied"]))
        elif action == "merge":
            data["master"] = rng.choice(ids)
        reason = "随机" if action in lifecycle.NEEDS_REASON else None
        try:
            orders.transition(session, DESK, oid, action, reason, at=max(clock, state.updated_at), **data)
        except (Conflict, InvalidInput):  # an unfit master, the top escalation level…
            continue


def _same(rolled: list[kpi.KpiRow], full: list[kpi.KpiRow]) -> None:
    assert [r.group for r in rolled] == [r.group for r in full]
    for a, b in zip(rolled, full, strict=True):
        # counts and rates exactly; mean times to a millisecond of rounding (the rollup sums milliseconds)
        assert a.model_dump(exclude=set(AVERAGES)) == b.model_dump(exclude=set(AVERAGES)), a.group
        for f in AVERAGES:
            x, y = getattr(a, f), getattr(b, f)
            assert (x is None) == (y is None) and (x is None or abs(x - y) <= 1e-4), (a.group, f, x, y)


QUERIES = [
    {},
    {"group_by": "department"},
    {"group_by": "street"},
    {"group_by": "source"},
    {"date_from": "2026-11-19", "date_to": "2026-11-19", "group_by": "department"},
    {"date_from": "2026-11-20", "date_to": "2026-11-23", "group_by": "street", "source": "citizen"},
    {"date_from": "2026-11-21", "group_by": "source"},
    {"date_to": "2026-11-20", "department": "chengguan"},
]


def test_rollup_equals_the_full_computation_after_imported_and_random_histories(engine):
    run_demo(engine, days=2, seed=5, orders_per_day=150, console=Console(quiet=True), end_day=END)
    with unit_of_work(engine) as s:
        _random_life(s, random.Random(16))
    with unit_of_work(engine) as s:
        actions = set(s.execute(select(repo.work_order_event.c.action)).scalars())
        # the paths the rollup has to follow were taken
        assert {"reopen", "escalate", "merge", "cancel", "reassign", "flag"} <= actions
        for q in QUERIES:
            query = kpi.KpiQuery.parse(**q)
            assert kpi_rollup.answers(query.group_by, query.filters)
            full = kpi.compute_from_orders(s, query)
            assert full[0].orders > 0
            _same(kpi.compute(s, query), full)
        # the console's 30-day trend, one row a day, from the rollup and from the orders
        first, last = END - timedelta(days=3), END + timedelta(days=4)
        by_day = kpi.daily(s, first, last)
        for row in by_day:
            d = date.fromisoformat(row.group)
            _same([row.model_copy(update={"group": "all"})],
                  kpi.compute_from_orders(s, kpi.KpiQuery(date_from=d, date_to=d)))
        # kept incrementally, it is exactly what a rebuild from the orders gives
        kept = kpi_rollup.stored(s)
        kpi_rollup.rebuild(s)
        assert kpi_rollup.stored(s) == kept


def test_cuts_the_rollup_does_not_hold_are_computed_from_the_orders(engine):
    run_demo(engine, days=1, seed=6, orders_per_day=80, console=Console(quiet=True), end_day=END)
    with unit_of_work(engine) as s:
        for q in ({"group_by": "category"}, {"group_by": "department", "grid": "x"}, {"channel": "phone"}):
            query = kpi.KpiQuery.parse(**q)
            assert not kpi_rollup.answers(query.group_by, query.filters)
            assert kpi.compute(s, query) == kpi.compute_from_orders(s, query)


def test_work_rolled_back_leaves_the_rollup_as_it_was(engine):
    run_demo(engine, days=1, seed=7, orders_per_day=40, console=Console(quiet=True), end_day=END)
    with unit_of_work(engine) as s:
        before = kpi_rollup.stored(s)
        row = repo.listing(s, visible=None, filters={"status": "closed"}, created_from=None, created_to=None,
                           before_id=None, limit=1)[0]
        with pytest.raises(RuntimeError), s.begin_nested():
            orders.transition(s, DESK, row.public_id, "reopen", "not fixed", at=_at(END + timedelta(days=1), 9))
            assert kpi_rollup.stored(s) != before  # the reopen counted, inside the savepoint
            raise RuntimeError("undo")
        assert kpi_rollup.stored(s) == before


def test_the_migration_fills_the_rollup_of_orders_stored_before_it(engine):
    from twonets.core import db as core_db

    run_demo(engine, days=1, seed=8, orders_per_day=60, console=Console(quiet=True), end_day=END)
    with unit_of_work(engine) as s:
        _random_life(s, random.Random(3))
    with unit_of_work(engine) as s:
        kept = kpi_rollup.stored(s)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    core_db.downgrade(url, "0008_order_reporter_account")
    core_db.upgrade(url)
    with unit_of_work(engine) as s:
        assert kpi_rollup.stored(s) == kept and kept
