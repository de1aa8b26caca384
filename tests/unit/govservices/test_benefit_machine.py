"""The benefit state machine (免申即享): any sequence of actions either follows the allowed
transitions or is refused with the actions allowed now; the replay of the accepted ones is the
state reached (Hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twonets.core.errors import Conflict
from twonets.govservices import benefit_lifecycle as lc

ACTIONS = list(lc.ALLOWED)


@given(st.lists(st.sampled_from(ACTIONS), max_size=12))
def test_random_actions_follow_the_machine_and_replay_to_the_same_state(actions):
    state, accepted = "", []
    for action in actions:
        if state in lc.ALLOWED[action]:
            state = lc.check(state, action)
            accepted.append(action)
        else:
            with pytest.raises(Conflict) as err:
                lc.check(state, action)
            assert "allowed" in str(err.value)
    assert lc.replay(accepted) == state
    assert state in ("", *lc.STATES)
    if accepted:
        assert accepted[0] in ("grant", "offer")  # a benefit starts granted or offered, nothing else


def test_declined_and_stopped_are_final():
    assert lc.allowed_now("declined") == [] and lc.allowed_now("stopped") == []
    assert lc.replay(["offer", "confirm", "decline"]) == "declined"
