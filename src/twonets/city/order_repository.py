"""The work-order repository: the only module that writes — and, but for the KPI query model in
`city/kpi.py`, reads — rows of `work_order`, `work_order_event` and the reporters they point to.

Service functions (`city/orders.py`) decide what happens with `lifecycle.decide/apply`; this
module stores the result: the projection row (the replay of the events, with its KPI counters)
and the new event rows, always together, and publishes one "order" event per event row after
the outermost commit. Nobody else inserts or updates these tables — not sensing (it asks
`orders.open_or_attach_auto_order`), not the demo (it calls `orders.import_history`).

Concurrency: optimistic, on the order's version. The version is `event_count`, the number of
its events. `save` writes `UPDATE work_order … WHERE id = :id AND event_count = :expected` and
then the event rows `expected + 1 …`; when the UPDATE changes no row, another transaction has
changed the order since it was read, nothing was written, and `Stale` (409) is raised naming
the order's state now. Why this model, for orders and applications alike:
- it is the same SQL on SQLite and PostgreSQL. SQLite has no `SELECT … FOR UPDATE`, so with
  row locks only on PostgreSQL, SQLite racers both passed the check and the loser hit the
  unique (order_id, seq) key: a 500 (issue 11, 31 of 1,000 races);
- a reader holds no lock while it validates, so listings, the timer and people never queue
  behind each other's reads; the version check costs nothing (the row is updated anyway);
- the loser learns what it lost to. On PostgreSQL (read committed) and SQLite (one writer,
  whose snapshot starts at its first write) the loser's failed UPDATE leaves it looking at the
  committed winner, so the service layer re-reads once and either succeeds on the new state
  (the action is still legal there, as it was with a row lock) or answers 409 naming it.
The timer reads its candidates with `FOR UPDATE SKIP LOCKED` on PostgreSQL: not a second
consistency model (its writes go through the same version check) but work sharing, so that
the timers of several server processes take disjoint rows instead of waiting on each other.
SQLite has one writer at a time; a second timer's stale writes fail the version check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from twonets.city import lifecycle
from twonets.city.events import OrderChanged
from twonets.city.lifecycle import Event, OrderState
from twonets.city.tables import reporter as reporter_t
from twonets.city.tables import work_order, work_order_event
from twonets.core.errors import Conflict, NotFound
from twonets.core.events import queue as queue_event
from twonets.core.i18n import Msg

STATE_FIELDS = tuple(OrderState.__dataclass_fields__)


class Stale(Conflict):
    """The order changed since it was read (its version is no longer the one expected)."""

    def __init__(self, public_id: str, status: str, version: int):
        super().__init__(Msg("Work order {id} was changed by someone else meanwhile; it is now {status} "
                             "(version {version}). Reload it and try again.", id=public_id, status=status, version=version),
                         state=status, version=version)


def state_of(row) -> OrderState:
    m = row._mapping
    return OrderState(**{f: m[f] for f in STATE_FIELDS})


def values(s: OrderState) -> dict[str, Any]:
    """The work_order row of a state: the projection plus its KPI counters."""
    from twonets.city.kpi import flags

    return {f: getattr(s, f) for f in STATE_FIELDS} | flags(s)


def event_row(order_id: int, seq: int, e: Event) -> dict[str, Any]:
    return dict(order_id=order_id, seq=seq, action=e.action, from_status=e.from_status, to_status=e.to_status,
                actor=e.actor, at=e.at, reason=e.reason, data=e.data)


def _event(r) -> Event:
    return Event(r.action, r.at, r.actor, r.from_status, r.to_status, r.reason, r.data)


def _publish(session: Session, s: OrderState, events: Sequence[Event]) -> None:
    for e in events:
        queue_event(session, OrderChanged(s.public_id, e.action, e.to_status, s.department, e.at.isoformat(),
                                          s.source, s.category))


# --- writing ------------------------------------------------------------------------------

# Built once: statements on the hot path, with bound parameters.
_INSERT_ORDER = insert(work_order).returning(work_order.c.id)
_INSERT_REPORTER = insert(reporter_t).returning(reporter_t.c.id)
_INSERT_EVENTS = insert(work_order_event)
_UPDATE_ORDER = (
    update(work_order)
    .where(work_order.c.id == bindparam("_id"), work_order.c.event_count == bindparam("_expected"))
    .values({c: bindparam(c, type_=work_order.c[c].type)
             for c in (*STATE_FIELDS, *[k for k in work_order.c.keys() if k.startswith("k_")])})
)


def add_reporter(session: Session, name: str | None, phone: str | None) -> int:
    """Store a reporter's contact (personal data, apart from the order); returns its key."""
    return session.execute(_INSERT_REPORTER, {"name": name, "phone": phone}).scalar_one()


