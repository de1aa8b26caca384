"""Detector evaluation in pure Python: no database, no clock of its own.

`step` advances one (detector, thing) pair by one observation — the thing's current values at
a reading's timestamp — and says whether an alarm fires, repeats or clears. `absence_due`
answers the timer's question for absence rules. Times come from the readings (or the timer's
`now`), so tests replay hours of readings in milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from twonets.city.sensing.definitions import Detector
from twonets.core.calendar import to_local

Action = Literal["fire", "repeat", "clear"]


@dataclass(frozen=True)
class State:
    """Where a (detector, thing) pair stands. The idle state is the default."""

    pending_since: datetime | None = None
    active: bool = False
    alarm_id: str | None = None
    last_fired_at: datetime | None = None

    @property
    def idle(self) -> bool:
        return self.pending_since is None and not self.active and self.last_fired_at is None


IDLE = State()


def in_window(detector: Detector, at: datetime) -> bool:
    """Whether `at` (UTC) falls in the detector's active window, judged in local time."""
    return detector.window is None or detector.window.contains(to_local(at).time())


def _fire(detector: Detector, state: State, at: datetime) -> tuple[State, Action]:
    repeat = (
        state.last_fired_at is not None
        and detector.cooldown > 0
        and at - state.last_fired_at < timedelta(seconds=detector.cooldown)
    )
    # within the cool-down a new firing repeats the last alarm instead of raising a new one
    return replace(state, active=True, pending_since=None, last_fired_at=at), ("repeat" if repeat else "fire")


def step(detector: Detector, state: State, values: Mapping[str, float], at: datetime,
         tagged: bool = True) -> tuple[State, Action | None]:
    """One observation of a condition detector at `at` with the thing's current `values`.

    - outside the active window nothing fires and a pending duration restarts (an active
      alarm stays until a reading inside the window shows the clear condition);
    - without the required tags the detector does not apply;
    - firing needs the condition to hold for `for` (counted from the first reading that met
      it); an active alarm clears only on the clear condition (hysteresis).
    """
    if detector.kind != "condition":
        return state, None
    if not in_window(detector, at):
        return (replace(state, pending_since=None) if state.pending_since else state), None
    if state.active:
        cleared = detector.clear.evaluate(values) if detector.clear is not None else _negate(detector.when.evaluate(values))
        if cleared:
            return replace(state, active=False, pending_since=None), "clear"
        return state, None
    if not tagged:
        return (replace(state, pending_since=None) if state.pending_since else state), None
    if detector.when.evaluate(values):
        since = state.pending_since or at
        if at - since >= detector.duration:
            return _fire(detector, state, at)
        return (state if state.pending_since else replace(state, pending_since=at)), None
    return (replace(state, pending_since=None) if state.pending_since else state), None


def _negate(result: bool | None) -> bool:
    return result is False


def presence(detector: Detector, values: Mapping[str, float]) -> bool:
    """For an absence detector: does this observation count as a sign of life?"""
    cond = detector.absent.when
    return True if cond is None else bool(cond.evaluate(values))


def observe_absence(detector: Detector, state: State, values: Mapping[str, float]) -> tuple[State, Action | None]:
    """A reading for an absence detector: a sign of life clears an active alarm."""
    if state.active and presence(detector, values):
        return replace(state, active=False, pending_since=None), "clear"
    return state, None


def absence_due(detector: Detector, state: State, last_seen: datetime, now: datetime,
                expected_interval_s: float, tagged: bool = True) -> tuple[State, Action | None]:
    """The timer's check: nothing matching for the rule's span since `last_seen` → fire."""
    if state.active or not tagged:
        return state, None
    if now - last_seen >= timedelta(seconds=detector.absent.limit_s(expected_interval_s)):
        return _fire(detector, state, now)
    return state, None
