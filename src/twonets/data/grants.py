"""Grants: what a department may read of another's dataset and until when; listing, checking and revoking them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.core.i18n import Msg
from twonets.data import audit, catalogue
from twonets.data.models import _iso
from twonets.data.tables import data_dataset, data_grant, data_share_request


@dataclass(frozen=True)
class Grant:
    id: str
    request_id: str
    dataset: str
    owner_department: str
    department: str
    fields: list[str]
    unmasked: bool
    purpose: str
    valid_from: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.valid_from <= now < self.expires_at

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        now = now or utcnow()
        return {
            "id": self.id,
            "request_id": self.request_id,
            "dataset": self.dataset,
            "owner_department": self.owner_department,
            "department": self.department,
            "fields": self.fields,
            "unmasked": self.unmasked,
            "purpose": self.purpose,
            "valid_from": _iso(self.valid_from),
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
            "revoked_reason": self.revoked_reason,
            "active": self.active(now),
        }


# --- queries ------------------------------------------------------------------------------

_R, _D, _G = data_share_request, data_dataset, data_grant


def _grant_stmt():
    return select(
        _G, _D.c.code.label("dataset_code"), _D.c.owner_department, _R.c.public_id.label("request_public_id")
    ).join(_D, _D.c.id == _G.c.dataset_id).join(_R, _R.c.id == _G.c.request_id)


def _grant(row) -> Grant:
    return Grant(
        id=row.public_id,
        request_id=row.request_public_id,
        dataset=row.dataset_code,
        owner_department=row.owner_department,
        department=row.department,
        fields=list(row.fields),
        unmasked=bool(row.unmasked),
        purpose=row.purpose,
        valid_from=row.valid_from,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_reason=row.revoked_reason,
    )


def _involved(actor: Actor, owner: str, department: str) -> bool:
    if actor.has("administrator", "system"):
        return True
    return actor.department is not None and actor.department in (owner, department) and catalogue.is_staff(actor)


def get_grant(session: Session, actor: Actor, grant_id: str) -> Grant:
    row = session.execute(_grant_stmt().where(_G.c.public_id == grant_id)).first()
    if row is None or not _involved(actor, row.owner_department, row.department):
        raise NotFound(Msg("no grant {grant_id}", grant_id=grant_id))
    return _grant(row)


def list_grants(
    session: Session, actor: Actor, *, active_only: bool = False, limit: int = 50, cursor: str | None = None
) -> tuple[list[Grant], str | None]:
    stmt = _grant_stmt().order_by(_G.c.public_id.desc()).limit(limit + 1)
    if not actor.has("administrator", "system"):
        if not catalogue.is_staff(actor) or not actor.department:
            raise Forbidden(Msg("only department staff see grants"))
        stmt = stmt.where(or_(_D.c.owner_department == actor.department, _G.c.department == actor.department))
    if active_only:
        now = utcnow()
        stmt = stmt.where(_G.c.revoked_at.is_(None), _G.c.valid_from <= now, _G.c.expires_at > now)
    if cursor:
        stmt = stmt.where(_G.c.public_id < cursor)
    items = [_grant(r) for r in session.execute(stmt)]
    nxt = items[limit - 1].id if len(items) > limit else None
    return items[:limit], nxt


_ACTIVE_GRANTS = select(_G.c.public_id, _G.c.fields, _G.c.unmasked).where(
    _G.c.dataset_id == bindparam("dataset_id"),
    _G.c.department == bindparam("department"),
    _G.c.revoked_at.is_(None),
    _G.c.valid_from <= bindparam("now", type_=_G.c.valid_from.type),
    _G.c.expires_at > bindparam("now", type_=_G.c.expires_at.type),
)


def active_grants(session: Session, dataset_id: int, department: str, now: datetime) -> list[tuple[str, list[str], bool]]:
    """(grant id, fields, unmasked) of the grants a department holds on a dataset right now."""
    rows = session.execute(_ACTIVE_GRANTS, {"dataset_id": dataset_id, "department": department, "now": now})
    return [(r[0], list(r[1]), bool(r[2])) for r in rows]


# --- commands -----------------------------------------------------------------------------


def end_grants(session: Session, request_pk: int, request_id: str, reason: str, at: datetime) -> list[str]:
    """Revoke approved request `request_pk` and end every grant it produced; their ids.

    The request's state moves by compare-and-set, as the first write of the transaction (see
    `share_requests._settle`): of racing revocations one wins, the others get Conflict."""
    done = session.execute(update(_R).where(_R.c.id == request_pk, _R.c.status == "approved").values(status="revoked"))
    if done.rowcount != 1:
        now = session.execute(select(_R.c.status).where(_R.c.id == request_pk)).scalar()
        raise Conflict(Msg("request {request_id} is {now}, not approved", request_id=request_id, now=now), state=now)
    live = (_G.c.request_id == request_pk, _G.c.revoked_at.is_(None))
    ended = list(session.execute(select(_G.c.public_id).where(*live).order_by(_G.c.public_id)).scalars())
    session.execute(update(_G).where(*live).values(revoked_at=at, revoked_reason=reason))
    return ended


def revoke_grant(session: Session, actor: Actor, grant_id: str, *, reason: str, at: datetime | None = None) -> Grant:
    """Revoke a grant: its request is revoked too, with every grant it produced."""
    at = at or utcnow()
    grant = get_grant(session, actor, grant_id)
    if not (actor.has("system") or (actor.has("data_officer") and actor.department == grant.owner_department)):
        raise Forbidden(Msg("only the owner department's data officers revoke its grants"))
    if grant.revoked_at is not None:
        raise Conflict(Msg("grant {grant_id} is already revoked", grant_id=grant_id))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(Msg("a revocation states its reason"), errors=[{"field": "reason", "message": Msg("required")}])
    request_pk = session.execute(select(_G.c.request_id).where(_G.c.public_id == grant_id)).scalar_one()
    ended = end_grants(session, request_pk, grant.request_id, reason, at)
    audit.append(
        session, "decision", actor, "grant.revoke", grant_id,
        {"dataset": grant.dataset, "request": grant.request_id, "grants": ended, "reason": reason}, at=at,
    )
    return get_grant(session, actor, grant_id)
