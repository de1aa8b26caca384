"""The work order's life as an explicit state machine, in pure Python.

`decide` checks that an action is legal and returns the event it produces; `apply` folds an
event into the order's state. The stored row is `replay(events)`, nothing else: the service
layer, the timer and the demo simulator all go through these two functions.
"""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from twonets.core import calendar
from twonets.core.errors import Conflict, IllegalTransition, InvalidInput
from twonets.core.i18n import Msg

SOURCES = ("auto", "proactive", "citizen")
CHANNELS = ("sensor", "business_system", "inspector", "phone", "web", "app", "mini_program", "open311")
SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")
FLAGS = ("ok", "warning", "overdue")

STATES = (
    "created", "dispatched", "accepted", "in_progress", "resolved", "checked", "closed",
    "returned", "suspended", "merged", "cancelled",
)
FINAL = frozenset({"closed", "cancelled"})
# Where the clock runs and a department (or the desk) owes work.
OPEN = frozenset({"created", "dispatched", "accepted", "in_progress", "returned"})
# The work is done (or given up): a problem found again there needs a new order, not this one.
DONE = frozenset({"resolved", "checked", "closed", "cancelled"})

# action → states it may start from. The target state is fixed except where noted in _target.
TRANSITIONS: dict[str, frozenset[str]] = {
    "dispatch": frozenset({"created", "returned"}),
    "reassign": frozenset({"dispatched", "accepted"}),
    "return": frozenset({"dispatched", "accepted"}),
    "accept": frozenset({"dispatched"}),
    "start": frozenset({"accepted"}),
    "resolve": frozenset({"accepted", "in_progress"}),
    "check": frozenset({"resolved"}),
    "callback": frozenset({"resolved"}),
    "reopen": frozenset({"resolved", "checked", "closed"}),
    "close": frozenset({"checked"}),
    "suspend": frozenset({"dispatched", "accepted", "in_progress"}),
    "resume": frozenset({"suspended"}),
    "escalate": OPEN | {"suspended"},
    "merge": frozenset({"created", "dispatched", "accepted", "in_progress", "returned"}),
    "follow": frozenset({"merged"}),
    "cancel": OPEN | {"suspended"},
    "clear": OPEN | {"suspended", "resolved", "checked", "merged"},
    "flag": OPEN,
}
TARGET = {
    "dispatch": "dispatched", "reassign": "dispatched", "return": "returned", "accept": "accepted",
    "start": "in_progress", "resolve": "resolved", "check": "checked", "callback": "checked",
    "reopen": "dispatched", "close": "closed", "suspend": "suspended", "merge": "merged",
    "follow": "resolved", "cancel": "cancelled",
}  # escalate, clear, flag keep the state; resume returns to the state before suspension
ACTIONS = tuple(TRANSITIONS)
NEEDS_REASON = frozenset({"return", "suspend", "cancel", "reopen"})
# Actions only the system takes (timer, detectors, duplicate linking), not offered to people.
SYSTEM_ACTIONS = frozenset({"flag", "follow", "clear"})


@dataclass
class OrderState:
    public_id: str
    source: str
    channel: str
    category: str
    severity: str
    status: str
    created_at: datetime
    updated_at: datetime
    clock_start: datetime
    due_at: datetime
    warn_at: datetime
    limit_clock: str
    limit_seconds: float
    description: str = ""
    department: str | None = None
    street_code: str | None = None
    community_code: str | None = None
    grid_code: str | None = None
    lon: float | None = None
    lat: float | None = None
    address: str | None = None
    photos: list = field(default_factory=list)
    reporter_id: int | None = None
    reporter_account: str | None = None  # the account that filed the order: it may follow it
    master_id: str | None = None
    external_ref: str | None = None
    escalation_level: int = 0
    flag: str = "ok"
    was_overdue: bool = False
    returns_count: int = 0
    reopen_count: int = 0
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    suspended_from: str | None = None
    suspended_at: datetime | None = None
    suspended_s: float = 0.0
    suspended_working_s: float = 0.0
    spent_s: float = 0.0
    resolution_s: float | None = None
    resolution_working_s: float | None = None
    resolved_same_day: bool | None = None
    on_time: bool | None = None
    actually_resolved: bool | None = None
    satisfaction: str | None = None
    condition_cleared_at: datetime | None = None
    event_count: int = 0

    @property
    def limit(self) -> calendar.Limit:
        value = self.limit_seconds / (calendar.DAY if self.limit_clock == "working_days" else 3600.0)
        return calendar.Limit(self.limit_clock, value)


