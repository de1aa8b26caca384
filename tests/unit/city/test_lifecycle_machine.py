"""Every legal and illegal transition, driven through the service layer by Hypothesis.

The oracle below is the lifecycle written out by hand from the issue, independently of
`lifecycle.TRANSITIONS`: what each state allows and where each action leads.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import select

from tests.districts import cell_center, seed_tiny_district
from twonets.city import lifecycle, orders
from twonets.city.models import OrderCreate
from twonets.core.actor import Actor
from twonets.core.calendar import LOCAL_TZ
from twonets.core.db import session_factory
from twonets.core.errors import Conflict, IllegalTransition

DESK = Actor(id="desk", roles=frozenset({"dispatcher"}))
WORKING = {"created", "dispatched", "accepted", "in_progress", "returned"}

ORACLE: dict[str, set[str]] = {
    "created": {"dispatch", "escalate", "merge", "cancel"},
    "dispatched": {"reassign", "return", "accept", "suspend", "escalate", "merge", "cancel"},
    "accepted": {"reassign", "return", "start", "resolve", "suspend", "escalate", "merge", "cancel"},
    "in_progress": {"resolve", "suspend", "escalate", "merge", "cancel"},
    "returned": {"dispatch", "escalate", "merge", "cancel"},
    "suspended": {"resume", "escalate", "cancel"},
    "resolved": {"check", "callback", "reopen"},  # check for auto/proactive, callback for citizen
    "checked": {"reopen", "close"},
    "closed": {"reopen"},
    "merged": set(),
    "cancelled": set(),
}
TARGET = {"dispatch": "dispatched", "reassign": "dispatched", "return": "returned", "accept": "accepted",
          "start": "in_progress", "resolve": "resolved", "check": "checked", "callback": "checked",
          "reopen": "dispatched", "close": "closed", "suspend": "suspended", "merge": "merged",
          "cancel": "cancelled"}
PEOPLE_ACTIONS = sorted(set(itertools.chain.from_iterable(ORACLE.values())))


def oracle_allows(status: str, source: str, action: str) -> bool:
    if action not in ORACLE[status]:
        return False
    if action == "callback":
        return source == "citizen"
    if action == "check":
        return source != "citizen"
    return True


def test_oracle_and_lifecycle_name_the_same_actions():
    assert set(PEOPLE_ACTIONS) == {a for a in lifecycle.ACTIONS if a not in lifecycle.SYSTEM_ACTIONS}


def args_for(action: str, master: str | None, escalation_level: int) -> tuple[str | None, dict]:
    if action in ("dispatch", "reassign"):
        return None, {"department": "chengguan" if action == "reassign" else "lvhua"}
    if action == "callback":
        return None, {"actually_resolved": True, "satisfaction": "satisfied"}
    if action == "merge":
        return None, {"master": master}
    if action in lifecycle.NEEDS_REASON:
        return "a reason", {}
    return None, {}


class OrderLife(RuleBasedStateMachine):
    engine = None

    @initialize(source=st.sampled_from(["auto", "proactive", "citizen"]))
    def start(self, source):
        self.session = session_factory(self.engine)()
        self.now = datetime(2026, 9, 28, 9, tzinfo=LOCAL_TZ)
        channel = {"auto": "sensor", "proactive": "inspector", "citizen": "web"}[source]
        self.source = source
        # A far-away master, always open, to merge into.
        self.master = orders.create_order(self.session, DESK, OrderCreate(
            source="citizen", channel="web", category="road_damage", description="master",
            address="其他地方"), self.now).id
        lon, lat = cell_center(1, 1)
        self.order = orders.create_order(self.session, DESK, OrderCreate(
            source=source, channel=channel, category="exposed_garbage", description="machine", lon=lon, lat=lat),
            self.now, link_duplicates=False).id  # each example reuses the place; no linking across examples
        self.status = "dispatched"
        self.level = 0
        self.session.commit()

    @rule(action=st.sampled_from(PEOPLE_ACTIONS), minutes=st.integers(min_value=0, max_value=3000))
    def act(self, action, minutes):
        self.now += timedelta(minutes=minutes)
        reason, data = args_for(action, self.master, self.level)
        expected = oracle_allows(self.status, self.source, action)
        if action == "escalate" and self.level >= 3:
            with pytest.raises(Conflict):
                orders.transition(self.session, DESK, self.order, action, reason, at=self.now, **data)
            return
        if not expected:
            with pytest.raises(IllegalTransition) as err:
                orders.transition(self.session, DESK, self.order, action, reason, at=self.now, **data)
            assert err.value.status == 409
            allowed = set(err.value.extra["allowed"])
            assert allowed == {a for a in ORACLE[self.status] if oracle_allows(self.status, self.source, a)}
            return
        order = orders.transition(self.session, DESK, self.order, action, reason, at=self.now, **data)
        if action == "escalate":
            self.level += 1
            assert order.escalation_level == self.level and order.status == self.status
        elif action == "resume":
            assert order.status in WORKING
        else:
            assert order.status == TARGET[action]
        self.status = order.status
        self.session.commit()

    @precondition(lambda self: self.status in WORKING)
    @rule(hours=st.integers(min_value=1, max_value=200))
    def timer(self, hours):
        self.now += timedelta(hours=hours)
        orders.tick(self.session, self.now)
        order = orders.get_order(self.session, DESK, self.order)
        assert order.status == self.status
        self.level = order.escalation_level
        if self.now >= order.due_at:
            assert order.flag == "overdue"
        self.session.commit()

    @invariant()
    def projection_is_the_replay_of_events(self):
        if hasattr(self, "order"):
            assert orders.replay_matches(self.session, self.order)

    def teardown(self):
        # Leave the database as this example found it, so every example (and Hypothesis'
        # replays of it) sees the same state.
        if hasattr(self, "session"):
            from sqlalchemy import delete

            from twonets.city.tables import work_order, work_order_event

            self.session.rollback()
            mine = [i for i in (getattr(self, "master", None), getattr(self, "order", None)) if i]
            ids = select(work_order.c.id).where(work_order.c.public_id.in_(mine))
            self.session.execute(delete(work_order_event).where(work_order_event.c.order_id.in_(ids)))
            self.session.execute(delete(work_order).where(work_order.c.public_id.in_(mine)))
            self.session.commit()
            self.session.close()


def test_order_life_state_machine(sqlite_engine):
    s = session_factory(sqlite_engine)()
    seed_tiny_district(s)
    s.close()
    OrderLife.engine = sqlite_engine
    runner = OrderLife.TestCase
    runner.settings = settings(max_examples=40, stateful_step_count=25, deadline=None, derandomize=True,
                               suppress_health_check=list(HealthCheck))
    runner("runTest").runTest()


@pytest.mark.parametrize("status", sorted(ORACLE))
@pytest.mark.parametrize("source", ["auto", "proactive", "citizen"])
def test_every_action_in_every_state(status, source):
    """The pure machine agrees with the oracle on every (state, source, action)."""
    t = datetime(2026, 11, 24, tzinfo=LOCAL_TZ)
    state = lifecycle.OrderState(public_id="WO-1", source=source, channel="web", category="c", severity="normal",
                                 status=status, created_at=t, updated_at=t, clock_start=t, due_at=t, warn_at=t,
                                 limit_clock="calendar", limit_seconds=3600, suspended_from="accepted")
    for action in PEOPLE_ACTIONS:
        reason, data = args_for(action, "WO-2", 0)
        if oracle_allows(status, source, action):
            e = lifecycle.decide(state, action, t, "x", reason, **data)
            assert e.to_status == (TARGET.get(action) or ("accepted" if action == "resume" else status))
        else:
            with pytest.raises(IllegalTransition):
                lifecycle.decide(state, action, t, "x", reason, **data)
