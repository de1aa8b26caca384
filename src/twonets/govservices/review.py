"""Review (审核) by the matter's department — its power list: approve (issuing the licence)
or reject with a reason, or ask the applicant for a supplement (the promised clock stops
until they answer with `applications.supplement`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Forbidden, InvalidInput
from twonets.core.i18n import Msg
from twonets.data import audit
from twonets.govservices import lifecycle, matters, prefill
from twonets.govservices.applications import Application, _app, _issue, _record, get_row
from twonets.govservices.lifecycle import Event


def _reviewer(session: Session, actor: Actor, app_id: str):
    row = get_row(session, actor, app_id)
    if actor.has("system"):
        return row
    if not actor.has("reviewer") or actor.department != row.department:
        raise Forbidden(Msg("only reviewers of {department} decide its matters (its power list)", department=row.department))
    return row


def review(
    session: Session, actor: Actor, app_id: str, *, approve: bool, reason: str, at: datetime | None = None
) -> Application:
    """A reviewer of the matter's department approves (issuing the licence) or rejects."""
    at = at or utcnow()
    row = _reviewer(session, actor, app_id)
    lifecycle.check(row.state, "decide")
    reason = (reason or "").strip()
    if not approve and len(reason) < 2:
        raise InvalidInput(Msg("a rejection states its reason"), errors=[{"field": "reason", "message": Msg("required")}])
    matter = matters.get(session, row.matter)
    outcome = "approve" if approve else "reject"
    audit.append(session, "decision", actor, "application.review", app_id, {"matter": matter.code, "outcome": outcome, "reason": reason}, at=at)
    row = _record(session, row, Event("decide", at, actor.label, reason or "审核通过", {"outcome": outcome, "instant": False}))
    if approve and matter.licence:
        facts = prefill.facts(matter, row.applicant_kind, row.prefill or {}, row.form or {}, row.materials or {}, at)
        row = _issue(session, matter, row, facts, at)
    return _app(row)


def request_supplement(session: Session, actor: Actor, app_id: str, *, reason: str, at: datetime | None = None) -> Application:
    """Ask the applicant for more; the promised clock stops until they answer."""
    at = at or utcnow()
    row = _reviewer(session, actor, app_id)
    lifecycle.check(row.state, "request_supplement")
    if len((reason or "").strip()) < 2:
        raise InvalidInput(Msg("say what is missing"), errors=[{"field": "reason", "message": Msg("required")}])
    return _app(_record(session, row, Event("request_supplement", at, actor.label, reason.strip(), {})))
