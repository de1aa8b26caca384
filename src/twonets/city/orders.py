"""Service functions of the city package: the only API adapters (HTTP, CLI, MQTT, demo) call.

Each takes the unit of work (a Session) and the acting Actor, and returns domain objects.
Every change of an order is an event row plus the updated projection, written together.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from twonets.city import lifecycle, routing, scope, spatial, store
from twonets.city.reporters import reporter_contact  # noqa: F401  (service API; serves the work_orders dataset)
from twonets.city.store import events_by_order, events_of  # noqa: F401  (part of the service API)
from twonets.city.lifecycle import OrderState
from twonets.city.models import Order, OrderCreate, OrderEvent, OrderPage, Reporter, ReporterView, TickResult
from twonets.city.reference import reference
from twonets.city.tables import category as category_t
from twonets.city.tables import department as department_t
from twonets.city.tables import reporter as reporter_t
from twonets.city.tables import work_order, work_order_event
from twonets.core import calendar, ids
from twonets.core.actor import Actor
from twonets.core.config import settings
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.city.events import OrderChanged
from twonets.core.events import queue as queue_event
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


def _limit_for(source: str, category: str, severity: str) -> calendar.Limit:
    if source == "auto":  # auto-detected orders are due the same calendar day
        return calendar.Limit("same_day")
    return reference().category(category).limits[severity].limit()


# Built once: statements on the hot path of order creation, with bound parameters.
_DUPLICATE_CANDIDATES = select(work_order.c.public_id, work_order.c.lon, work_order.c.lat).where(
    work_order.c.category == bindparam("category"),
    work_order.c.status.in_(sorted(lifecycle.OPEN | {"suspended"})),
    work_order.c.created_at >= bindparam("since", type_=work_order.c.created_at.type),
    work_order.c.created_at <= bindparam("until", type_=work_order.c.created_at.type),
    work_order.c.master_id.is_(None),
    work_order.c.lon.between(bindparam("x0"), bindparam("x1")),
    work_order.c.lat.between(bindparam("y0"), bindparam("y1")),
)
_INSERT_ORDER = insert(work_order).returning(work_order.c.id)
_INSERT_REPORTER = insert(reporter_t).returning(reporter_t.c.id)
_INSERT_EVENTS = insert(work_order_event)


def find_duplicate(session: Session, category: str, lon: float | None, lat: float | None, at: datetime) -> str | None:
    """An open order of the same minor category within the radius and window, nearest first."""
    if lon is None or lat is None:
        return None
    cfg = settings()
    x0, y0, x1, y1 = spatial.bbox_around(lon, lat, cfg.duplicate_radius_m)
    rows = session.execute(_DUPLICATE_CANDIDATES, {
        "category": category, "since": at - timedelta(hours=cfg.duplicate_window_h), "until": at,
        "x0": x0, "x1": x1, "y0": y0, "y1": y1,
    }).all()
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
            f"({data.lon}, {data.lat}) is outside the district; give a point inside it, an address or a grid_code.",
            errors=[{"field": "lon", "message": "outside the district"}])


def create_order(session: Session, actor: Actor, data: OrderCreate, at: datetime | None = None,
                 *, link_duplicates: bool = True) -> Order:
    at = at or calendar.utcnow()
    if not actor.has(*scope.ALL_SCOPE, "grid_inspector", "citizen"):
        raise Forbidden("Your role may not create work orders.")
    if actor.has("grid_inspector") and not actor.has(*scope.ALL_SCOPE) and data.source != "proactive":
        raise Forbidden("Grid inspectors report proactive orders.")
    if actor.roles == {"citizen"} and (data.source != "citizen" or data.department):
        raise Forbidden("Citizens report citizen requests; routing is the dispatch desk's.")
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
        reporter_id = session.execute(
            _INSERT_REPORTER, {"name": data.reporter.name, "phone": data.reporter.phone}
        ).scalar_one()
    limit = _limit_for(data.source, data.category, data.severity)
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
    order_id = session.execute(_INSERT_ORDER, store.values(state)).scalar_one()
    session.execute(_INSERT_EVENTS, [store.event_row(order_id, i + 1, e) for i, e in enumerate(events)])
    for e in events:
        queue_event(session, OrderChanged(state.public_id, e.action, e.to_status, state.department,
                                            e.at.isoformat(), state.source, state.category))
    return _to_order(state, data.reporter if reporter_id else None, masked=True, actor=actor)


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


# What a listing reads: only the columns an Order shows (half the row; the rest is bookkeeping).
_LISTED = [work_order.c[name] for name in (*_SAME, "id", "public_id", "photos", "reporter_id",
                                           "resolution_working_s", "resolution_s")]


def _to_order(s: "OrderState | Row", rep: Reporter | None, masked: bool = True,
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
    wanted = {i for i in ids_ if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(reporter_t).where(reporter_t.c.id.in_(wanted))).all()
    return {r.id: Reporter(name=r.name, phone=r.phone) for r in rows}


def get_order(session: Session, actor: Actor, public_id: str) -> Order:
    row = store.load(session, public_id)
    state = store.state_of(row)
    if not scope.sees(actor, state):
        raise NotFound(f"No work order {public_id}.")
    timeline = [
        OrderEvent(seq=r.seq, action=r.action, from_status=r.from_status, to_status=r.to_status, actor=r.actor,
                   at=r.at, reason=r.reason, data=r.data)
        for r in session.execute(select(work_order_event).where(work_order_event.c.order_id == row.id)
                                 .order_by(work_order_event.c.seq)).all()
    ]
    return _to_order(state, _reporters(session, [row.reporter_id]).get(row.reporter_id), True, timeline, actor)


LIST_FILTERS = ("source", "channel", "category", "severity", "status", "department", "street_code",
                "community_code", "grid_code", "flag", "master_id")


def _cursor(order_id: int) -> str:
    return base64.urlsafe_b64encode(f"o:{order_id}".encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw.split(":", 1)
        assert kind == "o"
        return int(value)
    except Exception:
        raise InvalidInput("The cursor is not valid; use the `next` value of the previous page.",
                           errors=[{"field": "cursor", "message": "invalid"}]) from None


def list_orders(session: Session, actor: Actor, *, limit: int = 50, cursor: str | None = None,
                created_from: datetime | None = None, created_to: datetime | None = None,
                **filters: str | list[str] | None) -> OrderPage:
    """Newest first, keyset-paginated. A filter given a list matches any of its values."""
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500", errors=[{"field": "limit", "message": "out of range"}])
    unknown = set(filters) - set(LIST_FILTERS)
    if unknown:
        raise InvalidInput(f"unknown filters {sorted(unknown)}")
    q = select(*_LISTED)
    visible = scope.scope_filter(actor)
    if visible is not None:
        q = q.where(visible)
    for name, value in filters.items():
        if isinstance(value, (list, tuple, set, frozenset)):
            q = q.where(work_order.c[name].in_(list(value)))
        elif value is not None:
            q = q.where(work_order.c[name] == value)
    if created_from:
        q = q.where(work_order.c.created_at >= created_from)
    if created_to:
        q = q.where(work_order.c.created_at < created_to)
    if cursor:
        q = q.where(work_order.c.id < _uncursor(cursor))
    rows = session.execute(q.order_by(work_order.c.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    reps = _reporters(session, (r.reporter_id for r in rows))
    items = [_to_order(r, reps.get(r.reporter_id), actor=actor) for r in rows]  # a row reads like an OrderState
    return OrderPage(items=items, next=_cursor(rows[-1].id) if more and rows else None)


# --- changing -----------------------------------------------------------------------------


def transition(session: Session, actor: Actor, public_id: str, action: str, reason: str | None = None,
               at: datetime | None = None, **data: Any) -> Order:
    """Take one action on an order (dispatch, accept, resolve, callback, escalate …)."""
    at = at or calendar.utcnow()
    if action in lifecycle.SYSTEM_ACTIONS and not actor.has("system"):
        raise Forbidden(f"{action} is taken by the system only.")
    row = store.load(session, public_id, lock=True)
    state = store.state_of(row)
    scope.may(actor, state, action)
    if action in ("dispatch", "reassign") and data.get("department"):
        reference().department(data["department"])
    if action == "escalate":
        data.setdefault("level", state.escalation_level + 1)
        top = reference().escalation[-1]
        if data["level"] > len(reference().escalation) - 1:
            raise Conflict(f"The order is already at the highest escalation level, {top.level} ({top.name_en}).")
        if data["level"] == top.level and top.leader and not data.get("to"):
            data["to"] = top.leader
    if action == "merge":
        master = store.state_of(store.load(session, data.get("master") or ""))
        if master.status not in lifecycle.OPEN | {"suspended"} or master.master_id:
            raise InvalidInput(f"{master.public_id} is not an open master order.")
    event = lifecycle.decide(state, action, at, actor.label, reason, **data)
    events = [event]
    state = lifecycle.apply(state, event)
    if action == "callback" and data.get("actually_resolved") is False:
        # The citizen says it was not actually solved: the order goes back to work.
        events.append(lifecycle.decide(state, "reopen", at, "system", "callback: not actually resolved"))
        state = lifecycle.apply(state, events[-1])
    store.save(session, row.id, state, events, row.event_count + 1)
    if action == "resolve":
        _followers_resolve(session, state, at)
    return _to_order(state, _reporters(session, [row.reporter_id]).get(row.reporter_id), actor=actor)


def _followers_resolve(session: Session, master: OrderState, at: datetime) -> None:
    """Duplicates follow their master's outcome; each still gets its own callback."""
    rows = session.execute(
        select(work_order).where(work_order.c.master_id == master.public_id, work_order.c.status == "merged")
    ).all()
    for row in rows:
        s = store.state_of(row)
        e = lifecycle.decide(s, "follow", at, "system", f"resolved with master {master.public_id}")
        store.save(session, row.id, lifecycle.apply(s, e), [e], row.event_count + 1)


