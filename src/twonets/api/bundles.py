"""HTTP adapter of one-thing bundles (一件事一次办): the bundles, the shared form (prefilled with
consent), one submission, one tracking view, and a department deciding a step sent to review."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from twonets.api.auth import current_actor, require_roles
from twonets.api.deps import get_session, idempotent
from twonets.core.actor import Actor
from twonets.govservices import bundle_cases, bundles

router = APIRouter(prefix="/api/v1", tags=["bundles"])


@router.get("/bundles")
def list_bundles() -> dict[str, Any]:
    """The life events offered as one thing: their shared fields (each once) and steps."""
    return {"items": [b.summary() for b in bundles.all_bundles().values()], "next": None}


@router.get("/bundles/{code}")
def get_bundle(code: str) -> dict[str, Any]:
    return bundles.get(code).summary()


@router.get("/bundles/{code}/form")
def bundle_form(code: str, consent: bool = Query(False, description="Let the registries fill in what they hold."),
                actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    """The shared form for the caller, with what the registries hold filled in (with consent)."""
    return bundle_cases.form(session, actor, code, consent=consent)


class SubmitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bundle: str = Field(min_length=1, max_length=60)
    form: dict[str, Any] = Field(default_factory=dict)
    consent: bool = False


@router.post("/bundle-cases", status_code=201)
def submit(body: SubmitIn, request: Request, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)):
    """One submission: every step runs as far as it can; the answer is the tracking view."""
    return idempotent(session, request, "bundle-cases.submit",
                      lambda: (201, bundle_cases.submit(session, actor, body.bundle, body.form, consent=body.consent)))


@router.get("/bundle-cases")
def my_cases(actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return {"items": bundle_cases.mine(session, actor), "next": None}


@router.get("/bundle-cases/{case_id}")
def track(case_id: str, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    """One tracking view: each step, its state and why, its outputs; the combined result."""
    return bundle_cases.track(session, actor, case_id)


class DecideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool
    reason: str = Field(min_length=2, max_length=500)


@router.post("/bundle-cases/{case_id}/steps/{step_id}/decision")
def decide_step(case_id: str, step_id: str, body: DecideIn, request: Request,
                actor: Actor = Depends(require_roles("reviewer", "administrator")), session: Session = Depends(get_session)):
    """The department decides a step its rule sent to review; the case runs on."""
    return idempotent(session, request, f"bundle-cases.decide:{case_id}:{step_id}",
                      lambda: (200, bundle_cases.decide_step(session, actor, case_id, step_id, approve=body.approve,
                                                              reason=body.reason)))
