"""HTTP adapter of benefits without application (免申即享): the policies, a citizen's benefits
(confirm an offer with one tap, decline), the departments' lists, candidates and the sweep."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from twonets.api.auth import current_actor, require_roles
from twonets.api.deps import get_session, idempotent
from twonets.core import pages
from twonets.core.actor import Actor
from twonets.govservices import benefits, policies

router = APIRouter(prefix="/api/v1", tags=["benefits"])
CURSOR = "bn"  # the kind of a benefits listing's cursor (core/pages.py)


@router.get("/benefit-policies")
def list_policies() -> dict[str, Any]:
    """The policies: who is eligible (the decision table), triggers, grant or offer, legal basis, amount."""
    return {"items": [p.summary() for p in policies.all_policies().values()], "next": None}


@router.get("/benefit-policies/{code}")
def get_policy(code: str) -> dict[str, Any]:
    return policies.get(code).summary()


class CandidatesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject_ids: list[str] = Field(min_length=1, max_length=benefits.MAX_CANDIDATES)


@router.post("/benefit-policies/{code}/candidates")
def evaluate_candidates(code: str, body: CandidatesIn, request: Request,
                        actor: Actor = Depends(require_roles("reviewer", "department_handler", "administrator")),
                        session: Session = Depends(get_session)):
    """The department checks named candidates; the eligible are granted or offered (once)."""
    return idempotent(session, request, f"benefits.candidates:{code}",
                      lambda: (200, benefits.evaluate_candidates(session, actor, code, body.subject_ids)))


@router.post("/benefits/sweep")
def sweep(request: Request, actor: Actor = Depends(require_roles("administrator")), session: Session = Depends(get_session)):
    """The nightly sweep, now: every subject against every policy."""
    return idempotent(session, request, "benefits.sweep", lambda: (200, benefits.sweep(session)))


@router.get("/benefits/mine")
def my_benefits(actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    """The caller's benefits: granted, offered (confirm with one tap), declined — each with its facts."""
    return {"items": benefits.mine(session, actor), "next": None}


@router.get("/benefits")
def list_benefits(policy: str | None = Query(None, max_length=40), state: str | None = Query(None, pattern="^(granted|offered|declined|stopped)$"),
                  limit: int = Query(100, ge=1, le=500), cursor: str | None = Query(None, max_length=200),
                  actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    items, nxt = benefits.list_benefits(session, actor, policy=policy, state=state, limit=limit,
                                        after=pages.decode_int(cursor, CURSOR))
    return {"items": items, "next": pages.encode(CURSOR, nxt) if nxt is not None else None}


@router.get("/benefits/{benefit_id}")
def get_benefit(benefit_id: str, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return benefits.get(session, actor, benefit_id)


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=500)


@router.post("/benefits/{benefit_id}/confirm")
def confirm(benefit_id: str, request: Request, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)):
    """One tap: take the offered benefit."""
    return idempotent(session, request, f"benefits.confirm:{benefit_id}", lambda: (200, benefits.confirm(session, actor, benefit_id)))


@router.post("/benefits/{benefit_id}/decline")
def decline(benefit_id: str, request: Request, body: DeclineIn | None = None, actor: Actor = Depends(current_actor),
            session: Session = Depends(get_session)):
    """Decline an offer or a grant; it is never offered again."""
    reason = body.reason if body else None
    return idempotent(session, request, f"benefits.decline:{benefit_id}",
                      lambda: (200, benefits.decline(session, actor, benefit_id, reason=reason)))
