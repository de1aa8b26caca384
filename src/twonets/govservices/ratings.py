"""The national 好差评 rating: after each finished application the applicant rates the service
on five levels (1 very poor … 5 very good) with an optional comment. A poor rating (1 or 2)
opens a follow-up for the department, closed with a note (整改反馈).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.core.i18n import Msg
from twonets.data import audit
from twonets.govservices import applications
from twonets.govservices.lifecycle import Event
from twonets.govservices.tables import svc_application, svc_rating

LEVELS = {1: ("非常不满意", "very poor"), 2: ("不满意", "poor"), 3: ("基本满意", "fair"), 4: ("满意", "good"), 5: ("非常满意", "very good")}
POOR = (1, 2)


def _rating(row) -> dict[str, Any]:
    return {
        "application": row.public_id,
        "matter": row.matter,
        "department": row.department,
        "level": row.level,
        "label_zh": LEVELS[row.level][0],
        "label_en": LEVELS[row.level][1],
        "comment": row.comment,
        "at": audit.ts(row.at),
        "follow_up": row.follow_up,
        "follow_up_note": row.follow_up_note,
    }


_SELECT = select(svc_rating, svc_application.c.public_id).join(svc_application, svc_application.c.id == svc_rating.c.application_id)


def rate(session: Session, actor: Actor, app_id: str, *, level: int, comment: str | None = None, at: datetime | None = None) -> dict[str, Any]:
    at = at or utcnow()
    row = applications.get_row(session, actor, app_id)
    if not applications._is_applicant(session, actor, row) and actor.id != row.staff:
        raise Forbidden(Msg("only the applicant rates the service"))
    if level not in LEVELS:
        raise InvalidInput(Msg("a rating is 1 to 5"), errors=[{"field": "level", "message": Msg("1..5")}])
    comment = (comment or "").strip() or None
    if level in POOR and not comment:
        raise InvalidInput(Msg("say what went wrong: a poor rating opens a follow-up"), errors=[{"field": "comment", "message": Msg("required for 1 or 2")}])
    applications._record(session, row, Event("rate", at, actor.label, comment, {"level": level}))
    session.execute(
        insert(svc_rating).values(
            application_id=row.id, matter=row.matter, department=row.department, level=level, comment=comment, at=at,
            follow_up="open" if level in POOR else "none",
        )
    )
    return _rating(session.execute(_SELECT.where(svc_rating.c.application_id == row.id)).one())


def follow_ups(session: Session, actor: Actor, *, state: str = "open", limit: int = 50, cursor: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
    if not actor.department and not actor.has("administrator"):
        raise Forbidden(Msg("follow-ups belong to a department"))
    stmt = _SELECT.where(svc_rating.c.follow_up == state).order_by(svc_rating.c.id).limit(limit + 1)
    if not actor.has("administrator"):
        stmt = stmt.where(svc_rating.c.department == actor.department)
    if cursor:
        stmt = stmt.where(svc_rating.c.id > cursor)
    rows = list(session.execute(stmt))
    return [_rating(r) for r in rows[:limit]], (rows[limit - 1].id if len(rows) > limit else None)


def close_follow_up(session: Session, actor: Actor, app_id: str, *, note: str, at: datetime | None = None) -> dict[str, Any]:
    at = at or utcnow()
    row = applications.get_row(session, actor, app_id)
    if not (actor.has("administrator") or (actor.has("reviewer", "department_handler") and actor.department == row.department)):
        raise Forbidden(Msg("the department closes its follow-ups"))
    r = session.execute(_SELECT.where(svc_rating.c.application_id == row.id)).first()
    if r is None or r.follow_up != "open":
        raise Conflict(Msg("there is no open follow-up for this application")) if r else NotFound(Msg("this application has no rating"))
    if len((note or "").strip()) < 2:
        raise InvalidInput(Msg("say what was done"), errors=[{"field": "note", "message": Msg("required")}])
    session.execute(
        update(svc_rating).where(svc_rating.c.id == r.id).values(follow_up="closed", follow_up_note=note.strip(), follow_up_by=actor.label, follow_up_at=at)
    )
    audit.append(session, "decision", actor, "rating.follow_up", app_id, {"department": row.department}, at=at)
    return _rating(session.execute(_SELECT.where(svc_rating.c.application_id == row.id)).one())