def add(session: Session, state: OrderState, events: Sequence[Event]) -> int:
    """Insert a new order: its projection `state` (the replay of `events`) and the event rows."""
    order_id = session.execute(_INSERT_ORDER, values(state)).scalar_one()
    session.execute(_INSERT_EVENTS, [event_row(order_id, i + 1, e) for i, e in enumerate(events)])
    _publish(session, state, events)
    return order_id


def save(session: Session, row, state: OrderState, events: Sequence[Event]) -> None:
    """Store `events` taken on the order read as `row`, and its new projection `state`.
    Raises Stale when the order is no longer at the version `row` was read at."""
    expected = row.event_count
    done = session.execute(_UPDATE_ORDER, {**values(state), "_id": row.id, "_expected": expected})
    if done.rowcount != 1:
        now = session.execute(select(work_order.c.status, work_order.c.event_count)
                              .where(work_order.c.id == row.id)).first()
        raise Stale(row.public_id, now.status if now else "gone", now.event_count if now else 0)
    session.execute(_INSERT_EVENTS, [event_row(row.id, expected + 1 + i, e) for i, e in enumerate(events)])
    _publish(session, state, events)


def add_reporters(session: Session, contacts: Sequence[tuple[str | None, str | None]],
                  chunk: int = 2000) -> list[int]:
    """Store many reporters' (name, phone) at once; returns their keys in the same order."""
    keys: list[int] = []
    for i in range(0, len(contacts), chunk):
        keys += session.execute(
            insert(reporter_t).returning(reporter_t.c.id, sort_by_parameter_order=True),
            [{"name": name, "phone": phone} for name, phone in contacts[i:i + chunk]],
        ).scalars().all()
    return keys


def import_many(session: Session, orders: Sequence[tuple[OrderState, Sequence[Event]]], chunk: int = 2000) -> int:
    """Insert many checked histories at once: (projection, events). Bulk statements, 2,000 orders
    per round trip; no events are published (history, not news). Returns the event rows written."""
    n_events = 0
    for i in range(0, len(orders), chunk):
        part = orders[i:i + chunk]
        order_ids = session.execute(
            insert(work_order).returning(work_order.c.id, sort_by_parameter_order=True),
            [values(s) for s, _ in part],
        ).scalars().all()
        rows = [event_row(oid, seq, e) for oid, (_, evs) in zip(order_ids, part) for seq, e in enumerate(evs, start=1)]
        for j in range(0, len(rows), 20000):
            session.execute(_INSERT_EVENTS, rows[j:j + 20000])
        n_events += len(rows)
    return n_events


# --- reading ------------------------------------------------------------------------------

_BY_PUBLIC_ID = select(work_order).where(work_order.c.public_id == bindparam("public_id"))


def load(session: Session, public_id: str):
    """The order's row (its projection, surrogate key and version), or NotFound."""
    row = session.execute(_BY_PUBLIC_ID, {"public_id": public_id}).first()
    if row is None:
        raise NotFound(Msg("No work order {public_id}.", public_id=public_id))
    return row


def count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(work_order)).scalar_one()


def events_of(session: Session, order_id: int) -> list[Event]:
    return [_event(r) for r in timeline(session, order_id)]


def timeline(session: Session, order_id: int) -> list[Row]:
    """The order's event rows (with their seq), in order."""
    return session.execute(
        select(work_order_event).where(work_order_event.c.order_id == order_id).order_by(work_order_event.c.seq)
    ).all()


def events_by_order(session: Session, public_ids: list[str]) -> dict[str, list[Event]]:
    """The timelines of many orders in one query per 500 ids (for listings that show notes)."""
    out: dict[str, list[Event]] = {i: [] for i in public_ids}
    for i in range(0, len(public_ids), 500):
        rows = session.execute(
            select(work_order.c.public_id, work_order_event)
            .join(work_order, work_order.c.id == work_order_event.c.order_id)
            .where(work_order.c.public_id.in_(public_ids[i:i + 500]))
            .order_by(work_order_event.c.order_id, work_order_event.c.seq)
        ).all()
        for r in rows:
            out[r.public_id].append(_event(r))
    return out


def reporters(session: Session, ids_: Iterable[int | None]) -> dict[int, tuple[str | None, str | None]]:
    """Reporters' (name, phone) by key."""
    wanted = {i for i in ids_ if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(reporter_t).where(reporter_t.c.id.in_(wanted))).all()
    return {r.id: (r.name, r.phone) for r in rows}


_DUPLICATE_CANDIDATES = select(work_order.c.public_id, work_order.c.lon, work_order.c.lat).where(
    work_order.c.category == bindparam("category"),
    work_order.c.status.in_(sorted(lifecycle.OPEN | {"suspended"})),
    work_order.c.created_at >= bindparam("since", type_=work_order.c.created_at.type),
    work_order.c.created_at <= bindparam("until", type_=work_order.c.created_at.type),
    work_order.c.master_id.is_(None),
    work_order.c.lon.between(bindparam("x0"), bindparam("x1")),
    work_order.c.lat.between(bindparam("y0"), bindparam("y1")),
)


