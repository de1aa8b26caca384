"""The service hall's window (综合窗口, the offline channel): queue numbers, identifying the
person at the window, and the hall's figures of the day.

A person takes a number (`take_ticket`); a clerk calls the next one to their window
(`call_next`: the oldest waiting number of the hall today, or — nobody waiting — a new number
for the walk-in standing there), identifies the person by their ID number (`identify`: a read of
the population registry through the access service, audited with its purpose), and applies on
their behalf with `applications.start/upload/submit` (channel `hall`, the clerk recorded as
staff, the person's consent recorded). `finish` closes the number with the application made.

The hall is the clerk's department (the district hall is run by the big data centre, each
street's community service centre by its street office). Numbers restart each local day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import local_date, local_midnight, utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.data import access, tokens
from twonets.govservices.registries import GRANT_PURPOSE, ensure_grants
from twonets.govservices.tables import svc_application, svc_hall_ticket

CLERK_ROLES = frozenset({"hall_clerk"})
# Identification at the window reads the population registry under the hall's grant (the same
# statutory purpose as prefill), with the particulars of the window.
IDENTIFY_PURPOSE = f"{GRANT_PURPOSE} — 综合窗口身份核验 identity check of the applicant at a service-hall window"
ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
_T = svc_hall_ticket


@dataclass(frozen=True)
class Ticket:
    number: int
    day: str
    status: str
    issued_at: datetime
    called_at: datetime | None
    clerk: str | None
    window: str | None
    finished_at: datetime | None
    application: str | None

    @property
    def label(self) -> str:
        """How the number is shown and called: A001, A002 …"""
        return f"A{self.number:03d}"


@dataclass(frozen=True)
class Person:
    subject_id: str
    name: str | None
    audit_seq: int


def _clerk(actor: Actor) -> str:
    if not actor.has(*CLERK_ROLES) or not actor.department:
        raise Forbidden("the hall window is for service-hall clerks")
    return actor.department


def _ticket(row) -> Ticket:
    return Ticket(row.number, row.day, row.status, row.issued_at, row.called_at, row.clerk, row.window,
                  row.finished_at, row.application)


def take_ticket(session: Session, hall: str, *, at: datetime | None = None) -> Ticket:
    """A new number at `hall` (the kiosk at the entrance), waiting to be called."""
    at = at or utcnow()
    day = local_date(at).isoformat()
    for _ in range(5):  # two kiosks taking a number at once: the loser takes the next one
        last = session.execute(select(func.max(_T.c.number)).where(_T.c.hall == hall, _T.c.day == day)).scalar()
        number = (last or 0) + 1
        try:
            with session.begin_nested():
                session.execute(insert(_T).values(hall=hall, day=day, number=number, status="waiting", issued_at=at))
            break
        except IntegrityError:
            continue
    else:
        raise Conflict("the hall's numbers are being taken too fast; try again")
    return _ticket(session.execute(select(_T).where(_T.c.hall == hall, _T.c.day == day, _T.c.number == number)).one())


def current(session: Session, actor: Actor, *, at: datetime | None = None) -> Ticket | None:
    """The number this clerk has called and not finished yet today."""
    hall = _clerk(actor)
    day = local_date(at or utcnow()).isoformat()
    row = session.execute(select(_T).where(_T.c.hall == hall, _T.c.day == day, _T.c.status == "called",
                                           _T.c.clerk == actor.label).order_by(_T.c.number.desc())).first()
    return _ticket(row) if row else None


def finish(session: Session, actor: Actor, number: int, *, application: str | None = None,
           at: datetime | None = None) -> Ticket:
    """Close a number this clerk called (with the application made for the person, if any)."""
    at = at or utcnow()
    hall = _clerk(actor)
    day = local_date(at).isoformat()
    done = session.execute(
        update(_T).where(_T.c.hall == hall, _T.c.day == day, _T.c.number == number, _T.c.status == "called",
                         _T.c.clerk == actor.label)
        .values(status="done", finished_at=at, application=application)
    )
    if done.rowcount != 1:
        raise NotFound(f"number A{number:03d} is not called to your window")
    return _ticket(session.execute(select(_T).where(_T.c.hall == hall, _T.c.day == day, _T.c.number == number)).one())


def attach(session: Session, actor: Actor, application: str, *, at: datetime | None = None) -> Ticket | None:
    """Note on the clerk's current number the application made for the person (None when no
    number is called to the window)."""
    ticket = current(session, actor, at=at)
    if ticket is None:
        return None
    session.execute(update(_T).where(_T.c.hall == actor.department, _T.c.day == ticket.day, _T.c.number == ticket.number)
                    .values(application=application))
    return current(session, actor, at=at)


def call_next(session: Session, actor: Actor, *, window: str = "1", at: datetime | None = None) -> Ticket:
    """Finish the clerk's current number and call the hall's oldest waiting one to `window`;
    with nobody waiting, the walk-in at the window gets a new number, called at once."""
    at = at or utcnow()
    hall = _clerk(actor)
    window = (window or "1").strip()[:20] or "1"
    now_serving = current(session, actor, at=at)
    if now_serving is not None:
        finish(session, actor, now_serving.number, application=now_serving.application, at=at)
    day = local_date(at).isoformat()
    for _ in range(20):  # another window may call the same number: it stays theirs, take the next
        number = session.execute(select(func.min(_T.c.number)).where(_T.c.hall == hall, _T.c.day == day,
                                                                     _T.c.status == "waiting")).scalar()
        if number is None:
            number = take_ticket(session, hall, at=at).number
        called = session.execute(
            update(_T).where(_T.c.hall == hall, _T.c.day == day, _T.c.number == number, _T.c.status == "waiting")
            .values(status="called", called_at=at, clerk=actor.label, window=window)
        )
        if called.rowcount == 1:
            return _ticket(session.execute(select(_T).where(_T.c.hall == hall, _T.c.day == day,
                                                            _T.c.number == number)).one())
    raise Conflict("every waiting number was called by another window meanwhile; call again")


def waiting(session: Session, actor: Actor, *, at: datetime | None = None, limit: int = 50) -> list[Ticket]:
    """The hall's numbers waiting to be called, in order."""
    hall = _clerk(actor)
    day = local_date(at or utcnow()).isoformat()
    rows = session.execute(select(_T).where(_T.c.hall == hall, _T.c.day == day, _T.c.status == "waiting")
                           .order_by(_T.c.number).limit(limit))
    return [_ticket(r) for r in rows]


