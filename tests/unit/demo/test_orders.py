"""The demo simulator: deterministic, a realistic mix, and every order the replay of its events."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date

import pytest
from rich.console import Console
from sqlalchemy import func, select

from twonets.city import kpi, lifecycle
from twonets.city import order_repository as store
from twonets.city import orders as work_orders
from twonets.city.lifecycle import Event
from twonets.city.tables import routing_rule, work_order, work_order_event
from twonets.core import calendar
from twonets.core import db as core_db
from twonets.core.db import unit_of_work
from twonets.demo.orders import run_demo

END = date(2026, 11, 20)  # a Friday


def _quiet() -> Console:
    return Console(quiet=True)


def _dump(engine) -> tuple[list, list]:
    with unit_of_work(engine) as s:
        orders = [tuple(r) for r in s.execute(select(work_order).order_by(work_order.c.id)).all()]
        events = [tuple(r) for r in s.execute(select(work_order_event).order_by(work_order_event.c.id)).all()]
    return orders, events


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory, sqlite_template):
    """One small demo (2 days × 300 orders) shared by the read-only checks."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copy(sqlite_template, path)
    engine = core_db.make_engine(f"sqlite:///{path}")
    created = run_demo(engine, days=2, seed=11, orders_per_day=300, console=_quiet(), end_day=END)
    yield engine, created
    engine.dispose()


def test_counts_and_mix(demo_db):
    engine, created = demo_db
    assert created == 600
    with unit_of_work(engine) as s:
        sources = Counter(s.execute(select(work_order.c.source)).scalars())
        statuses = Counter(s.execute(select(work_order.c.status)).scalars())
        actions = Counter(s.execute(select(work_order_event.c.action)).scalars())
        days = Counter(calendar.local_date(t) for t in s.execute(select(work_order.c.created_at)).scalars())
        ids = s.execute(select(work_order.c.public_id).order_by(work_order.c.created_at)).scalars().all()
    assert set(sources) == {"auto", "proactive", "citizen"}
    assert sources["auto"] > sources["citizen"] and sources["proactive"] > sources["citizen"]
    assert days == {date(2026, 11, 19): 300, date(2026, 11, 20): 300}
    assert ids[0].startswith("WO-20261119-") and ids[-1].startswith("WO-20261120-")
    assert statuses["closed"] > 200  # most orders are done …
    assert sum(statuses[s] for s in lifecycle.OPEN | {"suspended", "resolved", "checked"}) > 0  # … some are not
    for action in ("create", "dispatch", "accept", "resolve", "check", "callback", "close", "flag", "return"):
        assert actions[action] > 0, action
    assert actions["create"] == 600


def test_every_order_is_the_replay_of_its_events(demo_db):
    engine, _ = demo_db
    with unit_of_work(engine) as s:
        rows = s.execute(select(work_order)).all()
        events = {}
        for r in s.execute(select(work_order_event).order_by(work_order_event.c.order_id, work_order_event.c.seq)):
            events.setdefault(r.order_id, []).append(r)
        for row in rows:
            evs = events[row.id]
            assert [e.seq for e in evs] == list(range(1, len(evs) + 1))
            assert row.event_count == len(evs)
            replayed = lifecycle.replay([Event(e.action, e.at, e.actor, e.from_status, e.to_status, e.reason, e.data)
                                         for e in evs])
            assert replayed == store.state_of(row), row.public_id
            assert all(a.at <= b.at for a, b in zip(evs, evs[1:]))
        # The service's own check agrees on a sample.
        for row in rows[::50]:
            assert work_orders.replay_matches(s, row.public_id)


def test_projection_counters_consistent(demo_db):
    engine, _ = demo_db
    with unit_of_work(engine) as s:
        per_order, overdue = {}, set()
        for r in s.execute(select(work_order_event.c.order_id, work_order_event.c.action, work_order_event.c.data)):
            per_order.setdefault(r.order_id, Counter())[r.action] += 1
            if r.action == "flag" and r.data["flag"] == "overdue":
                overdue.add(r.order_id)
        for row in s.execute(select(work_order)).all():
            c = per_order[row.id]
            assert row.returns_count == c["return"]
            assert row.reopen_count == c["reopen"]
            assert row.escalation_level == c["escalate"]  # one level per escalation
            assert row.was_overdue == (row.id in overdue)
            assert (row.master_id is not None) == (c["merge"] == 1)
            if row.status in lifecycle.OPEN:
                assert row.department is not None
            if row.source == "auto" and row.status == "closed":
                assert row.resolved_at is not None
        master_ids = set(s.execute(select(work_order.c.master_id).where(work_order.c.master_id.is_not(None))).scalars())
        known = set(s.execute(select(work_order.c.public_id).where(work_order.c.public_id.in_(master_ids))).scalars())
        assert master_ids == known
        rows = kpi.compute(s, kpi.KpiQuery())
    assert rows[0].orders == 600
    assert rows[0].same_day_rate is not None and rows[0].same_day_rate > 0.85
    assert rows[0].callbacks > 0


def test_same_seed_same_data(tmp_path, sqlite_template, demo_db):
    engine, _ = demo_db
    path = tmp_path / "again.db"
    shutil.copy(sqlite_template, path)
    again = core_db.make_engine(f"sqlite:///{path}")
    try:
        run_demo(again, days=2, seed=11, orders_per_day=300, console=_quiet(), end_day=END)
        assert _dump(again) == _dump(engine)
    finally:
        again.dispose()


def test_if_empty_and_routing(demo_db):
    engine, _ = demo_db
    assert run_demo(engine, days=1, seed=11, orders_per_day=10, if_empty=True, console=_quiet(), end_day=END) == 0
    with unit_of_work(engine) as s:
        assert s.execute(select(func.count()).select_from(work_order)).scalar_one() == 600
        # `other` requests go to the street office, by the street rules the demo adds.
        depts = Counter(d["department"] for d in s.execute(
            select(work_order_event.c.data).join(work_order, work_order.c.id == work_order_event.c.order_id)
            .where(work_order.c.category == "other", work_order_event.c.action == "dispatch",
                   work_order_event.c.actor == "system")).scalars())
        assert s.execute(select(func.count()).select_from(routing_rule)
                         .where(routing_rule.c.department == "jiedao", routing_rule.c.street_code.is_not(None))
                         ).scalar_one() == 14
    assert set(depts) <= {"jiedao"}


def test_different_seed_differs(tmp_path, sqlite_template):
    path = tmp_path / "other.db"
    shutil.copy(sqlite_template, path)
    engine = core_db.make_engine(f"sqlite:///{path}")
    try:
        assert run_demo(engine, days=1, seed=12, orders_per_day=50, console=_quiet(), end_day=END) == 50
        with unit_of_work(engine) as s:
            assert s.execute(select(func.count()).select_from(work_order)).scalar_one() == 50
    finally:
        engine.dispose()
