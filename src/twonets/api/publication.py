"""What verifiers fetch, public and without sign-in: the issuers' DID documents (did:web),
the departments' revocation status lists (Bitstring Status List, `application/vc`) and the
twonets JSON-LD context of the licences."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response
from sqlalchemy.orm import Session

from twonets.api.deps import get_session
from twonets.api.openapi import content
from twonets.govservices import credentials, did, publication

router = APIRouter(tags=["services"])
DEPARTMENT = Path(pattern=r"^[a-z][a-z0-9_]{0,39}$")


def _json(body: Any, media_type: str) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), media_type=media_type)


@router.get("/.well-known/did.json", summary="The platform's DID document (did:web)", response_class=Response,
            responses=content(did.DID_MEDIA_TYPE))
def platform_did() -> Response:
    return _json(publication.platform_document(), did.DID_MEDIA_TYPE)


@router.get("/departments/{department}/did.json", summary="A department's DID document: its e-seal keys as Multikey",
            response_class=Response, responses=content(did.DID_MEDIA_TYPE))
def department_did(department: str = DEPARTMENT, session: Session = Depends(get_session)) -> Response:
    return _json(publication.department_document(session, department), did.DID_MEDIA_TYPE)


@router.get("/api/v1/status-lists/{department}/{number}", summary="A department's revocation status list (Bitstring Status List)",
            response_class=Response, responses=content(credentials.VC_MEDIA_TYPE))
def status_list(department: str = DEPARTMENT, number: int = Path(ge=0, le=2**31 - 1), session: Session = Depends(get_session)) -> Response:
    return _json(publication.status_list(session, department, number), credentials.VC_MEDIA_TYPE)


@router.get(credentials.CONTEXT_PATH, summary="The twonets JSON-LD context of the licences", response_class=Response,
            responses=content("application/ld+json"))
def context() -> Response:
    return _json(credentials.context_document(), "application/ld+json")
