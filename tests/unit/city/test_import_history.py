"""orders.import_history: the one bulk write path (the demo's), checked against the lifecycle;
orders.open_or_attach_auto_order: the one way sensing gets an order."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from tests.districts import cell_center, seed_tiny_district
from twonets.city import lifecycle, orders
from twonets.city.models import OrderCreate, Reporter
from twonets.core import ids
from twonets.core.actor import Actor
from twonets.core.calendar import LOCAL_TZ
from twonets.core.errors import IllegalTransition, InvalidInput

DESK = Actor(id="desk-1", roles=frozenset({"dispatcher"}))
T0 = datetime(2026, 11, 24, 10, tzinfo=LOCAL_TZ)


@pytest.fixture
def db(session):
    seed_tiny_district(session)
    return session


def _history(public_id: str, *actions: str) -> list[lifecycle.Event]:
    lon, lat = cell_center(0, 0)
    limit = orders.limit_for("citizen", "exposed_garbage", "normal")
    events = [lifecycle.creation_event(
        T0, "hotline.agent", public_id=public_id, source="citizen", channel="phone", category="exposed_garbage",
        severity="normal", description="垃圾", street_code="S01", community_code="S01C001", grid_code="S01C001G01",
        lon=lon, lat=lat, photos=[], limit_clock=limit.clock, limit_seconds=limit.seconds)]
    state = lifecycle.apply(None, events[0])
    for i, action in enumerate(("dispatch", *actions), start=1):
        data = {"department": "chengguan"} if action == "dispatch" else {}
        e = lifecycle.decide(state, action, T0 + timedelta(minutes=i), "x", None, **data)
        events.append(e)
        state = lifecycle.apply(state, e)
    return events


def test_histories_are_imported_as_their_replay_with_their_reporters(db):
    a, b = ids.reserve(db, "WO", T0, 2)
    n = orders.import_history(db, [orders.History(_history(a, "accept", "resolve"), Reporter(name="王五", phone="13700001234")),
                                   orders.History(_history(b))])
    assert n == (2, 6)
    got = orders.get_order(db, DESK, a)
    assert got.status == "resolved" and [e.action for e in got.timeline] == ["create", "dispatch", "accept", "resolve"]
    assert got.reporter.phone == "137****1234"
    assert orders.replay_matches(db, a) and orders.replay_matches(db, b)


def test_an_illegal_or_misrecorded_step_is_refused_and_nothing_is_written(db):
    (a,) = ids.reserve(db, "WO", T0, 1)
    skipped = _history(a, "accept")
    skipped[2] = replace(skipped[2], action="close")  # closing a dispatched order: not a legal step
    with pytest.raises(IllegalTransition):
        orders.import_history(db, [orders.History(skipped, Reporter(name="王五"))])
    wrong = _history(a, "accept")
    wrong[2] = replace(wrong[2], to_status="closed")  # the step says it went somewhere it cannot
    with pytest.raises(InvalidInput):
        orders.import_history(db, [orders.History(wrong)])
    assert orders.count_orders(db) == 0


def test_sensing_gets_the_open_order_of_its_key_or_a_new_one(db):
    lon, lat = cell_center(0, 0)
    data = OrderCreate(source="auto", channel="sensor", category="exposed_garbage", description="满溢",
                       lon=lon, lat=lat, external_ref="overflow:BIN-1")
    first, created = orders.open_or_attach_auto_order(db, data, T0)
    assert created
    assert orders.open_or_attach_auto_order(db, data, T0 + timedelta(minutes=5)) == (first, False)
    order = orders.get_order(db, DESK, first)
    orders.transition(db, DESK, first, "accept", at=T0 + timedelta(minutes=6))
    orders.transition(db, DESK, first, "resolve", at=T0 + timedelta(minutes=7))
    again, created = orders.open_or_attach_auto_order(db, data, T0 + timedelta(minutes=8))
    assert created and again != first and order.source == "auto"
    with pytest.raises(InvalidInput):
        orders.open_or_attach_auto_order(db, data.model_copy(update={"external_ref": None}), T0)
