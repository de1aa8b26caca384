"""HTTP adapter of cross-region handling (跨省通办):

- `POST /api/v1/peer/applications` — from a trusted peer region only, signed (RFC 9421): the
  application of one of this region's persons, taken at the peer's hall; decided here;
- `GET /api/v1/peer/region` — this region's name and public key (what its peers list);
- `POST /api/v1/crossregion/applications` — at this region's hall: forward a person's
  application to their home region; `GET …/{id}` shows the answer;
- `POST /api/v1/crossregion/licences/verify` — a licence of a peer region, checked against the
  peer's published e-seal keys.

A refused signed request is audited (`peer.refused`) and committed before the 401.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from twonets.api.auth import require_roles
from twonets.api.deps import get_session, idempotent
from twonets.core.actor import Actor
from twonets.core.db import unit_of_work
from twonets.core.errors import InvalidInput, Unauthorized
from twonets.data import peers
from twonets.govservices import crossregion

router = APIRouter(prefix="/api/v1", tags=["cross-region"])
hall = require_roles("department_handler", "administrator")


@router.get("/peer/region")
def region() -> dict[str, Any]:
    return {"region": peers.region(), "public_key": peers.public_key_b64(), "peers": sorted(peers.peers())}


@router.post("/peer/applications")
async def peer_application(request: Request) -> dict[str, Any]:
    """An application forwarded by a trusted peer region: signature, digest, freshness and nonce
    checked; then decided by this region's own services."""
    body = await request.body()
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    headers = dict(request.headers)
    from starlette.concurrency import run_in_threadpool

    def handle() -> dict[str, Any]:
        refused: Unauthorized | None = None
        with unit_of_work(sessions=request.app.state.sessions) as session:
            try:
                ok = peers.accept(session, request.method, path, headers, body)
            except Unauthorized as exc:
                refused = exc  # the refusal's audit entry is committed with this unit of work
            if refused is None:
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    raise InvalidInput("the body is not JSON") from None
                return crossregion.receive(session, ok.keyid, payload)
        raise refused

    return await run_in_threadpool(handle)


class ForwardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    peer: str = Field(min_length=1, max_length=80)
    matter: str = Field(min_length=1, max_length=40)
    applicant_id: str = Field(min_length=1, max_length=80)
    form: dict[str, Any] = Field(default_factory=dict)


@router.post("/crossregion/applications", status_code=201)
def forward(body: ForwardIn, request: Request, actor: Actor = Depends(hall), session: Session = Depends(get_session)):
    """At this region's hall: forward the application of a person of region `peer` there."""
    return idempotent(session, request, "crossregion.forward",
                      lambda: (201, crossregion.forward(session, actor, body.peer, body.matter, body.applicant_id, body.form)))


@router.get("/crossregion/applications/{ref}")
def get_forwarded(ref: str, actor: Actor = Depends(require_roles("department_handler", "reviewer", "administrator")),
                  session: Session = Depends(get_session)) -> dict[str, Any]:
    return crossregion.get(session, actor, ref)


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    peer: str = Field(min_length=1, max_length=80)
    credential: dict[str, Any]


@router.post("/crossregion/licences/verify")
def verify_foreign(body: VerifyIn, session: Session = Depends(get_session)) -> dict[str, Any]:
    """A licence issued by a peer region, checked against its published keys and revocations."""
    return crossregion.verify_licence(session, body.peer, body.credential)