@dataclass(frozen=True)
class Event:
    action: str
    at: datetime
    actor: str
    from_status: str | None
    to_status: str
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


CREATE_FIELDS = (
    "public_id", "source", "channel", "category", "severity", "description", "department",
    "street_code", "community_code", "grid_code", "lon", "lat", "address", "photos",
    "reporter_id", "reporter_account", "external_ref", "limit_clock", "limit_seconds",
)


def allowed_actions(state: OrderState) -> list[str]:
    """Actions a person may take now (system-only actions are left out)."""
    return list(allowed_for(state.status, state.source))


@cache
def allowed_for(status: str, source: str) -> tuple[str, ...]:
    out = []
    for action, sources in TRANSITIONS.items():
        if action in SYSTEM_ACTIONS or status not in sources:
            continue
        if action == "callback" and source != "citizen":
            continue
        if action == "check" and source == "citizen":
            continue
        out.append(action)
    return tuple(out)


def creation_event(at: datetime, actor: str, **fields: Any) -> Event:
    missing = [f for f in ("public_id", "source", "channel", "category", "severity", "limit_clock", "limit_seconds") if fields.get(f) is None]
    if missing:
        raise InvalidInput(Msg("missing {missing}", missing=', '.join(missing)))
    unknown = set(fields) - set(CREATE_FIELDS)
    if unknown:
        raise InvalidInput(Msg("unknown fields {unknown}", unknown=sorted(unknown)))
    return Event("create", at, actor, None, "created", None, dict(fields))


def decide(state: OrderState, action: str, at: datetime, actor: str, reason: str | None = None, **data: Any) -> Event:
    """The event `action` produces on `state`, or IllegalTransition (409) naming what is allowed."""
    if action not in TRANSITIONS:
        raise InvalidInput(Msg("Unknown action {action!r}. Actions: {actions}.", action=action, actions=', '.join(ACTIONS)))
    legal = state.status in TRANSITIONS[action]
    if legal and action == "callback" and state.source != "citizen":
        legal = False
    if legal and action == "check" and state.source == "citizen":
        legal = False
    if not legal:
        raise IllegalTransition(state.status, action, allowed_actions(state))
    if at < state.updated_at:
        raise InvalidInput(Msg("time {at} is before the order's last change {updated_at}", at=at.isoformat(), updated_at=state.updated_at.isoformat()))
    if action in NEEDS_REASON and not (reason and reason.strip()):
        raise InvalidInput(
            Msg("A reason is required to {action} an order.", action=action), errors=[{"field": "reason", "message": Msg("required")}]
        )
    if action in ("dispatch", "reassign") and not data.get("department"):
        raise InvalidInput(Msg("Name the department to dispatch to."), errors=[{"field": "department", "message": Msg("required")}])
    if action == "callback":
        if not isinstance(data.get("actually_resolved"), bool):
            raise InvalidInput(Msg("Say whether the problem was actually resolved (true/false)."),
                               errors=[{"field": "actually_resolved", "message": Msg("required boolean")}])
        if data.get("satisfaction") not in SATISFACTION:
            raise InvalidInput(Msg("satisfaction must be one of {satisfaction}.", satisfaction=', '.join(SATISFACTION)),
                               errors=[{"field": "satisfaction", "message": Msg("invalid choice")}])
    if action == "flag" and data.get("flag") not in ("warning", "overdue"):
        raise InvalidInput(Msg("flag must be warning or overdue"))
    if action == "escalate":
        level = data.get("level", state.escalation_level + 1)
        if not isinstance(level, int) or level <= state.escalation_level:
            current = state.escalation_level
            raise Conflict(Msg("The order is at escalation level {current}; escalate to a level above {current}.", current=current),
                           errors=[{"field": "level", "message": Msg("must be above {current}", current=current)}],
                           state=state.status, escalation_level=current)
        data["level"] = level
    if action == "merge" and (not data.get("master") or data["master"] == state.public_id):
        raise InvalidInput(Msg("Name the master order (not this one) to merge into."),
                           errors=[{"field": "master", "message": Msg("required")}])
    if action == "resume":
        to = state.suspended_from or "dispatched"
    else:
        to = TARGET.get(action, state.status)
    return Event(action, at, actor, state.status, to, reason, data)


def _resolved(s: OrderState, at: datetime) -> None:
    s.resolved_at = at
    s.resolution_s = max((at - s.created_at).total_seconds() - s.suspended_s, 0.0)
    working = calendar.elapsed("working_days", s.created_at, at) - s.suspended_working_s
    s.resolution_working_s = max(working, 0.0)
    s.resolved_same_day = calendar.local_date(at) == calendar.local_date(s.created_at)
    s.on_time = at <= s.due_at


