"""Sharing requests: a department asks for a dataset (or some fields) for a purpose and period; the owner decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import SYSTEM, Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.core.i18n import Msg
from twonets.core.ids import next_id
from twonets.data import audit, catalogue
from twonets.data.grants import _involved, end_grants
from twonets.data.models import Dataset, _iso
from twonets.data.purpose import check_purpose
from twonets.data.tables import data_dataset, data_grant, data_share_request

REQUEST_ROLES = frozenset({"department_handler", "data_officer"})
MAX_PERIOD = timedelta(days=366)


@dataclass(frozen=True)
class ShareRequest:
    id: str
    dataset: str
    owner_department: str
    department: str
    requested_by: str
    fields: list[str]
    unmasked: bool
    purpose: str
    valid_from: datetime
    valid_until: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    created_at: datetime
    grant_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "dataset": self.dataset,
            "owner_department": self.owner_department,
            "department": self.department,
            "requested_by": self.requested_by,
            "fields": self.fields,
            "unmasked": self.unmasked,
            "purpose": self.purpose,
            "valid_from": _iso(self.valid_from),
            "valid_until": _iso(self.valid_until),
            "status": self.status,
            "decided_by": self.decided_by,
            "decided_at": _iso(self.decided_at),
            "reason": self.reason,
            "created_at": _iso(self.created_at),
            "grant_id": self.grant_id,
        }


# --- queries ------------------------------------------------------------------------------

_R, _D, _G = data_share_request, data_dataset, data_grant


def _request_stmt():
    return (
        select(_R, _D.c.code.label("dataset_code"), _D.c.owner_department, _G.c.public_id.label("grant_public_id"))
        .join(_D, _D.c.id == _R.c.dataset_id)
        .outerjoin(_G, _G.c.request_id == _R.c.id)
    )


def _request(row) -> ShareRequest:
    return ShareRequest(
        id=row.public_id,
        dataset=row.dataset_code,
        owner_department=row.owner_department,
        department=row.department,
        requested_by=row.requested_by,
        fields=list(row.fields),
        unmasked=bool(row.unmasked),
        purpose=row.purpose,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        status=row.status,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        reason=row.reason,
        created_at=row.created_at,
        grant_id=row.grant_public_id,
    )


def get_request(session: Session, actor: Actor, request_id: str) -> ShareRequest:
    row = session.execute(_request_stmt().where(_R.c.public_id == request_id)).first()
    if row is None or not _involved(actor, row.owner_department, row.department):
        raise NotFound(Msg("no sharing request {request_id}", request_id=request_id))  # existence does not leak
    return _request(row)


def list_requests(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    direction: str | None = None,
    dataset: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[ShareRequest], str | None]:
    """Requests the actor's department made (`outgoing`) or received as owner (`incoming`)."""
    stmt = _request_stmt().order_by(_R.c.public_id.desc()).limit(limit + 1)
    if not actor.has("administrator", "system"):
        if not catalogue.is_staff(actor) or not actor.department:
            raise Forbidden(Msg("only department staff see sharing requests"))
        mine = actor.department
        if direction == "incoming":
            stmt = stmt.where(_D.c.owner_department == mine)
        elif direction == "outgoing":
            stmt = stmt.where(_R.c.department == mine)
        else:
            stmt = stmt.where(or_(_D.c.owner_department == mine, _R.c.department == mine))
    if status:
        stmt = stmt.where(_R.c.status == status)
    if dataset:
        stmt = stmt.where(_D.c.code == dataset)
    if cursor:
        stmt = stmt.where(_R.c.public_id < cursor)
    items = [_request(r) for r in session.execute(stmt)]
    nxt = items[limit - 1].id if len(items) > limit else None
    return items[:limit], nxt


# --- commands -----------------------------------------------------------------------------


