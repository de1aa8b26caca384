"""The life of a benefit without application as a pure state machine; the stored benefit is
exactly the replay of its events.

    (none) ──grant──▶ granted ──stop──▶ stopped        (a death registered stops payments)
    (none) ──offer──▶ offered ──confirm──▶ granted     (one tap by the citizen)
                        │  granted ──decline──▶ declined
                        └──decline──▶ declined         (the citizen says no; never offered again)
"""

from __future__ import annotations

from collections.abc import Iterable

from twonets.core.errors import Conflict

STATES = ("granted", "offered", "declined", "stopped")
ALLOWED: dict[str, tuple[str, ...]] = {
    "grant": ("",),
    "offer": ("",),
    "confirm": ("offered",),
    "decline": ("offered", "granted"),
    "stop": ("granted", "offered"),
}
TARGET = {"grant": "granted", "offer": "offered", "confirm": "granted", "decline": "declined", "stop": "stopped"}


def allowed_now(state: str) -> list[str]:
    return [a for a, froms in ALLOWED.items() if state in froms]


def check(state: str, action: str) -> str:
    """The state after `action` from `state`; Conflict (409) naming the actions allowed now."""
    if action not in ALLOWED:
        raise Conflict(f"unknown action {action!r}")
    if state not in ALLOWED[action]:
        allowed = ", ".join(allowed_now(state)) or "none"
        raise Conflict(f"the benefit is {state}: it cannot be {TARGET[action]} now (allowed: {allowed})")
    return TARGET[action]


def replay(actions: Iterable[str]) -> str:
    state = ""
    for action in actions:
        state = check(state, action)
    return state