def _restart_clock(s: OrderState, at: datetime, spent: float) -> None:
    from twonets.core.config import settings

    s.clock_start, s.spent_s = at, spent
    if s.limit_clock == "same_day":
        d = calendar.deadline(s.limit, s.created_at, settings().warning_share)
    else:
        d = calendar.deadline(s.limit, at, settings().warning_share, spent=spent)
    s.due_at, s.warn_at = d.due_at, d.warn_at


def apply(state: OrderState | None, e: Event) -> OrderState:
    """Fold one event into the state. `apply(None, create_event)` starts an order."""
    if e.action == "create":
        f = e.data
        s = OrderState(
            status="created", created_at=e.at, updated_at=e.at, clock_start=e.at, due_at=e.at, warn_at=e.at,
            **{k: f.get(k) for k in CREATE_FIELDS if k in f},
        )
        s.photos = list(s.photos or [])
        _restart_clock(s, e.at, 0.0)
        s.event_count = 1
        return s
    assert state is not None, "an order starts with a create event"
    s = copy(state)  # a shallow copy, as dataclasses.replace makes, at a twentieth of its cost
    a, d = e.action, e.data
    if a in ("dispatch", "reassign"):
        s.department = d["department"]
    elif a == "return":
        s.returns_count += 1
    elif a in ("resolve", "follow"):
        _resolved(s, e.at)
    elif a == "callback":
        s.actually_resolved = bool(d["actually_resolved"])
        s.satisfaction = d["satisfaction"]
    elif a == "reopen":
        s.reopen_count += 1
        s.flag = "ok"
        s.resolved_at = s.resolution_s = s.resolution_working_s = None
        s.resolved_same_day = s.on_time = None
        s.closed_at = None
        _restart_clock(s, e.at, 0.0)
    elif a == "close":
        s.closed_at = e.at
    elif a == "suspend":
        s.suspended_from, s.suspended_at = state.status, e.at
        s.spent_s = state.spent_s + calendar.elapsed(_clock_for_elapsed(s), state.clock_start, e.at)
    elif a == "resume":
        assert state.suspended_at is not None
        s.suspended_s += (e.at - state.suspended_at).total_seconds()
        s.suspended_working_s += calendar.elapsed("working_days", state.suspended_at, e.at)
        s.suspended_from = s.suspended_at = None
        _restart_clock(s, e.at, state.spent_s)
    elif a == "escalate":
        s.escalation_level = d["level"]
    elif a == "flag":
        s.flag = d["flag"]
        s.was_overdue = s.was_overdue or d["flag"] == "overdue"
    elif a == "merge":
        s.master_id = d["master"]
    elif a == "cancel":
        s.closed_at = e.at
    elif a == "clear":
        s.condition_cleared_at = e.at
    if a in ("dispatch", "reassign", "resume") and d.get("department"):
        s.department = d["department"]
    s.status = e.to_status
    s.updated_at = e.at
    s.event_count = state.event_count + 1
    return s


def _clock_for_elapsed(s: OrderState) -> str:
    return "calendar" if s.limit_clock == "same_day" else s.limit_clock


def replay(events: list[Event]) -> OrderState:
    state: OrderState | None = None
    for e in events:
        state = apply(state, e)
    if state is None:
        raise ValueError("no events to replay")
    return state


def timer_events(state: OrderState, now: datetime, top_level: int, leader: str | None = None) -> list[Event]:
    """What the timer owes an order at `now`: a warning at 75% of the limit; past the limit,
    overdue and one level of escalation. Idempotent: a flag already raised is not raised again."""
    if state.status not in OPEN or now < state.updated_at:  # never date an event before the last change
        return []
    out: list[Event] = []
    s = state
    if now >= s.due_at and s.flag != "overdue":
        e = decide(s, "flag", now, "timer", "past the time limit", flag="overdue")
        out.append(e)
        s = apply(s, e)
        if s.escalation_level < top_level:
            data: dict[str, Any] = {"level": s.escalation_level + 1, "automatic": True}
            if data["level"] == top_level and leader:
                data["to"] = leader
            e = decide(s, "escalate", now, "timer", "overdue", **data)
            out.append(e)
    elif s.warn_at <= now < s.due_at and s.flag == "ok":
        out.append(decide(s, "flag", now, "timer", "75% of the time limit used", flag="warning"))
    return out