def _check_fields(ds: Dataset, fields: list[str] | None) -> list[str]:
    known = [f.name for f in ds.fields]
    if not fields:
        return known
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise InvalidInput(
            Msg("dataset {code} has no field(s) {unknown}", code=ds.code, unknown=', '.join(unknown)),
            errors=[{"field": "fields", "message": Msg("unknown: {unknown}", unknown=', '.join(unknown))}],
        )
    return [f for f in known if f in set(fields)]  # schema order, no duplicates


def request_share(
    session: Session,
    actor: Actor,
    dataset: str,
    *,
    purpose: str,
    valid_until: datetime,
    valid_from: datetime | None = None,
    fields: list[str] | None = None,
    unmasked: bool = False,
    at: datetime | None = None,
) -> ShareRequest:
    if not actor.has(*REQUEST_ROLES) or not actor.department:
        raise Forbidden(Msg("only department handlers and data officers request data for their department"))
    at = at or utcnow()
    ds = catalogue.load(session, dataset)
    if ds.owner_department == actor.department:
        raise Conflict(Msg("your department owns {dataset}; it reads it without a grant", dataset=dataset))
    if ds.sharing_class == "not_shared":
        raise Conflict(Msg("dataset {dataset} is not shared with other departments", dataset=dataset))
    chosen = _check_fields(ds, fields)
    purpose = check_purpose(purpose)
    valid_from = valid_from or at
    if valid_from.tzinfo is None or valid_until.tzinfo is None:
        raise InvalidInput(Msg("times must carry a time zone"), errors=[{"field": "valid_until", "message": Msg("naive datetime")}])
    if valid_until <= valid_from or valid_until <= at:
        raise InvalidInput(Msg("the period must end in the future and after it starts"), errors=[{"field": "valid_until", "message": Msg("ends too early")}])
    if valid_until - valid_from > MAX_PERIOD:
        raise InvalidInput(Msg("a grant lasts at most one year"), errors=[{"field": "valid_until", "message": Msg("period longer than 366 days")}])
    public_id = next_id(session, "SR", at)
    request_pk = session.execute(
        insert(_R)
        .values(
            public_id=public_id,
            dataset_id=ds.id,
            department=actor.department,
            requested_by=actor.label,
            fields=chosen,
            unmasked=unmasked,
            purpose=purpose,
            valid_from=valid_from,
            valid_until=valid_until,
            status="pending",
            created_at=at,
        )
        .returning(_R.c.id)
    ).scalar_one()
    audit.append(
        session,
        "decision",
        actor,
        "share.request",
        public_id,
        {"dataset": ds.code, "department": actor.department, "fields": chosen, "unmasked": unmasked, "purpose": purpose},
        at=at,
    )
    if ds.sharing_class == "unconditional" and not unmasked:
        _approve(session, SYSTEM, request_pk, public_id, ds, "unconditional sharing class", at)
    return get_request(session, SYSTEM, public_id)


def _settle(session: Session, request_pk: int, public_id: str, source: str, **values: Any) -> None:
    """Move a request out of state `source`, or raise Conflict when another decision won.

    A compare-and-set UPDATE, and the first write of its transaction: on PostgreSQL a racing
    decision waits for the row lock and then finds the state changed; on SQLite the write lock
    is taken at the same time as the snapshot (no stale read to upgrade). One winner, the
    others 409. The unique grant per request (`uq_data_grant_request_id`) backs it up."""
    done = session.execute(update(_R).where(_R.c.id == request_pk, _R.c.status == source).values(**values))
    if done.rowcount != 1:
        now = session.execute(select(_R.c.status).where(_R.c.id == request_pk)).scalar()
        raise Conflict(Msg("request {public_id} is {now}, not {source}", public_id=public_id, now=now, source=source), state=now)