def identify(session: Session, actor: Actor, presented: str, *, at: datetime | None = None) -> Person:
    """The person at the window, by their ID number (居民身份证号) or the code of their QR
    (`tokens.issue_person_code`, shown by their phone): read from the population registry
    through the access service under the hall's grant, audited with the window's purpose."""
    at = at or utcnow()
    hall = _clerk(actor)
    presented = (presented or "").strip()
    subject = None
    if len(presented) > 40:  # a scanned QR: the signed code, not an ID number
        subject = tokens.decode_person_code(presented, at)
        if subject is None:
            raise InvalidInput("the QR code is not valid or has expired: ask the person to open it again, or type the ID number",
                               errors=[{"field": "id_number", "message": "invalid or expired code"}])
        query: dict[str, Any] = {"subject_ids": [subject]}
    else:
        id_number = presented.upper()
        if not ID_NUMBER.match(id_number):
            raise InvalidInput("an ID number has 18 characters: 17 digits and a digit or X",
                               errors=[{"field": "id_number", "message": "18 characters"}])
        query = {"filters": {"id_number": id_number}}

    def read():
        return access.read_records(session, actor, "population", IDENTIFY_PURPOSE, fields=["person_id", "name", "id_number"],
                                   unmasked=True, limit=2, at=at, **query)

    try:
        res = read()
    except access.PurposeMismatch:
        raise
    except Forbidden:  # the hall has no grant on the registry yet: the statutory one, as for prefill
        if not ensure_grants(session, {(hall, "population")}, at=at):
            raise
        res = read()
    if not res.records:
        raise NotFound("no person with this ID number in the population registry")
    person = res.records[0]["data"]
    return Person(str(person["person_id"]), person.get("name"), res.audit_seq)


def today(session: Session, actor: Actor, *, at: datetime | None = None) -> dict[str, Any]:
    """The hall's figures of the local day: numbers taken, waiting, being served and served, the
    mean wait (minutes from taking a number to being called), and the applications made at
    this hall's windows (submitted, decided at once)."""
    at = at or utcnow()
    hall = _clerk(actor)
    day = local_date(at)
    rows = list(session.execute(select(_T.c.status, _T.c.issued_at, _T.c.called_at, _T.c.application)
                                .where(_T.c.hall == hall, _T.c.day == day.isoformat())))
    waits = [(r.called_at - r.issued_at).total_seconds() / 60 for r in rows if r.called_at is not None]
    A = svc_application
    start = local_midnight(day)
    apps = list(session.execute(
        select(A.c.public_id, A.c.state, A.c.instant, A.c.submitted_at, A.c.staff)
        .where(A.c.channel == "hall", A.c.created_at >= start)
        .where(A.c.public_id.in_(select(_T.c.application).where(_T.c.hall == hall, _T.c.day == day.isoformat(),
                                                                _T.c.application.is_not(None))))
    ))
    return {
        "day": day.isoformat(),
        "taken": len(rows),
        "waiting": sum(1 for r in rows if r.status == "waiting"),
        "serving": sum(1 for r in rows if r.status == "called"),
        "served": sum(1 for r in rows if r.status == "done"),
        "mean_wait_min": round(sum(waits) / len(waits), 1) if waits else None,
        "applications": len(apps),
        "submitted": sum(1 for a in apps if a.submitted_at is not None),
        "instant": sum(1 for a in apps if a.instant),
        "mine": sum(1 for a in apps if a.staff == actor.label),
    }
