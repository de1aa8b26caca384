"""Work orders through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.districts import cell_center, seed_tiny_district
from twonets.city import lifecycle, orders, routing
from twonets.city.models import OrderCreate, RoutingRuleIn
from twonets.core.actor import SYSTEM, Actor
from twonets.core.calendar import LOCAL_TZ
from twonets.core.errors import Conflict, Forbidden, IllegalTransition, InvalidInput, NotFound

DESK = Actor(id="desk-1", roles=frozenset({"dispatcher"}))


def at(*args) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


@pytest.fixture
def db(session):
    seed_tiny_district(session)
    return session


def citizen_order(**kw) -> OrderCreate:
    lon, lat = cell_center(0, 0)
    base = dict(source="citizen", channel="phone", category="exposed_garbage", description="垃圾堆在路边",
                lon=lon, lat=lat, reporter={"name": "张三丰", "phone": "13812345678"})
    base.update(kw)
    return OrderCreate(**base)


def test_create_locates_routes_and_dispatches(db):
    o = orders.create_order(db, DESK, citizen_order(), at(2026, 11, 24, 10))
    assert o.id.startswith("WO-20261124-")
    assert (o.street_code, o.community_code, o.grid_code) == ("S01", "S01C001", "S01C001G01")
    assert o.status == "dispatched" and o.department == "lvhua"
    assert o.reporter.name == "张**" and o.reporter.phone == "138****5678"
    full = orders.get_order(db, DESK, o.id)
    assert [e.action for e in full.timeline] == ["create", "dispatch"]
    assert orders.replay_matches(db, o.id)


def test_ids_are_sequential_per_day(db):
    a = orders.create_order(db, DESK, citizen_order(lon=None, lat=None, address="某路1号"), at(2026, 11, 24, 10))
    b = orders.create_order(db, DESK, citizen_order(lon=None, lat=None, address="某路2号"), at(2026, 11, 24, 11))
    c = orders.create_order(db, DESK, citizen_order(lon=None, lat=None, address="某路3号"), at(2026, 11, 25, 11))
    assert (a.id, b.id, c.id) == ("WO-20261124-000001", "WO-20261124-000002", "WO-20261125-000001")


def test_most_specific_routing_rule_wins_and_no_rule_goes_to_the_desk(db):
    routing.add_rule(db, DESK, RoutingRuleIn(category="exposed_garbage", street_code="S02", department="jiedao"))
    lon, lat = cell_center(1, 0)
    o = orders.create_order(db, DESK, citizen_order(lon=lon, lat=lat), at(2026, 11, 24, 10))
    assert o.department == "jiedao"
    routing.add_rule(db, DESK, RoutingRuleIn(category="exposed_garbage", grid_code="S02C001G01", department="chengguan"))
    o = orders.create_order(db, DESK, citizen_order(lon=lon + 0.001, lat=lat + 0.001), at(2026, 11, 26, 10))
    assert o.department == "chengguan"
    # Delete every rule for one category: its orders go to the dispatch desk, never nowhere.
    for r in routing.list_rules(db):
        if r.category == "road_damage":
            routing.delete_rule(db, DESK, r.id)
    o = orders.create_order(db, DESK, citizen_order(category="road_damage"), at(2026, 11, 24, 10))
    assert o.department == routing.DISPATCH_DESK
    # Editing routing is an administrative action on the audit chain.
    from twonets.data import audit

    actions = [e.action for e in audit.iter_entries(db) if e.actor == "desk-1"]
    assert actions.count("routing_rule.add") == 2 and "routing_rule.delete" in actions


def test_dispatcher_override(db):
    o = orders.create_order(db, DESK, citizen_order(department="chengguan"), at(2026, 11, 24, 10))
    assert o.department == "chengguan"


def test_full_life_with_return_suspend_and_callback(db):
    o = orders.create_order(db, DESK, citizen_order(), at(2026, 11, 23, 9))  # Monday
    oid = o.id
    orders.transition(db, DESK, oid, "return", "not ours: private land", at=at(2026, 11, 23, 10))
    orders.transition(db, DESK, oid, "dispatch", department="chengguan", at=at(2026, 11, 23, 10, 30))
    orders.transition(db, DESK, oid, "accept", at=at(2026, 11, 23, 11))
    orders.transition(db, DESK, oid, "suspend", "waiting for the owner", at=at(2026, 11, 23, 12))
    orders.transition(db, DESK, oid, "resume", at=at(2026, 11, 24, 12))
    orders.transition(db, DESK, oid, "start", at=at(2026, 11, 24, 13))
    o = orders.transition(db, DESK, oid, "resolve", outcome="cleared", at=at(2026, 11, 24, 15))
    assert o.returns_count == 1
    # 30 h created→resolved minus 24 h suspended = 6 h
    assert o.resolution_calendar_days == pytest.approx(6 / 24)
    assert o.resolution_working_days == pytest.approx(6 / 24)
    o = orders.transition(db, DESK, oid, "callback", actually_resolved=True, satisfaction="satisfied",
                            at=at(2026, 11, 25, 9))
    assert o.status == "checked"
    o = orders.transition(db, DESK, oid, "close", at=at(2026, 11, 25, 10))
    assert o.status == "closed" and o.allowed_actions == ["reopen"]
    assert orders.replay_matches(db, oid)


def test_not_actually_resolved_reopens(db):
    o = orders.create_order(db, DESK, citizen_order(), at(2026, 11, 23, 9))
    for action in ("accept", "resolve"):
        orders.transition(db, DESK, o.id, action, at=at(2026, 11, 23, 10))
    o = orders.transition(db, DESK, o.id, "callback", actually_resolved=False, satisfaction="dissatisfied",
                            at=at(2026, 11, 23, 12))
    assert o.status == "dispatched" and o.reopen_count == 1 and o.resolved_at is None
    assert orders.replay_matches(db, o.id)


def test_illegal_transition_is_a_conflict_naming_the_allowed_actions(db):
    o = orders.create_order(db, DESK, citizen_order(), at(2026, 11, 23, 9))
    with pytest.raises(IllegalTransition) as err:
        orders.transition(db, DESK, o.id, "close", at=at(2026, 11, 23, 10))
    assert err.value.status == 409
    assert set(err.value.extra["allowed"]) == {"reassign", "return", "accept", "suspend", "escalate", "merge", "cancel"}
    with pytest.raises(IllegalTransition):
        orders.transition(db, DESK, o.id, "check", at=at(2026, 11, 23, 10))  # citizen orders get a callback


def test_reason_required_and_unknown_department(db):
    o = orders.create_order(db, DESK, citizen_order(), at(2026, 11, 23, 9))
    with pytest.raises(InvalidInput):
        orders.transition(db, DESK, o.id, "return", "  ", at=at(2026, 11, 23, 10))
    with pytest.raises(InvalidInput):
        orders.transition(db, DESK, o.id, "reassign", department="nowhere", at=at(2026, 11, 23, 10))


def test_duplicates_are_linked_and_follow_their_master(db):
    lon, lat = cell_center(0, 1)
    master = orders.create_order(db, DESK, citizen_order(lon=lon, lat=lat), at(2026, 11, 24, 9))
    # 30 m away, 2 hours later: a duplicate
    dup = orders.create_order(db, DESK, citizen_order(lon=lon + 0.0003, lat=lat), at(2026, 11, 24, 11))
    assert dup.status == "merged" and dup.master_id == master.id
    # 300 m away: not a duplicate; other category: not a duplicate; 25 h later: not a duplicate
    assert orders.create_order(db, DESK, citizen_order(lon=lon + 0.003, lat=lat), at(2026, 11, 24, 12)).master_id is None
    assert orders.create_order(db, DESK, citizen_order(lon=lon, lat=lat, category="illegal_ad"), at(2026, 11, 24, 12)).master_id is None
    later = orders.create_order(db, DESK, citizen_order(lon=lon, lat=lat + 0.0001), at(2026, 11, 25, 10))
    assert later.master_id is None
    orders.transition(db, DESK, master.id, "accept", at=at(2026, 11, 24, 12))
    orders.transition(db, DESK, master.id, "resolve", at=at(2026, 11, 24, 13))
    followed = orders.get_order(db, DESK, dup.id)
    assert followed.status == "resolved" and "callback" in followed.allowed_actions  # its reporter is called back too
    assert orders.replay_matches(db, dup.id)


def test_timer_warns_then_flags_overdue_and_escalates_once(db):
    # illegal_parking, normal: 4 calendar hours
    o = orders.create_order(db, DESK, citizen_order(category="illegal_parking"), at(2026, 11, 24, 10))
    r = orders.tick(db, at(2026, 11, 24, 12))
    assert r.warnings == 0 and orders.get_order(db, DESK, o.id).flag == "ok"
    r = orders.tick(db, at(2026, 11, 24, 13, 1))
    assert r.warnings == 1 and orders.get_order(db, DESK, o.id).flag == "warning"
    assert orders.tick(db, at(2026, 11, 24, 13, 2)).warnings == 0  # idempotent
    r = orders.tick(db, at(2026, 11, 24, 14, 1))
    assert (r.overdue, r.escalated) == (1, 1)
    got = orders.get_order(db, DESK, o.id)
    assert got.flag == "overdue" and got.escalation_level == 1
    r = orders.tick(db, at(2026, 11, 24, 15))
    assert (r.checked, r.overdue, r.escalated) == (0, 0, 0)
    assert orders.replay_matches(db, o.id)


def test_auto_orders_are_due_the_same_day(db):
    lon, lat = cell_center(1, 1)
    o = orders.create_order(db, SYSTEM, OrderCreate(source="auto", channel="sensor", category="waterlogging",
                                                     description="水深 18 cm", lon=lon, lat=lat,
                                                     external_ref="ALM-1"), at(2026, 11, 24, 21))
    assert o.due_at == at(2026, 11, 25, 0)
    orders.transition(db, DESK, o.id, "accept", at=at(2026, 11, 24, 21, 10))
    o = orders.transition(db, DESK, o.id, "resolve", at=at(2026, 11, 24, 23))
    assert o.on_time


def test_escalation_up_to_the_named_leader(db):
    o = orders.create_order(db, DESK, citizen_order(), at(2026, 11, 24, 9))
    for level in (1, 2):
        orders.transition(db, DESK, o.id, "escalate", "no progress", at=at(2026, 11, 24, 10))
    o = orders.transition(db, DESK, o.id, "escalate", "no progress", at=at(2026, 11, 24, 11))
    assert o.escalation_level == 3
    assert orders.get_order(db, DESK, o.id).timeline[-1].data["to"] == "王志强"
    with pytest.raises(Conflict):
        orders.transition(db, DESK, o.id, "escalate", at=at(2026, 11, 24, 12))


def test_scope_handler_sees_only_own_department(db):
    o = orders.create_order(db, DESK, citizen_order(), at(2026, 11, 24, 9))  # → lvhua
    mine = Actor(id="h1", roles=frozenset({"department_handler"}), department="lvhua")
    other = Actor(id="h2", roles=frozenset({"department_handler"}), department="shuiwu")
    assert orders.transition(db, mine, o.id, "accept", at=at(2026, 11, 24, 10)).status == "accepted"
    with pytest.raises(NotFound):
        orders.get_order(db, other, o.id)
    with pytest.raises(NotFound):
        orders.transition(db, other, o.id, "resolve", at=at(2026, 11, 24, 11))
    with pytest.raises(Forbidden):
        orders.transition(db, mine, o.id, "cancel", "x", at=at(2026, 11, 24, 11))
    assert [i.id for i in orders.list_orders(db, mine).items] == [o.id]
    assert orders.list_orders(db, other).items == []
    citizen = Actor(id="c1", roles=frozenset({"citizen"}))
    assert orders.list_orders(db, citizen).items == []  # a citizen lists only what he filed


def test_listing_filters_and_pagination(db):
    made = [orders.create_order(db, DESK, citizen_order(lon=None, lat=None, address=f"路{i}号",
                                                          category="illegal_ad" if i % 2 else "exposed_garbage"),
                                  at(2026, 11, 24, 9) + timedelta(minutes=i)) for i in range(7)]
    page = orders.list_orders(db, DESK, limit=3)
    seen = [o.id for o in page.items]
    while page.next:
        page = orders.list_orders(db, DESK, limit=3, cursor=page.next)
        seen += [o.id for o in page.items]
    assert seen == [o.id for o in reversed(made)]
    assert len(orders.list_orders(db, DESK, category="illegal_ad").items) == 3
    with pytest.raises(InvalidInput):
        orders.list_orders(db, DESK, cursor="garbage!")


def test_lifecycle_actions_cover_the_table():
    assert set(lifecycle.TRANSITIONS) >= {"dispatch", "return", "reassign", "escalate", "suspend", "merge", "cancel", "reopen"}


def test_two_timers_at_once_flag_an_order_once(engine):
    """Two server processes' timers at the same moment (two connections, overlapping transactions)."""
    from twonets.core.db import session_factory

    s = session_factory(engine)()
    seed_tiny_district(s)
    o = orders.create_order(s, DESK, citizen_order(category="illegal_parking"), at(2026, 11, 24, 10))
    s.commit()
    first, second = session_factory(engine)(), session_factory(engine)()
    try:
        a = orders.tick(first, at(2026, 11, 24, 15))
        if engine.dialect.name == "postgresql":
            from sqlalchemy import text

            second.execute(text("SET lock_timeout = '5s'"))  # a regression fails here instead of hanging
            b = orders.tick(second, at(2026, 11, 24, 15))  # rows locked by the first: skipped
            first.commit()
            second.commit()
        else:
            first.commit()  # SQLite: one writer at a time, so the second runs after the first
            b = orders.tick(second, at(2026, 11, 24, 15))
            second.commit()
        assert (a.overdue, b.overdue) == (1, 0)
        order = orders.get_order(s, DESK, o.id)
        assert [e.action for e in order.timeline].count("escalate") == 1
    finally:
        first.close()
        second.close()
        s.close()


