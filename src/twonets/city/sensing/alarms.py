"""Alarms (告警): a detector firing, persisted, turned into an `auto` work order.

- fire: a new alarm, attached to the work order of its key (detector:thing) that is not done
  with, or to a new one: `city.orders.open_or_attach_auto_order` decides (source auto, channel
  sensor, the detector's category and severity, the thing's location). Sensing never touches
  the order tables itself;
- repeat (fired again within the cool-down): the last alarm is active again, nothing new;
- clear: the alarm is cleared and the order records it (`clear`, a system action) — the
  department still confirms the resolution.
Alarm changes are published on the in-process topic "alarm" after the unit of work commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from twonets.city import orders
from twonets.city.events import AlarmRaised
from twonets.city.models import OrderCreate
from twonets.city.sensing.definitions import Detector, catalog
from twonets.city.sensing.detectors import State
from twonets.city.sensing.tables import alarm as alarm_t
from twonets.core import ids, pages
from twonets.core.errors import DomainError
from twonets.core.events import queue as queue_event
from twonets.core.logging import get_logger

log = get_logger("twonets.sensing.alarms")
CURSOR = "a"  # the kind of an alarm listing's cursor (core/pages.py)


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


def _order_for(session: Session, detector: Detector, thing, key: str, detail: str, at: datetime) -> str:
    """The open order of this alarm key, or a new auto order (the city's service layer decides)."""
    text = (f"{detector.name_zh}：{thing.name}（{thing.thing_id}）{detail}\n"
            f"{detector.name_en}: {thing.name} ({thing.thing_id}) {detail}").strip()
    data = OrderCreate(
        source="auto", channel="sensor", category=detector.category, severity=detector.severity,
        description=text[:4000], external_ref=key,
        lon=thing.lon, lat=thing.lat,
        grid_code=thing.grid_code if thing.lon is None else None,
        address=None if (thing.lon is not None or thing.grid_code) else thing.name,
    )
    return orders.open_or_attach_auto_order(session, data, at)[0]


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
    order_id = _order_for(session, detector, thing, key, detail, at)
    if repeat and state.alarm_id:
        session.execute(update(alarm_t).where(alarm_t.c.public_id == state.alarm_id).values(
            status="active", last_at=at, cleared_at=None, repeats=alarm_t.c.repeats + 1, value=value,
            detail=detail[:400], order_id=order_id))
        _publish(session, "repeat", state.alarm_id, detector, thing, at, order_id, detail)
        return state
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
        try:
            with session.begin_nested():
                orders.clear_condition(session, row.order_id, at, f"condition cleared: {detail}"[:2000],
                                       alarm=state.alarm_id)
        except DomainError as exc:  # e.g. the order is closed already: the alarm still clears
            log.info("order not marked cleared", order=row.order_id, reason=exc.detail)
    _publish(session, "clear", state.alarm_id, detector, thing, at, row.order_id, detail)
    return state


def list_alarms(session: Session, *, status: str | None = None, detector: str | None = None,
                thing_id: str | None = None, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
    """Newest first."""
    pages.check_limit(limit)
    q = select(alarm_t).order_by(alarm_t.c.id.desc()).limit(limit + 1)
    for col, value in (("status", status), ("detector", detector), ("thing_id", thing_id)):
        if value is not None:
            q = q.where(alarm_t.c[col] == value)
    before = pages.decode_int(cursor, CURSOR)
    if before is not None:
        q = q.where(alarm_t.c.id < before)
    rows = session.execute(q).all()
    items = [{
        "id": r.public_id, "key": r.key, "detector": r.detector, "thing_id": r.thing_id, "status": r.status,
        "severity": r.severity, "category": r.category, "opened_at": r.opened_at.isoformat(),
        "last_at": r.last_at.isoformat(), "cleared_at": r.cleared_at.isoformat() if r.cleared_at else None,
        "repeats": r.repeats, "value": r.value, "detail": r.detail, "order_id": r.order_id,
    } for r in rows[:limit]]
    return {"items": items, "next": pages.next_cursor(rows, limit, CURSOR, lambda r: r.id)}