def tick(session: Session, now: datetime | None = None) -> TickResult:
    """The timer: warnings at 75% of the limit, overdue + one level of escalation past it.
    Idempotent: running it twice at the same moment changes nothing the second time. Timers of
    several server processes may run at once: on PostgreSQL each takes the rows it flags with
    FOR UPDATE SKIP LOCKED (and reads them as last committed); SQLite has one writer at a time."""
    now = now or calendar.utcnow()
    ref = reference()
    leader = ref.escalation[-1].leader
    q = select(work_order).where(
        work_order.c.status.in_(lifecycle.OPEN),
        or_(and_(work_order.c.warn_at <= now, work_order.c.flag == "ok"),
            and_(work_order.c.due_at <= now, work_order.c.flag != "overdue")),
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    rows = session.execute(q).all()
    result = TickResult(checked=len(rows), warnings=0, overdue=0, escalated=0)
    for row in rows:
        state = store.state_of(row)
        events = lifecycle.timer_events(state, now, ref.top_level, leader)
        for e in events:
            state = lifecycle.apply(state, e)
            if e.action == "flag":
                result.warnings += e.data["flag"] == "warning"
                result.overdue += e.data["flag"] == "overdue"
            elif e.action == "escalate":
                result.escalated += 1
        if events:
            store.save(session, row.id, state, events, row.event_count + 1)
    return result


def replay_matches(session: Session, public_id: str) -> bool:
    """The stored projection equals the replay of the order's events."""
    row = store.load(session, public_id)
    return lifecycle.replay(events_of(session, row.id)) == store.state_of(row)
