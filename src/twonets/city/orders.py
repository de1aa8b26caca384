"""Service functions of the city package: the only API adapters (HTTP, CLI, MQTT, demo) call.

Each takes the unit of work (a Session) and the acting Actor, and returns domain objects.
Every change of an order is an event row plus the updated projection, written together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from twonets.city import lifecycle, routing, scope, spatial
from twonets.city import order_repository as repo
from twonets.city.lifecycle import Event, OrderState
from twonets.city.models import Order, OrderCreate, OrderEvent, OrderPage, Reporter, ReporterView, TickResult
from twonets.city.order_repository import events_by_order, events_of  # noqa: F401  (part of the service API)
from twonets.city.reference import reference
from twonets.city.reporters import reporter_contact  # noqa: F401  (service API; serves the work_orders dataset)
from twonets.city.tables import category as category_t
from twonets.city.tables import department as department_t
from twonets.core import calendar, ids, pages
from twonets.core.actor import SYSTEM, Actor
from twonets.core.config import settings
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.core.i18n import Msg
from twonets.data import masking

# --- reference ----------------------------------------------------------------------------


def sync_reference(session: Session) -> None:
    """Mirror the department and category definitions into their tables; add default routes."""
    ref = reference()
    existing = set(session.execute(select(department_t.c.code)).scalars())
    for d in ref.departments.values():
        values = d.model_dump()
        if d.code in existing:
            session.execute(update(department_t).where(department_t.c.code == d.code).values(**values))
        else:
            session.execute(insert(department_t).values(**values))
    existing = set(session.execute(select(category_t.c.code)).scalars())
    for c in ref.categories.values():
        values = c.model_dump(mode="json")
        if c.code in existing:
            session.execute(update(category_t).where(category_t.c.code == c.code).values(**values))
        else:
            session.execute(insert(category_t).values(**values))
    routing.seed_default_rules(session)


# --- creating -----------------------------------------------------------------------------


def limit_for(source: str, category: str, severity: str) -> calendar.Limit:
    """The time limit of a new order: auto-detected orders are due the same calendar day, the
    rest by their category and severity."""
    if source == "auto":
        return calendar.Limit("same_day")
    return reference().category(category).limits[severity].limit()


def find_duplicate(session: Session, category: str, lon: float | None, lat: float | None, at: datetime) -> str | None:
    """An open order of the same minor category within the radius and window, nearest first."""
    if lon is None or lat is None:
        return None
    cfg = settings()
    rows = repo.duplicate_candidates(session, category, at - timedelta(hours=cfg.duplicate_window_h), at,
                                     spatial.bbox_around(lon, lat, cfg.duplicate_radius_m))
    best = min(rows, key=lambda r: spatial.distance_m(lon, lat, r.lon, r.lat), default=None)
    if best is None or spatial.distance_m(lon, lat, best.lon, best.lat) > cfg.duplicate_radius_m:
        return None
    return best.public_id


def _refuse_outside(session: Session, data: OrderCreate, place: spatial.Place | None) -> None:
    """A person's report at a point outside every grid of the district's map is refused, unless an
    address says where the problem is (the dispatcher places it). A district with no map yet cannot
    tell, and accepts; so do auto orders, whose devices were registered by the departments."""
    if place is None and data.source != "auto" and not data.address and spatial.grid_index(session).tree is not None:
        raise InvalidInput(
            Msg("({lon}, {lat}) is outside the district; give a point inside it, an address or a grid_code.", lon=data.lon, lat=data.lat),
            errors=[{"field": "lon", "message": Msg("outside the district")}])


def create_order(session: Session, actor: Actor, data: OrderCreate, at: datetime | None = None,
                 *, link_duplicates: bool = True) -> Order:
    at = at or calendar.utcnow()
    if not actor.has(*scope.ALL_SCOPE, "grid_inspector", "citizen"):
        raise Forbidden(Msg("Your role may not create work orders."))
    if actor.has("grid_inspector") and not actor.has(*scope.ALL_SCOPE) and data.source != "proactive":
        raise Forbidden(Msg("Grid inspectors report proactive orders."))
    if actor.roles == {"citizen"} and (data.source != "citizen" or data.department):
        raise Forbidden(Msg("Citizens report citizen requests; routing is the dispatch desk's."))
    ref = reference()
    ref.category(data.category)
    if data.department:
        ref.department(data.department)
    place = None
    if data.grid_code:
        place = spatial.place_of_grid(session, data.grid_code)
    elif data.lon is not None:
        place = spatial.locate(session, data.lon, data.lat)
        _refuse_outside(session, data, place)
    reporter_id = None
    if data.reporter and (data.reporter.name or data.reporter.phone):
        reporter_id = repo.add_reporter(session, data.reporter.name, data.reporter.phone)
    limit = limit_for(data.source, data.category, data.severity)
    created = lifecycle.creation_event(
        at, actor.label,
        public_id=ids.next_id(session, "WO", at), source=data.source, channel=data.channel,
        category=data.category, severity=data.severity, description=data.description,
        street_code=place.street_code if place else None,
        community_code=place.community_code if place else None,
        grid_code=place.grid_code if place else None,
        lon=data.lon, lat=data.lat, address=data.address, photos=list(data.photos),
        reporter_id=reporter_id, reporter_account=None if actor.has("system") else actor.id,
        external_ref=data.external_ref,
        limit_clock=limit.clock, limit_seconds=limit.seconds,
    )
    state = lifecycle.apply(None, created)
    events = [created]
    master = find_duplicate(session, data.category, data.lon, data.lat, at) if link_duplicates else None
    if master:
        events.append(lifecycle.decide(state, "merge", at, "system", "duplicate of an open order", master=master))
    else:
        dept = data.department or routing.route(session, data.category, state.street_code, state.grid_code)
        why = "dispatcher override" if data.department else "routing rule"
        events.append(lifecycle.decide(state, "dispatch", at, "system", why, department=dept))
    state = lifecycle.apply(state, events[-1])
    repo.add(session, state, events)
    return _to_order(state, data.reporter if reporter_id else None, masked=True, actor=actor)


def open_or_attach_auto_order(session: Session, data: OrderCreate, at: datetime | None = None) -> tuple[str, bool]:
    """The open order of an auto-detected problem (`data.external_ref`, e.g. an alarm key
    `detector:thing`), or a new one made from `data` when there is none that is not done with
    (resolved, checked, closed, cancelled: a problem found again there gets a new order).
    Returns (order id, created). The system acts; callers serialize per key (sensing takes an
    advisory lock on PostgreSQL; SQLite has one writer)."""
    if data.source != "auto" or not data.external_ref:
        raise InvalidInput(Msg("an auto order is opened for an external reference (source auto, external_ref set)"))
    found = repo.open_with_external_ref(session, data.external_ref)
    if found is not None:
        return found, False
    return create_order(session, SYSTEM, data, at).id, True


@dataclass(frozen=True)
class History:
    """A past order to import: its events (a `create` first) and its reporter's contact, if any.
    The create event carries no reporter key: the import stores the contact and sets it."""

    events: Sequence[Event]
    reporter: Reporter | None = None


def _checked(events: Sequence[Event]) -> OrderState:
    """Replay `events` through the lifecycle, deciding each again: every step must be legal from
    the state before it, in time order, and produce the state change it records."""
    first = events[0] if events else None
    if first is None or first.action != "create":
        raise InvalidInput(Msg("an order's history starts with its create event"))
    state = lifecycle.apply(None, lifecycle.creation_event(first.at, first.actor, **first.data))
    ref = reference()
    ref.category(state.category)
    for e in events[1:]:
        again = lifecycle.decide(state, e.action, e.at, e.actor, e.reason, **dict(e.data))
        if (again.from_status, again.to_status) != (e.from_status, e.to_status):
            raise InvalidInput(Msg("{public_id}: {action} goes {from_status} → {to_status}, not {from_status2} → {to_status2}", public_id=state.public_id, action=e.action, from_status=again.from_status, to_status=again.to_status, from_status2=e.from_status, to_status2=e.to_status))
        if e.action in ("dispatch", "reassign"):
            ref.department(e.data["department"])
        state = lifecycle.apply(state, e)
    return state


def import_history(session: Session, histories: Sequence[History]) -> tuple[int, int]:
    """Import past orders in bulk (a district's history, the demo): each history is replayed and
    checked through the lifecycle first (`InvalidInput` or `IllegalTransition` names the first
    bad step, and nothing is written), then stored with the projection its replay gives.
    Public ids come with the create events (reserve them with `ids.reserve`); no order events are
    published. Returns (orders, events) written."""
    checked: list[list[Any]] = []
    for h in histories:
        if h.events and h.events[0].data.get("reporter_id") is not None:
            raise InvalidInput(Msg("a history names its reporter's contact, not a reporter key"))
        contact = h.reporter if h.reporter and (h.reporter.name or h.reporter.phone) else None
        checked.append([_checked(h.events), list(h.events), contact])
    reported = [c for c in checked if c[2] is not None]
    for c, key in zip(reported, repo.add_reporters(session, [(c[2].name, c[2].phone) for c in reported])):
        c[0] = replace(c[0], reporter_id=key)
        c[1][0] = replace(c[1][0], data={**c[1][0].data, "reporter_id": key})
    return len(checked), repo.import_many(session, [(state, events) for state, events, _ in checked])


# --- reading --------------------------------------------------------------------------------


def mask(kind: str, value: str | None) -> str | None:
    return None if value is None else masking.mask(value, kind)


def _mask(rep: Reporter | None) -> ReporterView | None:
    if rep is None:
        return None
    return ReporterView(name=mask("name", rep.name), phone=mask("phone", rep.phone))


# Order fields copied as they are from the projection (the rest are derived below).
_SAME = ("source", "channel", "category", "severity", "status", "department", "street_code", "community_code",
         "grid_code", "lon", "lat", "address", "description", "master_id", "external_ref", "escalation_level",
         "flag", "returns_count", "reopen_count", "created_at", "updated_at", "due_at", "warn_at", "resolved_at",
         "closed_at", "on_time", "actually_resolved", "satisfaction", "condition_cleared_at")


def _to_order(s: OrderState | Row, rep: Reporter | None, masked: bool = True,
              timeline: list[OrderEvent] | None = None, actor: Actor | None = None) -> Order:
    """The order as `actor` sees it: `allowed_actions` are those the state allows and the actor may
    take now (all of them when no actor is given: the system's view)."""
    m = s._mapping if isinstance(s, Row) else vars(s)  # one dict lookup per field, not an attribute walk
    working, calendar_s = m["resolution_working_s"], m["resolution_s"]
    data = {k: m[k] for k in _SAME}
    data.update(
        id=m["public_id"], photos=list(m["photos"] or []),
        reporter=_mask(rep) if masked else (ReporterView(**rep.model_dump()) if rep else None),
        resolution_working_days=None if working is None else round(working / calendar.DAY, 4),
        resolution_calendar_days=None if calendar_s is None else round(calendar_s / calendar.DAY, 4),
        allowed_actions=_allowed(actor, m), timeline=timeline,
    )
    return Order.model_validate(data)


def _allowed(actor: Actor | None, m) -> list[str]:
    actions = lifecycle.allowed_for(m["status"], m["source"])
    return list(actions) if actor is None else scope.permitted(actor, m["department"], m["grid_code"], actions)


def _reporters(session: Session, ids_: Iterable[int | None]) -> dict[int, Reporter]:
    return {k: Reporter(name=name, phone=phone) for k, (name, phone) in repo.reporters(session, ids_).items()}


def get_order(session: Session, actor: Actor, public_id: str) -> Order:
    row = repo.load(session, public_id)
    state = repo.state_of(row)
    if not scope.sees(actor, state):
        raise NotFound(Msg("No work order {public_id}.", public_id=public_id))
    timeline = [
        OrderEvent(seq=r.seq, action=r.action, from_status=r.from_status, to_status=r.to_status, actor=r.actor,
                   at=r.at, reason=r.reason, data=r.data)
        for r in repo.timeline(session, row.id)
    ]
    return _to_order(state, _reporters(session, [row.reporter_id]).get(row.reporter_id), True, timeline, actor)


LIST_FILTERS = repo.FILTERABLE
CURSOR = "o"  # the kind of an order listing's cursor (core/pages.py)


def list_orders(session: Session, actor: Actor, *, limit: int = 50, cursor: str | None = None,
                created_from: datetime | None = None, created_to: datetime | None = None,
                **filters: str | list[str] | None) -> OrderPage:
    """Newest first, keyset-paginated. A filter given a list matches any of its values."""
    pages.check_limit(limit)
    unknown = set(filters) - set(LIST_FILTERS)
    if unknown:
        raise InvalidInput(Msg("unknown filters {unknown}", unknown=sorted(unknown)))
    rows = repo.listing(session, visible=scope.visible(actor), filters=filters, created_from=created_from,
                        created_to=created_to, before_id=pages.decode_int(cursor, CURSOR), limit=limit + 1)
    reps = _reporters(session, (r.reporter_id for r in rows[:limit]))
    items = [_to_order(r, reps.get(r.reporter_id), actor=actor) for r in rows[:limit]]  # a row reads like an OrderState
    return OrderPage(items=items, next=pages.next_cursor(rows, limit, CURSOR, lambda r: r.id))


# --- changing -----------------------------------------------------------------------------


def transition(session: Session, actor: Actor, public_id: str, action: str, reason: str | None = None,
               at: datetime | None = None, **data: Any) -> Order:
    """Take one action on an order (dispatch, accept, resolve, callback, escalate …).

    Optimistic (see `order_repository`): when another transaction changed the order between
    our read and our write, the order is read again once and the action decided on what it is
    now — taken if still legal there, else a 409 naming the state it is in."""
    at = at or calendar.utcnow()
    if action in lifecycle.SYSTEM_ACTIONS and not actor.has("system"):
        raise Forbidden(Msg("{action} is taken by the system only.", action=action))
    for attempt in (1, 2):
        row = repo.load(session, public_id)
        state, events = _decide(session, actor, repo.state_of(row), action, reason, at, dict(data))
        try:
            repo.save(session, row, events[-1][1], [e for e, _ in events])
            break
        except repo.Stale:
            if attempt == 2:
                raise
    state = events[-1][1]
    if action == "resolve":
        _followers_resolve(session, state, at)
    return _to_order(state, _reporters(session, [row.reporter_id]).get(row.reporter_id), actor=actor)


def _decide(session: Session, actor: Actor, state: OrderState, action: str, reason: str | None, at: datetime,
            data: dict[str, Any]) -> tuple[OrderState, list[tuple[Event, OrderState]]]:
    """The events `action` produces on `state`, each with the state after it."""
    scope.may(actor, state, action)
    if action in ("dispatch", "reassign") and data.get("department"):
        reference().department(data["department"])
    if action == "escalate":
        data.setdefault("level", state.escalation_level + 1)
        top = reference().escalation[-1]
        if data["level"] > len(reference().escalation) - 1:
            raise Conflict(Msg("The order is already at the highest escalation level, {level} ({name_en}).", level=top.level, name_en=top.name_en))
        if data["level"] <= state.escalation_level:
            raise Conflict(Msg("The order is at escalation level {escalation_level}; escalate to a higher level ({level} is the highest).", escalation_level=state.escalation_level, level=top.level), errors=[{"field": "level", "message": Msg("must be higher")}])
        if data["level"] == top.level and top.leader and not data.get("to"):
            data["to"] = top.leader
    if action == "merge":
        master = repo.state_of(repo.load(session, data.get("master") or ""))
        if master.status not in lifecycle.OPEN | {"suspended"} or master.master_id:
            raise InvalidInput(Msg("{public_id} is not an open master order.", public_id=master.public_id))
    event = lifecycle.decide(state, action, at, actor.label, reason, **data)
    state = lifecycle.apply(state, event)
    out = [(event, state)]
    if action == "callback" and data.get("actually_resolved") is False:
        # The citizen says it was not actually solved: the order goes back to work.
        event = lifecycle.decide(state, "reopen", at, "system", "callback: not actually resolved")
        out.append((event, lifecycle.apply(state, event)))
    return out[-1][1], out


def clear_condition(session: Session, public_id: str, at: datetime, reason: str, **data: Any) -> Order:
    """The system records that the condition behind an order has cleared (a sensor says so);
    dated no earlier than the order's last change (device and server clocks differ)."""
    updated = repo.load(session, public_id).updated_at
    return transition(session, SYSTEM, public_id, "clear", reason, at=max(at, updated), **data)


def _followers_resolve(session: Session, master: OrderState, at: datetime) -> None:
    """Duplicates follow their master's outcome; each still gets its own callback."""
    for row in repo.followers(session, master.public_id):
        s = repo.state_of(row)
        e = lifecycle.decide(s, "follow", at, "system", f"resolved with master {master.public_id}")
        repo.save(session, row, lifecycle.apply(s, e), [e])


def tick(session: Session, now: datetime | None = None) -> TickResult:
    """The timer: warnings at 75% of the limit, overdue + one level of escalation past it.
    Idempotent: running it twice at the same moment changes nothing the second time. Timers of
    several server processes may run at once: on PostgreSQL each takes the rows it flags with
    FOR UPDATE SKIP LOCKED; on either database an order changed since it was read (by a person
    or another timer) fails its version check and is left to the next tick."""
    now = now or calendar.utcnow()
    ref = reference()
    leader = ref.escalation[-1].leader
    rows = repo.due_for_timer(session, now)
    result = TickResult(checked=len(rows), warnings=0, overdue=0, escalated=0)
    for row in rows:
        state = repo.state_of(row)
        events = lifecycle.timer_events(state, now, ref.top_level, leader)
        if not events:
            continue
        for e in events:
            state = lifecycle.apply(state, e)
        try:
            repo.save(session, row, state, events)
        except repo.Stale:
            continue
        for e in events:
            if e.action == "flag":
                result.warnings += e.data["flag"] == "warning"
                result.overdue += e.data["flag"] == "overdue"
            elif e.action == "escalate":
                result.escalated += 1
    return result


def count_orders(session: Session) -> int:
    return repo.count(session)


def replay_matches(session: Session, public_id: str) -> bool:
    """The stored projection equals the replay of the order's events."""
    row = repo.load(session, public_id)
    return lifecycle.replay(events_of(session, row.id)) == repo.state_of(row)