def duplicate_candidates(session: Session, category: str, since: datetime, until: datetime,
                         bbox: tuple[float, float, float, float]) -> list[Row]:
    """Open master orders of `category` created in [since, until] inside the box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = bbox
    return session.execute(_DUPLICATE_CANDIDATES, {"category": category, "since": since, "until": until,
                                                   "x0": x0, "x1": x1, "y0": y0, "y1": y1}).all()


def followers(session: Session, master_public_id: str) -> list[Row]:
    """The duplicates merged into a master that still wait for its outcome."""
    return session.execute(
        select(work_order).where(work_order.c.master_id == master_public_id, work_order.c.status == "merged")
        .order_by(work_order.c.id)
    ).all()


def open_with_external_ref(session: Session, ref: str) -> str | None:
    """The newest order carrying `ref` that is not done with (an alarm's order), if any."""
    return session.execute(
        select(work_order.c.public_id)
        .where(work_order.c.external_ref == ref, work_order.c.status.not_in(sorted(lifecycle.DONE)))
        .order_by(work_order.c.id.desc()).limit(1)
    ).scalar()


def due_for_timer(session: Session, now: datetime) -> list[Row]:
    """Open orders whose warning or deadline has passed without their flag raised, by key.
    On PostgreSQL, rows another transaction holds are skipped (see the module docstring)."""
    q = select(work_order).where(
        work_order.c.status.in_(sorted(lifecycle.OPEN)),
        or_((work_order.c.warn_at <= now) & (work_order.c.flag == "ok"),
            (work_order.c.due_at <= now) & (work_order.c.flag != "overdue")),
    ).order_by(work_order.c.id)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return session.execute(q).all()


LISTED = ("source", "channel", "category", "severity", "status", "department", "street_code", "community_code",
          "grid_code", "lon", "lat", "address", "description", "master_id", "external_ref", "escalation_level",
          "flag", "returns_count", "reopen_count", "created_at", "updated_at", "due_at", "warn_at", "resolved_at",
          "closed_at", "on_time", "actually_resolved", "satisfaction", "condition_cleared_at",
          "id", "public_id", "photos", "reporter_id", "resolution_working_s", "resolution_s")
# What a listing reads: only the columns an Order shows (half the row; the rest is bookkeeping).
_LISTED = [work_order.c[name] for name in LISTED]
FILTERABLE = ("source", "channel", "category", "severity", "status", "department", "street_code",
              "community_code", "grid_code", "flag", "master_id")


def listing(session: Session, *, visible: Mapping[str, str] | None, filters: Mapping[str, Any],
            created_from: datetime | None, created_to: datetime | None, before_id: int | None, limit: int) -> list[Row]:
    """Up to `limit` rows of a listing, newest first (by key, below `before_id`).
    `visible`: None for every order, else column → value, any of which makes an order visible."""
    q = select(*_LISTED)
    if visible is not None:
        q = q.where(or_(*[work_order.c[col] == value for col, value in visible.items()]))
    for name, value in filters.items():
        if isinstance(value, (list, tuple, set, frozenset)):
            q = q.where(work_order.c[name].in_(list(value)))
        elif value is not None:
            q = q.where(work_order.c[name] == value)
    if created_from:
        q = q.where(work_order.c.created_at >= created_from)
    if created_to:
        q = q.where(work_order.c.created_at < created_to)
    if before_id is not None:
        q = q.where(work_order.c.id < before_id)
    return session.execute(q.order_by(work_order.c.id.desc()).limit(limit)).all()


# catalogue field of the `work_orders` dataset → column (the order's street code is `street`)
DATASET_COLUMNS = {"order_id": work_order.c.public_id, "source": work_order.c.source,
                   "category": work_order.c.category, "street": work_order.c.street_code,
                   "state": work_order.c.status, "reporter_name": reporter_t.c.name,
                   "reporter_phone": reporter_t.c.phone}


def dataset_rows(session: Session, subject_ids: Sequence[str] | None, filters: Mapping[str, str] | None,
                 limit: int) -> list[dict[str, Any]]:
    """Records of the `work_orders` dataset (one per order, newest first), as field → value."""
    q = select(*[c.label(name) for name, c in DATASET_COLUMNS.items()]).select_from(
        work_order.outerjoin(reporter_t, reporter_t.c.id == work_order.c.reporter_id))
    if subject_ids:
        q = q.where(work_order.c.public_id.in_(list(subject_ids)))
    for name, value in (filters or {}).items():
        q = q.where(DATASET_COLUMNS[name] == str(value))
    return [dict(r._mapping) for r in session.execute(q.order_by(work_order.c.id.desc()).limit(limit)).all()]


def last_change(session: Session):
    """The latest change of any order (the `work_orders` dataset's freshness), or None."""
    return session.execute(select(func.max(work_order.c.updated_at))).scalar()
