"""Hypothesis over the application state machine: any sequence of actions either applies or
is refused with a Conflict naming the allowed actions; the state is always the replay of the
applied events; the promised clock only runs in review and never loses time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twonets.core.errors import Conflict
from twonets.govservices import lifecycle
from twonets.govservices.lifecycle import AppState, Event

START = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)
ACTIONS = ["update_form", "upload", "submit", "route", "request_supplement", "supplement", "decide_approve", "decide_reject",
           "issue", "withdraw", "rate"]


def _event(action: str, at: datetime) -> Event:
    data = {"promised_days": 3}
    if action.startswith("decide_"):
        return Event("decide", at, "t", "why", {"outcome": action.split("_")[1]})
    if action == "issue":
        return Event("issue", at, "t", None, {"licence": "LIC-20260101-000001"})
    if action == "rate":
        return Event("rate", at, "t", None, {"level": 4})
    return Event(action, at, "t", None, data)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(min_value=1, max_value=72 * 3)), max_size=14))
def test_any_sequence_is_applied_or_refused_and_replays(steps):
    state, _ = lifecycle.apply(AppState(), Event("create", START, "t"))
    applied = [Event("create", START, "t")]
    at = START
    for action, hours in steps:
        at = at + timedelta(hours=hours)
        event = _event(action, at)
        try:
            new, to_state = lifecycle.apply(state, event)
        except Conflict as exc:
            assert state.state not in lifecycle.ALLOWED[event.action] or event.action == "rate"
            assert exc.extra.get("allowed", lifecycle.allowed_actions(state.state)) == lifecycle.allowed_actions(state.state) or event.action == "rate"
            continue
        assert new.state == to_state and to_state in lifecycle.STATES
        assert new.clock_spent_s >= state.clock_spent_s
        assert (new.clock_started_at is not None) == (new.state == "in_review")
        if event.action in ("submit", "supplement"):  # the clock (re)starts with time left
            assert new.due_at is not None and new.due_at >= at
        applied.append(event)
        state = new
        assert lifecycle.replay(applied) == state
    if state.state in lifecycle.FINAL:
        assert state.finished_at is not None


def test_final_states_refuse_changes():
    s = lifecycle.replay([Event("create", START, "t"), Event("withdraw", START, "t", "no longer needed")])
    with pytest.raises(Conflict) as exc:
        lifecycle.apply(s, Event("submit", START, "t", None, {"promised_days": 1}))
    assert "Allowed now: none" in exc.value.detail
