"""Benefits without application (免申即享), the person's and the department's side: a benefit with
its facts and events, one-tap confirmation, declining, stopping, the lists; the state machine in
`benefit_lifecycle.py` (the stored state is the replay of the events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import events
from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Forbidden
from twonets.data import audit
from twonets.govservices import benefit_lifecycle as lifecycle
from twonets.govservices.benefit_tables import svc_benefit, svc_benefit_event
from twonets.govservices.events import BenefitChanged


def _row(session: Session, public_id: str):
    from twonets.core.errors import NotFound

    row = session.execute(select(svc_benefit).where(svc_benefit.c.public_id == public_id)).first()
    if row is None:
        raise NotFound(f"no benefit {public_id}")
    return row


def _may_see(session: Session, actor: Actor, row) -> bool:
    from twonets.data import identity

    if actor.has("administrator", "system") or (actor.department == row.department and actor.has("reviewer", "department_handler")):
        return True
    return actor.has("citizen", "company_agent") and identity.subject_of(session, actor) == row.subject_id


def get(session: Session, actor: Actor, public_id: str) -> dict[str, Any]:
    from twonets.core.errors import NotFound

    row = _row(session, public_id)
    if not _may_see(session, actor, row):
        raise NotFound(f"no benefit {public_id}")  # hidden, not merely forbidden
    evs = session.execute(select(svc_benefit_event).where(svc_benefit_event.c.benefit_id == row.id)
                          .order_by(svc_benefit_event.c.seq)).all()
    return _as_dict(row) | {"events": [
        {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "from_state": e.from_state,
         "to_state": e.to_state, "reason": e.reason} for e in evs]}


def _as_dict(row) -> dict[str, Any]:
    from twonets.govservices.policies import get as policy_of

    p = policy_of(row.policy)
    return {
        "id": row.public_id, "policy": row.policy, "policy_version": row.policy_version, "name_zh": p.name_zh,
        "name_en": p.name_en, "department": row.department, "legal_basis": p.legal_basis, "subject_kind": row.subject_kind,
        "state": row.state, "allowed": lifecycle.allowed_now(row.state), "amount": row.amount, "unit": row.unit,
        "per": row.per, "trigger": row.trigger, "facts": row.facts, "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def _transition(session: Session, actor: Actor, public_id: str, action: str, reason: str | None, at: datetime | None) -> dict:
    from sqlalchemy import update

    from twonets.core.errors import Conflict, NotFound

    at = at or utcnow()
    row = _row(session, public_id)
    if not _may_see(session, actor, row):
        raise NotFound(f"no benefit {public_id}")
    if action in ("confirm", "decline") and not actor.has("citizen", "company_agent"):
        raise Forbidden("only the person the benefit is for confirms or declines it")
    if action == "stop" and actor.has("citizen", "company_agent"):
        raise Forbidden("payments are stopped by the department")
    to_state = lifecycle.check(row.state, action)
    done = session.execute(update(svc_benefit).where(svc_benefit.c.id == row.id, svc_benefit.c.version == row.version)
                           .values(state=to_state, version=row.version + 1, updated_at=at)).rowcount
    if not done:
        raise Conflict(f"the benefit changed meanwhile; it is {_row(session, public_id).state} now")
    session.execute(svc_benefit_event.insert().values(
        benefit_id=row.id, seq=row.version + 1, at=at, actor=actor.label, action=action, from_state=row.state,
        to_state=to_state, reason=reason, data={}))
    audit.append(session, "decision", actor, f"benefit.{action}", public_id, {"policy": row.policy, "reason": reason}, at=at)
    events.queue(session, BenefitChanged(id=public_id, action=action, state=to_state, policy=row.policy))
    return get(session, actor, public_id)


def confirm(session: Session, actor: Actor, public_id: str, *, at: datetime | None = None) -> dict:
    """One tap: the citizen takes the offered benefit."""
    return _transition(session, actor, public_id, "confirm", "confirmed by the citizen", at)


def decline(session: Session, actor: Actor, public_id: str, *, reason: str | None = None, at: datetime | None = None) -> dict:
    """The citizen declines an offer or a grant; it is never offered again."""
    return _transition(session, actor, public_id, "decline", reason or "declined by the citizen", at)


def stop(session: Session, actor: Actor, public_id: str, *, reason: str, at: datetime | None = None) -> dict:
    return _transition(session, actor, public_id, "stop", reason, at)


def mine(session: Session, actor: Actor) -> list[dict[str, Any]]:
    from twonets.data import identity

    subject = identity.subject_of(session, actor)
    if subject is None:
        raise Forbidden("your account is not linked to a person or company")
    rows = session.execute(select(svc_benefit).where(svc_benefit.c.subject_id == subject).order_by(svc_benefit.c.id)).all()
    return [_as_dict(r) for r in rows]


def list_benefits(session: Session, actor: Actor, *, policy: str | None = None, state: str | None = None,
                  limit: int = 100, after: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
    if not actor.has("administrator", "reviewer", "department_handler"):
        raise Forbidden("benefits are listed for the departments that grant them")
    stmt = select(svc_benefit).order_by(svc_benefit.c.id).limit(limit + 1)
    if not actor.has("administrator"):
        stmt = stmt.where(svc_benefit.c.department == actor.department)
    if policy:
        stmt = stmt.where(svc_benefit.c.policy == policy)
    if state:
        stmt = stmt.where(svc_benefit.c.state == state)
    if after is not None:
        stmt = stmt.where(svc_benefit.c.id > after)
    rows = session.execute(stmt).all()
    from twonets.data.masking import mask

    items = [_as_dict(r) | {"subject_id": mask(r.subject_id, "partial")} for r in rows[:limit]]
    return items, (rows[limit - 1].id if len(rows) > limit else None)


def replay_state(session: Session, public_id: str) -> str:
    row = _row(session, public_id)
    actions = session.execute(select(svc_benefit_event.c.action).where(svc_benefit_event.c.benefit_id == row.id)
                              .order_by(svc_benefit_event.c.seq)).scalars()
    return lifecycle.replay(actions)
