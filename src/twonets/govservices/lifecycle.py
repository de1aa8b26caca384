"""The life of an application as a pure state machine: every change is an event, and the
stored application is exactly the replay of its events (`replay`).

    draft ──submit──▶ in_review ──decide──▶ approved ──issue──▶ licence_issued
                        │   ▲                  rejected
             request_supplement  supplement      (instant matters: decided by the rule at once)
                        ▼   │
                 supplement_requested   (the clock stops; it resumes with the time it had left)

    withdraw: from draft, in_review or supplement_requested.  rate: once finished.

The promised time limit runs on the `working_days` clock of `twonets.core.calendar`; events
that start or resume the clock carry `promised_days`, so a replay needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from twonets.core import calendar
from twonets.core.errors import Conflict
from twonets.core.i18n import Msg

FINAL = ("approved", "rejected", "licence_issued", "withdrawn")
RATABLE = ("approved", "rejected", "licence_issued")
STATES = ("draft", "in_review", "supplement_requested", "approved", "rejected", "licence_issued", "withdrawn")

# action -> (states it is allowed from)
ALLOWED: dict[str, tuple[str, ...]] = {
    "create": ("",),
    "update_form": ("draft", "supplement_requested"),
    "upload": ("draft", "supplement_requested"),
    "submit": ("draft",),
    "route": ("in_review",),
    "decide": ("in_review",),
    "request_supplement": ("in_review",),
    "supplement": ("supplement_requested",),
    "issue": ("approved",),
    "withdraw": ("draft", "in_review", "supplement_requested"),
    "rate": RATABLE,
}


@dataclass(frozen=True)
class Event:
    action: str
    at: datetime
    actor: str
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AppState:
    state: str = ""
    submitted_at: datetime | None = None
    clock_started_at: datetime | None = None
    clock_spent_s: float = 0.0
    due_at: datetime | None = None
    warn_at: datetime | None = None
    finished_at: datetime | None = None
    working_days: float | None = None
    on_time: bool | None = None
    outcome: str | None = None
    reason: str | None = None
    instant: bool = False
    licence: str | None = None
    rating: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = tuple(AppState.__dataclass_fields__)


def allowed_actions(state: str) -> list[str]:
    return [a for a, states in ALLOWED.items() if state in states and a != "create"]


def check(state: str, action: str) -> None:
    if state not in ALLOWED.get(action, ()):
        allowed = ", ".join(allowed_actions(state)) or Msg("none (the application is final)")
        raise Conflict(
            Msg("Cannot {action} an application that is {state}. Allowed now: {allowed}.", action=action, state=state,
                allowed=allowed),
            state=state, action=action, allowed=allowed_actions(state),
        )


def _limit(days: Any) -> calendar.Limit:
    return calendar.Limit("working_days", float(days or 0))


def _spent_until(s: AppState, at: datetime) -> float:
    if s.clock_started_at is None:
        return s.clock_spent_s
    return s.clock_spent_s + calendar.elapsed("working_days", s.clock_started_at, at)


def apply(s: AppState, e: Event) -> tuple[AppState, str]:
    """The state after `e`, and the state name it leaves (checked: illegal → Conflict)."""
    check(s.state, e.action)
    a, d = e.action, e.data
    if a == "create":
        return replace(s, state="draft"), "draft"
    if a in ("update_form", "upload", "route"):
        return s, s.state
    if a == "submit":
        dl = calendar.deadline(_limit(d.get("promised_days")), e.at)
        return replace(s, state="in_review", submitted_at=e.at, clock_started_at=e.at, clock_spent_s=0.0,
                       due_at=dl.due_at, warn_at=dl.warn_at), "in_review"
    if a == "request_supplement":  # the clock stops with the time spent so far
        return replace(s, state="supplement_requested", clock_spent_s=_spent_until(s, e.at), clock_started_at=None,
                       due_at=None, warn_at=None), "supplement_requested"
    if a == "supplement":  # the clock resumes with the time it had left
        dl = calendar.deadline(_limit(d.get("promised_days")), e.at, spent=s.clock_spent_s)
        return replace(s, state="in_review", clock_started_at=e.at, due_at=dl.due_at, warn_at=dl.warn_at), "in_review"
    if a == "decide":
        outcome = d["outcome"]
        if outcome not in ("approve", "reject"):
            raise Conflict(Msg("unknown outcome {outcome!r}", outcome=outcome))
        spent = _spent_until(s, e.at)
        new = "approved" if outcome == "approve" else "rejected"
        return replace(
            s, state=new, outcome=outcome, reason=e.reason, instant=bool(d.get("instant")), finished_at=e.at,
            clock_spent_s=spent, clock_started_at=None, working_days=round(spent / calendar.DAY, 4),
            on_time=s.due_at is None or e.at <= s.due_at,
        ), new
    if a == "issue":
        return replace(s, state="licence_issued", licence=d["licence"]), "licence_issued"
    if a == "withdraw":
        return replace(s, state="withdrawn", finished_at=e.at, clock_spent_s=_spent_until(s, e.at), clock_started_at=None,
                       reason=e.reason), "withdrawn"
    if a == "rate":
        if s.rating is not None:
            raise Conflict(Msg("this application has already been rated"))
        return replace(s, rating=int(d["level"])), s.state
    raise Conflict(Msg("unknown action {a!r}", a=a))  # pragma: no cover - ALLOWED guards it


def replay(events: list[Event]) -> AppState:
    s = AppState()
    for e in events:
        s, _ = apply(s, e)
    return s


def flag(s: AppState, now: datetime) -> str | None:
    """`overdue` past the promised deadline, `warning` past 75% of it, else None."""
    if s.state not in ("in_review",) or s.due_at is None:
        return None
    if now > s.due_at:
        return "overdue"
    if s.warn_at is not None and now >= s.warn_at:
        return "warning"
    return None
