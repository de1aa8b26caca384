"""The detector engine in pure Python: no database, times injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from twonets.city.sensing.definitions import Detector, catalog
from twonets.city.sensing.detectors import IDLE, absence_due, in_window, observe_absence, step

T0 = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai


def det(code: str) -> Detector:
    return catalog().detectors[code]


def run(d: Detector, series, state=IDLE, tagged=True):
    actions = []
    for minute, values in series:
        state, action = step(d, state, values, T0 + timedelta(minutes=minute), tagged)
        actions.append(action)
    return state, actions


def test_duration_fires_only_after_the_condition_held_long_enough():
    d = det("road_waterlogging")
    state, actions = run(d, [(m, {"depth_cm": 20}) for m in range(6)])
    assert actions == [None] * 5 + ["fire"] and state.active
    state, actions = run(d, [(0, {"depth_cm": 20}), (4, {"depth_cm": 14}), (6, {"depth_cm": 20}), (10, {"depth_cm": 20})])
    assert actions == [None, None, None, None] and not state.active and state.pending_since == T0 + timedelta(minutes=6)


def test_hysteresis_keeps_the_alarm_until_the_clear_threshold():
    d = det("road_waterlogging")
    state, _ = run(d, [(m, {"depth_cm": 20}) for m in range(6)])
    state, actions = run(d, [(7, {"depth_cm": 10}), (8, {"depth_cm": 5}), (9, {"depth_cm": 4.9})], state)
    assert actions == [None, None, "clear"] and not state.active


def test_missing_attribute_neither_fires_nor_clears():
    d = det("manhole_open")
    state, actions = run(d, [(0, {"tilt_deg": 2})])  # `open` unknown, tilt fine: any() is undecided
    assert actions == [None]
    state, actions = run(d, [(1, {"open": 1})])
    assert actions == ["fire"]
    state, actions = run(d, [(2, {"open": 0})], state)  # tilt unknown: not cleared
    assert actions == [None] and state.active


@pytest.mark.parametrize("local_hour,fires", [(23, True), (3, True), (5, True), (6, False), (14, False), (21, False), (22, True)])
def test_time_window_crosses_midnight_in_local_time(local_hour, fires):
    d = det("night_construction_noise")
    at = datetime(2026, 11, 26, local_hour, 0, tzinfo=timezone(timedelta(hours=8)))
    assert in_window(d, at) is fires
    _, action = step(d, IDLE, {"laeq_db": 60}, at, tagged=True)
    assert (action == "fire") is fires


def test_leaving_the_window_restarts_a_pending_duration():
    d = det("streetlight_off_at_night")  # 19:00–05:30, for 15 min
    morning = datetime(2026, 11, 26, 5, 20, tzinfo=timezone(timedelta(hours=8)))
    state, a = step(d, IDLE, {"lamp_on": 0}, morning, True)
    state, b = step(d, state, {"lamp_on": 0}, morning + timedelta(minutes=15), True)  # 05:35: outside
    assert (a, b) == (None, None) and state.pending_since is None
    evening = morning + timedelta(hours=14)  # 19:20 the same day
    state, c = step(d, state, {"lamp_on": 0}, evening, True)
    assert c is None and state.pending_since == evening


def test_required_tags():
    d = det("night_construction_noise")
    _, action = step(d, IDLE, {"laeq_db": 70}, T0, tagged=False)
    assert action is None


def test_cool_down_turns_a_refiring_into_a_repeat():
    d = det("bin_overflowing")  # cooldown 2h
    state, actions = run(d, [(0, {"fill_pct": 95}), (10, {"fill_pct": 30}), (20, {"fill_pct": 96})])
    assert actions == ["fire", "clear", "repeat"]
    state, actions = run(d, [(200, {"fill_pct": 30}), (340, {"fill_pct": 97})], state)
    assert actions == ["clear", "fire"]


def test_multi_attribute_entrapment_needs_every_clause():
    d = det("elevator_entrapment")
    stuck = {"moving": 0, "at_floor": 0, "door_closed": 1, "occupied": 1}
    _, actions = run(d, [(0, stuck), (1, dict(stuck, occupied=0)), (2, stuck), (3, stuck)])
    assert actions == [None, None, None, "fire"]


def test_absence_rules():
    d = det("sensor_offline")
    state, action = absence_due(d, IDLE, T0, T0 + timedelta(minutes=2, seconds=59), 60)
    assert action is None
    state, action = absence_due(d, IDLE, T0, T0 + timedelta(minutes=3), 60)
    assert action == "fire" and state.active
    _, again = absence_due(d, state, T0, T0 + timedelta(minutes=30), 60)
    assert again is None  # already active: no second alarm
    state, action = observe_absence(d, state, {"laeq_db": 40})
    assert action == "clear" and not state.active

    e = det("elderly_no_water_use")
    state, action = absence_due(e, IDLE, T0, T0 + timedelta(hours=24), 3600, tagged=False)
    assert action is None
    state, action = absence_due(e, IDLE, T0, T0 + timedelta(hours=24), 3600, tagged=True)
    assert action == "fire"
    state, action = observe_absence(e, state, {"flow_l": 0})
    assert action is None and state.active  # a zero reading is no sign of use
    state, action = observe_absence(e, state, {"flow_l": 4})
    assert action == "clear"


from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=1, max_value=4), st.floats(min_value=0, max_value=40)), max_size=60))
def test_waterlogging_alarms_alternate_and_respect_duration_and_hysteresis(steps):
    """Whatever the readings: fire/repeat and clear alternate; a firing needs > 15 cm held for
    5 minutes since the first reading above; a clear needs < 5 cm."""
    d = det("road_waterlogging")
    state, minute, above_since, active = IDLE, 0, None, False
    for gap, depth in steps:
        minute += gap
        at = T0 + timedelta(minutes=minute)
        state, action = step(d, state, {"depth_cm": depth}, at, True)
        if active:
            assert action in (None, "clear")
            assert (action == "clear") == (depth < 5)
            if action == "clear":
                active, above_since = False, None
            continue
        if depth > 15:
            above_since = above_since or at
            fires = at - above_since >= timedelta(minutes=5)
            assert (action in ("fire", "repeat")) == fires
            if fires:
                active, above_since = True, None
        else:
            assert action is None
            above_since = None
        assert state.active == active
