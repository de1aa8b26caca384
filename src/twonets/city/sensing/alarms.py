"""Alarms (告警): a detector firing, persisted, turned into an `auto` work order.

- fire: a new alarm; the work order whose external_ref is the alarm key (detector:thing) and
  that is still open gets it attached, otherwise `city.orders.create_order` opens one
  (source auto, channel sensor, the detector's category and severity, the thing's location);
- repeat (fired again within the cool-down): the last alarm is active again, nothing new;
- clear: the alarm is cleared and the order records it (`clear`, a system action) — the
  department still confirms the resolution.
Alarm changes are published on the in-process topic "alarm" after the unit of work commits.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from twonets.city import orders
from twonets.city.models import OrderCreate
from twonets.city.sensing.definitions import Detector, catalog
from twonets.city.sensing.detectors import State
from twonets.city.sensing.tables import alarm as alarm_t
from twonets.city.tables import work_order
from twonets.core import ids
from twonets.core.actor import SYSTEM
from twonets.core.errors import DomainError, InvalidInput
from twonets.city.events import AlarmRaised
from twonets.core.events import queue as queue_event
from twonets.core.logging import get_logger

log = get_logger("twonets.sensing.alarms")
NOT_OPEN = ("resolved", "checked", "closed", "cancelled")


def key_of(detector: str, thing_id: str) -> str:
    return f"{detector}:{thing_id}"


def describe(detector: Detector, thing, values: Mapping[str, float]) -> str:
    ttype = catalog().thing_type(thing.type)
    parts = []
    for name in sorted(detector.attributes()):
        if name in values and ttype is not None:
            spec = ttype.attribute(name)
            parts.append(f"{name}={values[name]:g}{(' ' + spec.unit) if spec and spec.unit else ''}")
    return ", ".join(parts)


def _open_order(session: Session, key: str) -> str | None:
    return session.execute(
        select(work_order.c.public_id).where(work_order.c.external_ref == key, work_order.c.status.not_in(NOT_OPEN))
        .order_by(work_order.c.id.desc()).limit(1)
    ).scalar()


def _create_order(session: Session, detector: Detector, thing, key: str, detail: str, at: datetime) -> str:
    text = (f"{detector.name_zh}：{thing.name}（{thing.thing_id}）{detail}\n"
            f"{detector.name_en}: {thing.name} ({thing.thing_id}) {detail}").strip()
    data = OrderCreate(
        source="auto", channel="sensor", category=detector.category, severity=detector.severity,
        description=text[:4000], external_ref=key,
        lon=thing.lon, lat=thing.lat,
        grid_code=thing.grid_code if thing.lon is None else None,
        address=None if (thing.lon is not None or thing.grid_code) else thing.name,
    )
    return orders.create_order(session, SYSTEM, data, at).id


def _publish(session: Session, kind: str, alarm_id: str, detector: Detector, thing, at: datetime,
             order_id: str | None, detail: str) -> None:
    queue_event(session, AlarmRaised(
        event=kind, id=alarm_id, detector=detector.code, thing_id=thing.thing_id,
        category=detector.category, severity=detector.severity, order_id=order_id,
        at=at.isoformat(), detail=detail, name_zh=detector.name_zh, name_en=detector.name_en,
    ))


def fire(session: Session, detector: Detector, thing, state: State, at: datetime, values: Mapping[str, float],
         repeat: bool = False, detail: str | None = None) -> State:
    """Record a firing (or a repeat within the cool-down) and make sure an open order carries it."""
    key = key_of(detector.code, thing.thing_id)
    if session.get_bind().dialect.name == "postgresql":  # two workers firing the same alarm: one at a time
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
    detail = detail if detail is not None else describe(detector, thing, values)
    value = next((values[a] for a in sorted(detector.attributes()) if a in values), None)
    order_id = _open_order(session, key)
    if repeat and state.alarm_id:
        if order_id is None:
            order_id = _create_order(session, detector, thing, key, detail, at)
        session.execute(update(alarm_t).where(alarm_t.c.public_id == state.alarm_id).values(
            status="active", last_at=at, cleared_at=None, repeats=alarm_t.c.repeats + 1, value=value,
            detail=detail[:400], order_id=order_id))
        _publish(session, "repeat", state.alarm_id, detector, thing, at, order_id, detail)
        return state
    if order_id is None:
        order_id = _create_order(session, detector, thing, key, detail, at)
    alarm_id = ids.next_id(session, "AL", at)
    session.execute(insert(alarm_t).values(
        public_id=alarm_id, key=key, detector=detector.code, thing_id=thing.thing_id, status="active",
        severity=detector.severity, category=detector.category, opened_at=at, last_at=at, cleared_at=None,
        repeats=0, value=value, detail=detail[:400], order_id=order_id))
    _publish(session, "fire", alarm_id, detector, thing, at, order_id, detail)
    return replace(state, alarm_id=alarm_id)


def clear(session: Session, detector: Detector, thing, state: State, at: datetime, values: Mapping[str, float]) -> State:
    """The condition cleared: the alarm says so, and so does its order (if it still can)."""
    if not state.alarm_id:
        return state
    row = session.execute(select(alarm_t.c.order_id, alarm_t.c.status).where(alarm_t.c.public_id == state.alarm_id)).first()
    if row is None or row.status == "cleared":
        return state
    detail = describe(detector, thing, values)
    session.execute(update(alarm_t).where(alarm_t.c.public_id == state.alarm_id).values(
        status="cleared", cleared_at=at, last_at=at))
    if row.order_id:
        updated = session.execute(select(work_order.c.updated_at).where(work_order.c.public_id == row.order_id)).scalar()
        when = max(at, updated) if updated is not None else at
        try:
            with session.begin_nested():
                orders.transition(session, SYSTEM, row.order_id, "clear", f"condition cleared: {detail}"[:2000], at=when,
                                    alarm=state.alarm_id)
        except DomainError as exc:  # e.g. the order is closed already: the alarm still clears
            log.info("order not marked cleared", order=row.order_id, reason=exc.detail)
    _publish(session, "clear", state.alarm_id, detector, thing, at, row.order_id, detail)
    return state


def _cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"a:{pk}".encode()).decode().rstrip("=")


def list_alarms(session: Session, *, status: str | None = None, detector: str | None = None,
                thing_id: str | None = None, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
    """Newest first."""
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500", errors=[{"field": "limit", "message": "out of range"}])
    q = select(alarm_t).order_by(alarm_t.c.id.desc()).limit(limit + 1)
    for col, value in (("status", status), ("detector", detector), ("thing_id", thing_id)):
        if value is not None:
            q = q.where(alarm_t.c[col] == value)
    if cursor:
        try:
            kind, pk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":", 1)
            assert kind == "a"
            q = q.where(alarm_t.c.id < int(pk))
        except Exception:
            raise InvalidInput("the cursor is not valid", errors=[{"field": "cursor", "message": "invalid"}]) from None
    rows = session.execute(q).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{
        "id": r.public_id, "key": r.key, "detector": r.detector, "thing_id": r.thing_id, "status": r.status,
        "severity": r.severity, "category": r.category, "opened_at": r.opened_at.isoformat(),
        "last_at": r.last_at.isoformat(), "cleared_at": r.cleared_at.isoformat() if r.cleared_at else None,
        "repeats": r.repeats, "value": r.value, "detail": r.detail, "order_id": r.order_id,
    } for r in rows]
    return {"items": items, "next": _cursor(rows[-1].id) if more and rows else None}