def test_timer_never_dates_an_event_before_the_last_change(db):
    o = orders.create_order(db, DESK, citizen_order(category="illegal_parking"), at(2026, 11, 24, 10))
    orders.transition(db, DESK, o.id, "accept", at=at(2026, 11, 24, 18))
    # A timer whose clock is behind (another server's skew) leaves the order alone…
    assert orders.tick(db, at(2026, 11, 24, 17)).overdue == 0
    # …and flags it once its clock has passed the last change.
    assert orders.tick(db, at(2026, 11, 24, 18, 1)).overdue == 1
    assert orders.replay_matches(db, o.id)


def test_the_reporter_answers_the_callback_of_their_own_order_and_nothing_else(db):
    """Whoever filed a citizen order answers its callback once it is resolved (the portal's
    "was it solved?"); no other citizen may, and the reporter takes no handler's action."""
    resident = Actor(id="u-resident", roles=frozenset({"citizen"}))
    other = Actor(id="u-other", roles=frozenset({"citizen"}))
    handler = Actor(id="u-lvhua", roles=frozenset({"department_handler"}), department="lvhua")
    o = orders.create_order(db, resident, citizen_order(reporter=None), at(2026, 11, 24, 10))
    assert orders.list_orders(db, resident).items[0].allowed_actions == []  # nothing to answer yet
    with pytest.raises(Forbidden):
        orders.transition(db, resident, o.id, "accept", at=at(2026, 11, 24, 11))
    orders.transition(db, handler, o.id, "accept", at=at(2026, 11, 24, 11))
    orders.transition(db, handler, o.id, "resolve", "cleared", at=at(2026, 11, 24, 12))
    assert orders.list_orders(db, resident).items[0].allowed_actions == ["callback"]
    assert "callback" not in orders.get_order(db, handler, o.id).allowed_actions
    with pytest.raises(NotFound):
        orders.transition(db, other, o.id, "callback", at=at(2026, 11, 24, 13), actually_resolved=True, satisfaction="satisfied")
    done = orders.transition(db, resident, o.id, "callback", at=at(2026, 11, 24, 13), actually_resolved=True,
                             satisfaction="satisfied")
    assert (done.status, done.actually_resolved, done.satisfaction) == ("checked", True, "satisfied")
    assert orders.replay_matches(db, o.id)
