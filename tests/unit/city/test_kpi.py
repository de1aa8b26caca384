"""KPIs on a hand-computed fixture, recomputed from the stored events."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from tests.districts import cell_center, seed_tiny_district
from twonets.city import kpi, lifecycle, orders
from twonets.city.models import OrderCreate
from twonets.city.tables import work_order
from twonets.core.actor import SYSTEM
from twonets.core.calendar import LOCAL_TZ


def t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=LOCAL_TZ)


def make(db, when, source, category, where=(0, 0), dx=0.0, **kw):
    lon, lat = cell_center(*where)
    channel = {"auto": "sensor", "proactive": "inspector", "citizen": "phone"}[source]
    return orders.create_order(db, SYSTEM, OrderCreate(source=source, channel=channel, category=category,
                                                         description="fixture", lon=lon + dx, lat=lat, **kw), when).id


def act(db, oid, action, when, reason=None, **data):
    return orders.transition(db, SYSTEM, oid, action, reason, at=when, **data)


@pytest.fixture
def fixture_db(session):
    db = session
    seed_tiny_district(db)
    a1 = make(db, t(24, 10), "auto", "waterlogging", (1, 1))
    act(db, a1, "accept", t(24, 10, 10)); act(db, a1, "resolve", t(24, 15))
    a2 = make(db, t(24, 20), "auto", "manhole_missing", (1, 0))
    act(db, a2, "accept", t(24, 20, 10))
    p1 = make(db, t(27, 10), "proactive", "illegal_ad", (0, 1))
    act(db, p1, "accept", t(27, 11))
    p2 = make(db, t(24, 9), "proactive", "road_damage", (0, 1), dx=0.004)
    act(db, p2, "accept", t(24, 10))
    c1 = make(db, t(24, 9), "citizen", "exposed_garbage", (0, 0))
    c4 = make(db, t(24, 9, 30), "citizen", "exposed_garbage", (0, 0), dx=0.0002)  # ~20 m away: duplicate of c1
    act(db, c1, "return", t(24, 9, 40), "wrong department"); act(db, c1, "dispatch", t(24, 9, 50), department="lvhua")
    act(db, c1, "accept", t(24, 10)); act(db, c1, "resolve", t(24, 12))
    act(db, c1, "callback", t(24, 14), actually_resolved=True, satisfaction="satisfied")
    c2 = make(db, t(24, 9), "citizen", "shared_bikes", (1, 1), dx=0.003)
    act(db, c2, "accept", t(24, 10)); act(db, c2, "resolve", t(24, 11))
    act(db, c2, "callback", t(24, 11, 30), actually_resolved=False, satisfaction="dissatisfied")
    c3 = make(db, t(24, 9), "citizen", "illegal_parking", (1, 0), dx=0.003)
    act(db, c3, "accept", t(24, 9, 30)); act(db, c3, "resolve", t(24, 10))
    act(db, c3, "callback", t(24, 12), actually_resolved=True, satisfaction="basically_satisfied")
    orders.tick(db, t(25, 0, 30))
    act(db, a2, "resolve", t(25, 9))
    act(db, p1, "resolve", t(30, 10))
    db.commit()
    return db, dict(a1=a1, a2=a2, p1=p1, p2=p2, c1=c1, c2=c2, c3=c3, c4=c4)


def test_kpis_match_the_hand_computed_figures(fixture_db):
    db, ids = fixture_db
    assert orders.get_order(db, SYSTEM, ids["c4"]).master_id == ids["c1"]
    (row,) = kpi.compute(db, kpi.KpiQuery.parse("2026-11-24", "2026-11-30"))
    assert row.orders == 8
    assert (row.auto_orders, row.auto_same_day, row.same_day_rate) == (2, 1, 0.5)
    assert (row.proactive_orders, row.proactive_resolved, row.proactive_resolution_rate) == (2, 1, 0.5)
    assert (row.citizen_orders, row.callbacks) == (3, 3)
    assert row.actual_resolution_rate == pytest.approx(2 / 3, abs=1e-6)
    assert row.satisfaction_rate == pytest.approx(2 / 3, abs=1e-6)
    assert row.resolved_and_satisfied_rate == pytest.approx(2 / 3, abs=1e-6)
    assert row.resolved == 6
    # working hours: a1 5, a2 13, p1 24 (Fri 14 h + Mon 10 h), c1 3, c3 1, c4 2.5 → 48.5 h over 6
    assert row.avg_resolution_working_days == pytest.approx(48.5 / 6 / 24, abs=1e-4)
    # calendar hours: 5 + 13 + 72 + 3 + 1 + 2.5 = 96.5 h over 6
    assert row.avg_resolution_calendar_days == pytest.approx(96.5 / 6 / 24, abs=1e-4)
    assert row.on_time_rate == pytest.approx(5 / 6, abs=1e-6)
    assert row.overdue == 1
    assert (row.returns_per_order, row.reopen_rate, row.duplicate_rate) == (0.125, 0.125, 0.125)


def test_kpis_recompute_from_stored_events(fixture_db):
    db, _ = fixture_db
    states = []
    for order_id in db.execute(select(work_order.c.id)).scalars():
        states.append(lifecycle.replay(orders.events_of(db, order_id)))
    (sql_row,) = kpi.compute(db)
    assert kpi.from_states(states) == sql_row


def test_kpi_cuts_add_up(fixture_db):
    db, _ = fixture_db
    rows = kpi.compute(db, kpi.KpiQuery.parse(group_by="source"))
    total, groups = rows[0], {r.group: r for r in rows[1:]}
    assert set(groups) == {"auto", "proactive", "citizen"}
    assert sum(g.orders for g in groups.values()) == total.orders
    assert groups["auto"].same_day_rate == 0.5 and groups["citizen"].same_day_rate is None
    only = kpi.compute(db, kpi.KpiQuery.parse(source="citizen"))[0]
    assert only.orders == groups["citizen"].orders == 4
    (day,) = kpi.compute(db, kpi.KpiQuery.parse("2026-11-27", "2026-11-27"))
    assert day.orders == 1 and day.proactive_resolution_rate == 1.0


def test_kpi_query_validation():
    from twonets.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        kpi.KpiQuery.parse("2026-13-01")
    with pytest.raises(InvalidInput):
        kpi.KpiQuery.parse(group_by="planet")
    with pytest.raises(InvalidInput):
        kpi.KpiQuery.parse("2026-11-30", "2026-11-01")


def test_csv_export(fixture_db):
    db, _ = fixture_db
    text = kpi.to_csv(kpi.compute(db, kpi.KpiQuery.parse(group_by="department")))
    lines = text.strip().splitlines()
    assert lines[0].startswith("group,orders,")
    assert lines[1].startswith("all,8,")