def _approve(session: Session, actor: Actor, request_pk: int, public_id: str, ds: Dataset, reason: str, at: datetime) -> str:
    _settle(session, request_pk, public_id, "pending", status="approved", decided_by=actor.label, decided_at=at, reason=reason)
    req = session.execute(select(_R).where(_R.c.id == request_pk)).one()
    grant_id = next_id(session, "GR", at)
    session.execute(
        insert(_G).values(
            public_id=grant_id,
            request_id=request_pk,
            dataset_id=ds.id,
            department=req.department,
            fields=list(req.fields),
            unmasked=bool(req.unmasked),
            purpose=req.purpose,
            valid_from=req.valid_from,
            expires_at=req.valid_until,
            created_at=at,
        )
    )
    audit.append(
        session,
        "decision",
        actor,
        "share.approve",
        public_id,
        {"dataset": ds.code, "grant": grant_id, "department": req.department, "reason": reason},
        at=at,
    )
    return grant_id


def _pending(session: Session, req: ShareRequest) -> int:
    """The surrogate key of a request that must still be pending (checked after permissions)."""
    if req.status != "pending":
        raise Conflict(Msg("request {id} is {status}, not pending", id=req.id, status=req.status), state=req.status)
    return session.execute(select(_R.c.id).where(_R.c.public_id == req.id)).scalar_one()


def decide(
    session: Session, actor: Actor, request_id: str, *, approve: bool, reason: str | None = None, at: datetime | None = None
) -> ShareRequest:
    """The owner department's data officer approves or refuses a pending request."""
    at = at or utcnow()
    req = get_request(session, actor, request_id)
    if not (actor.has("system") or (actor.has("data_officer") and actor.department == req.owner_department)):
        raise Forbidden(Msg("only the owner department's data officers decide on requests for its data"))
    pk = _pending(session, req)
    ds = catalogue.load(session, req.dataset)
    reason = (reason or "").strip()
    if approve:
        if req.valid_until <= at:
            raise Conflict(Msg("the requested period has already ended"))
        _approve(session, actor, pk, request_id, ds, reason or "approved", at)
    else:
        if not reason:
            raise InvalidInput(Msg("a refusal states its reason"), errors=[{"field": "reason", "message": Msg("required")}])
        _settle(session, pk, request_id, "pending", status="refused", decided_by=actor.label, decided_at=at, reason=reason)
        audit.append(session, "decision", actor, "share.refuse", request_id, {"dataset": ds.code, "reason": reason}, at=at)
    return get_request(session, actor, request_id)


def withdraw(session: Session, actor: Actor, request_id: str, at: datetime | None = None) -> ShareRequest:
    at = at or utcnow()
    req = get_request(session, actor, request_id)
    if actor.department != req.department or not actor.has(*REQUEST_ROLES):
        raise Forbidden(Msg("only the requesting department withdraws its request"))
    pk = _pending(session, req)
    _settle(session, pk, request_id, "pending", status="withdrawn", decided_by=actor.label, decided_at=at)
    audit.append(session, "decision", actor, "share.withdraw", request_id, {"dataset": req.dataset}, at=at)
    return get_request(session, actor, request_id)


def revoke_request(session: Session, actor: Actor, request_id: str, *, reason: str, at: datetime | None = None) -> ShareRequest:
    """The owner department's data officer revokes an approved request: every grant it
    produced ends now, and reads under them are refused from the commit on."""
    at = at or utcnow()
    req = get_request(session, actor, request_id)
    if not (actor.has("system") or (actor.has("data_officer") and actor.department == req.owner_department)):
        raise Forbidden(Msg("only the owner department's data officers revoke grants of its data"))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(Msg("a revocation states its reason"), errors=[{"field": "reason", "message": Msg("required")}])
    if req.status != "approved":
        raise Conflict(Msg("request {request_id} is {status}, not approved", request_id=request_id, status=req.status), state=req.status)
    pk = session.execute(select(_R.c.id).where(_R.c.public_id == request_id)).scalar_one()
    ended = end_grants(session, pk, request_id, reason, at)
    audit.append(
        session, "decision", actor, "share.revoke", request_id, {"dataset": req.dataset, "grants": ended, "reason": reason}, at=at
    )
    return get_request(session, actor, request_id)
