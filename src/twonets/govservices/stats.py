"""Figures of the services and the review queues.

`stats`: applications per day and channel, instant-approval share, zero-submission share
(the applicant uploaded nothing), average processing time in working days, on-time share and
the rating distribution, overall and by matter or department. `queue`: a department's
applications in review with their promised deadline and warning/overdue flag.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import local_date, local_midnight, utcnow
from twonets.core.errors import Forbidden, InvalidInput
from twonets.core.i18n import Msg
from twonets.data import audit
from twonets.govservices import applications, lifecycle
from twonets.govservices.tables import svc_application, svc_rating

_A = svc_application


def count_applications(session: Session) -> int:
    """How many applications are stored (all states, all channels)."""
    return session.execute(select(func.count()).select_from(svc_application)).scalar_one()


def _figures(rows: list) -> dict[str, Any]:
    submitted = [r for r in rows if r.submitted_at is not None]
    decided = [r for r in rows if r.outcome is not None]
    finished = [r for r in decided if r.working_days is not None]
    n = len(submitted)
    return {
        "applications": len(rows),
        "submitted": n,
        "decided": len(decided),
        "approved": sum(1 for r in decided if r.outcome == "approve"),
        "rejected": sum(1 for r in decided if r.outcome == "reject"),
        "in_review": sum(1 for r in rows if r.state in ("in_review", "supplement_requested")),
        "instant_share": round(sum(1 for r in decided if r.instant) / len(decided), 4) if decided else None,
        "zero_submission_share": round(sum(1 for r in submitted if r.uploads == 0) / n, 4) if n else None,
        "avg_working_days": round(sum(r.working_days for r in finished) / len(finished), 4) if finished else None,
        "on_time_share": round(sum(1 for r in finished if r.on_time) / len(finished), 4) if finished else None,
    }


def stats(
    session: Session, *, since: date | None = None, until: date | None = None, by: str | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Figures over applications created on local days [since, until] (default: last 30 days)."""
    now = now or utcnow()
    until = until or local_date(now)
    since = since or until - timedelta(days=29)
    for name, value in (("since", since), ("until", until)):
        if not (date(2000, 1, 1) <= value <= date(2100, 12, 31)):
            raise InvalidInput(Msg("{name} must lie between 2000 and 2100", name=name), errors=[{"field": name, "message": Msg("out of range")}])
    if since > until:
        raise InvalidInput(Msg("since is after until"), errors=[{"field": "since", "message": Msg("after until")}])
    if by not in (None, "matter", "department"):
        raise InvalidInput(Msg("group by matter or department"), errors=[{"field": "by", "message": Msg("matter | department")}])
    start, end = local_midnight(since), local_midnight(until + timedelta(days=1))
    rows = list(session.execute(
        select(_A.c.matter, _A.c.department, _A.c.channel, _A.c.state, _A.c.created_at, _A.c.submitted_at, _A.c.outcome,
               _A.c.instant, _A.c.uploads, _A.c.working_days, _A.c.on_time, _A.c.rating)
        .where(_A.c.created_at >= start, _A.c.created_at < end)
    ))
    per_day: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        per_day[local_date(r.created_at).isoformat()][r.channel] += 1
    ratings = Counter(
        level for (level,) in session.execute(
            select(svc_rating.c.level).join(_A, _A.c.id == svc_rating.c.application_id).where(_A.c.created_at >= start, _A.c.created_at < end)
        )
    )
    out: dict[str, Any] = {
        "since": since.isoformat(),
        "until": until.isoformat(),
        **_figures(rows),
        "per_day": [{"day": d, "online": c.get("online", 0), "hall": c.get("hall", 0), "total": sum(c.values())} for d, c in sorted(per_day.items())],
        "ratings": {str(k): ratings.get(k, 0) for k in range(1, 6)},
        "poor_ratings": ratings.get(1, 0) + ratings.get(2, 0),
    }
    if by:
        groups: dict[str, list] = defaultdict(list)
        for r in rows:
            groups[getattr(r, by)].append(r)
        out["by"] = by
        out["groups"] = [{by: k, **_figures(v)} for k, v in sorted(groups.items())]
    return out


def queue(
    session: Session, actor: Actor, *, department: str | None = None, flag: str | None = None, limit: int = 50,
    cursor: str | None = None, now: datetime | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A department's applications in review (or waiting for a supplement), oldest first,
    each with its promised deadline and flag; reviewers see their own department's queue
    (its power list)."""
    now = now or utcnow()
    if actor.has("administrator", "system"):
        department = department or actor.department
    else:
        if not actor.has("reviewer", "department_handler") or not actor.department:
            raise Forbidden(Msg("the review queue is for a department's reviewers"))
        if department and department != actor.department:
            raise Forbidden(Msg("reviewers see only their own department's queue"))
        department = actor.department
    if not department:
        raise InvalidInput(Msg("name the department"), errors=[{"field": "department", "message": Msg("required")}])
    stmt = select(_A).where(_A.c.department == department, _A.c.state.in_(("in_review", "supplement_requested"))).order_by(_A.c.public_id)
    if cursor:
        stmt = stmt.where(_A.c.public_id > cursor)
    items = []
    for r in session.execute(stmt):
        app = applications._app(r)
        f = lifecycle.flag(app.state, now)
        if flag and f != flag:
            continue
        items.append({
            "id": app.id, "matter": app.matter, "state": app.state.state, "channel": app.channel,
            "applicant_id": app.applicant_id, "submitted_at": audit.ts(app.state.submitted_at) if app.state.submitted_at else None,
            "due_at": audit.ts(app.state.due_at) if app.state.due_at else None, "flag": f,
            "clock_running": app.state.clock_started_at is not None, "reason": app.state.reason,
            "prefilled_sources": {k: v.get("source") for k, v in (app.prefill.get("fields") or {}).items()},
            "uploads": app.uploads,
        })
        if len(items) > limit:
            break
    page = items[:limit]
    return page, (page[-1]["id"] if len(items) > limit else None)
