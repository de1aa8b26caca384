"""HTTP adapter of the service hall's window (综合窗口): queue numbers, calling the next one,
identifying the person (ID number or the code of their QR), and the hall's figures of the day.
Applications at the window are made with `POST /api/v1/applications` (`applicant_id`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from twonets.api.auth import require_roles
from twonets.api.deps import get_session
from twonets.core.actor import Actor
from twonets.data import audit
from twonets.govservices import hall

router = APIRouter(prefix="/api/v1/hall", tags=["service hall"])
clerk = require_roles(*hall.CLERK_ROLES)


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window: str = Field(default="1", min_length=1, max_length=20)


class IdentifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: str = Field(min_length=1, max_length=2000, description="an ID number, or the code of the person's QR")


def _ticket(t: hall.Ticket | None) -> dict[str, Any] | None:
    if t is None:
        return None
    out = asdict(t) | {"label": t.label}
    return {k: (audit.ts(v) if hasattr(v, "isoformat") and not isinstance(v, str) else v) for k, v in out.items()}


@router.post("/tickets", status_code=201)
def take_ticket(actor: Actor = Depends(clerk), session: Session = Depends(get_session)) -> dict[str, Any]:
    """A new number at the clerk's hall (the kiosk's button), waiting to be called."""
    return _ticket(hall.take_ticket(session, actor.department))


@router.post("/call")
def call_next(body: CallIn | None = None, actor: Actor = Depends(clerk), session: Session = Depends(get_session)) -> dict[str, Any]:
    """Finish my current number and call the next one to my window."""
    return _ticket(hall.call_next(session, actor, window=(body or CallIn()).window))


@router.get("/queue")
def queue(actor: Actor = Depends(clerk), session: Session = Depends(get_session)) -> dict[str, Any]:
    return {"serving": _ticket(hall.current(session, actor)), "items": [_ticket(t) for t in hall.waiting(session, actor)],
            "next": None}


@router.post("/identify")
def identify(body: IdentifyIn, actor: Actor = Depends(clerk), session: Session = Depends(get_session)) -> dict[str, Any]:
    """The person at the window, read from the population registry (audited with its purpose)."""
    return asdict(hall.identify(session, actor, body.id_number))


@router.get("/today")
def today(actor: Actor = Depends(clerk), session: Session = Depends(get_session)) -> dict[str, Any]:
    return hall.today(session, actor)
