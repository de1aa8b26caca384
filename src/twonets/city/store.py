"""Persistence of work orders: the projection row and its event rows, written together."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from twonets.city.lifecycle import Event, OrderState
from twonets.city.tables import work_order, work_order_event
from twonets.core.errors import NotFound
from twonets.city.events import OrderChanged
from twonets.core.events import queue as queue_event

STATE_FIELDS = tuple(OrderState.__dataclass_fields__)


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


def load(session: Session, public_id: str, lock: bool = False):
    q = select(work_order).where(work_order.c.public_id == public_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    row = session.execute(q).first()
    if row is None:
        raise NotFound(f"No work order {public_id}.")
    return row


def save(session: Session, order_id: int, s: OrderState, events: list[Event], first_seq: int) -> None:
    session.execute(update(work_order).where(work_order.c.id == order_id).values(**values(s)))
    session.execute(insert(work_order_event), [event_row(order_id, first_seq + i, e) for i, e in enumerate(events)])
    for e in events:
        queue_event(session, OrderChanged(s.public_id, e.action, e.to_status, s.department,
                                            e.at.isoformat(), s.source, s.category))


def events_of(session: Session, order_id: int) -> list[Event]:
    rows = session.execute(
        select(work_order_event).where(work_order_event.c.order_id == order_id).order_by(work_order_event.c.seq)
    ).all()
    return [Event(r.action, r.at, r.actor, r.from_status, r.to_status, r.reason, r.data) for r in rows]


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
            out[r.public_id].append(Event(r.action, r.at, r.actor, r.from_status, r.to_status, r.reason, r.data))
    return out
