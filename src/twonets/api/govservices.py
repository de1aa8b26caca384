"""HTTP adapter of the services (一网通办): matters, applications, review queue, ratings,
e-licences and their verification, figures."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from twonets.api.auth import current_actor, optional_actor, require_roles
from twonets.api.deps import get_session, idempotent
from twonets.core.actor import Actor
from twonets.core.errors import InvalidInput, NotFound
from twonets.core.i18n import Msg
from twonets.data import identity
from twonets.govservices import applications, benefits, eseal, history, licences, matters, ratings, review, stats

router = APIRouter(prefix="/api/v1", tags=["services"])
reviewer = require_roles("reviewer", "administrator")


# --- matters ------------------------------------------------------------------------------


@router.get("/matters")
def list_matters(
    q: str | None = Query(None, max_length=100),
    department: str | None = Query(None, max_length=40),
    type: str | None = Query(None, max_length=40),
    subject: str | None = Query(None, pattern="^(person|company)$"),
    processing: str | None = Query(None, pattern="^(instant|review)$"),
    channel: str | None = Query(None, pattern="^(online|hall)$"),
    cross_region: bool | None = None,
    no_application: bool | None = None,
    full: bool | None = None,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=40),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Search the matter catalogue (public)."""
    items, nxt = matters.search(
        session, q=q, department=department, type=type, subject=subject, processing=processing, channel=channel,
        cross_region=cross_region, no_application=no_application, full=full, limit=limit, cursor=cursor,
    )
    return {"items": items, "next": nxt}


@router.get("/matters/export")
def export_matters(format: str = Query("json", pattern="^(json|csv)$"), session: Session = Depends(get_session)) -> Response:
    if format == "csv":
        return PlainTextResponse(matters.export_csv(session), media_type="text/csv; charset=utf-8")
    return Response(matters.export_json(session), media_type="application/json")


@router.get("/matters/{code}")
def get_matter(code: str, session: Session = Depends(get_session)) -> dict[str, Any]:
    """A matter with its guide, form (JSON Schema) and materials with their source."""
    return matters.detail(matters.get(session, code))


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject_ids: list[str] = Field(min_length=1, max_length=500)


@router.post("/matters/{code}/grant")
def grant_benefit(code: str, body: GrantIn, request: Request, actor: Actor = Depends(require_roles("reviewer", "department_handler", "administrator")),
                  session: Session = Depends(get_session)):
    """Benefit without application (免申即享): grant the matter to the candidates who qualify."""
    return idempotent(session, request, f"matters.grant:{code}", lambda: (200, benefits.grant(session, actor, code, body.subject_ids)))


# --- applications -------------------------------------------------------------------------


class StartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matter: str = Field(min_length=1, max_length=40)
    consent: bool = False
    applicant_id: str | None = Field(default=None, max_length=80)
    form: dict[str, Any] | None = None
    submit: bool = False


class FormIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    form: dict[str, Any] = Field(default_factory=dict)


class UploadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: str = Field(min_length=1, max_length=200)
    content_base64: str = Field(min_length=1, max_length=8 * 1024 * 1024)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=2000)


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=2000)


def _view(session: Session, actor: Actor, app: applications.Application) -> dict[str, Any]:
    """An application as the caller sees it: `allowed_actions` are what the caller may do now."""
    return app.as_dict(allowed=applications.actions_for(session, actor, app))


@router.post("/applications", status_code=201)
def start_application(body: StartIn, request: Request, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)):
    """Start an application (prefilled from government data with the applicant's consent);
    with `submit: true` it is submitted at once (and instant matters decided)."""

    def produce():
        app = applications.start(session, actor, body.matter, applicant_id=body.applicant_id, consent=body.consent, form=body.form)
        if body.submit:
            app = applications.submit(session, actor, app.id)
        return 201, _view(session, actor, app)

    return idempotent(session, request, f"applications.start:{actor.id}", produce)


@router.get("/applications")
def my_applications(
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=40),
    actor: Actor = Depends(current_actor),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """The caller's own applications (as applicant, or made at their hall window)."""
    items, nxt = applications.mine(session, actor, limit=limit, cursor=cursor)
    return {"items": [_view(session, actor, a) for a in items], "next": nxt}


@router.get("/applications/{app_id}")
def get_application(app_id: str, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return _view(session, actor, applications.get(session, actor, app_id))


@router.patch("/applications/{app_id}")
def update_application(app_id: str, body: FormIn, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return _view(session, actor, applications.update_form(session, actor, app_id, body.form))


@router.post("/applications/{app_id}/materials/{material}")
def upload_material(app_id: str, material: str, body: UploadIn, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return _view(session, actor, applications.upload(session, actor, app_id, material, filename=body.filename, content_base64=body.content_base64))


@router.post("/applications/{app_id}/submit")
def submit_application(app_id: str, request: Request, body: FormIn | None = None, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)):
    form = body.form if body else None
    return idempotent(session, request, f"applications.submit:{app_id}",
                      lambda: (200, _view(session, actor, applications.submit(session, actor, app_id, form=form))))


@router.post("/applications/{app_id}/supplement")
def supplement_application(app_id: str, body: FormIn | None = None, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return _view(session, actor, applications.supplement(session, actor, app_id, form=body.form if body else None))


@router.post("/applications/{app_id}/withdraw")
def withdraw_application(app_id: str, body: ReasonIn | None = None, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return _view(session, actor, applications.withdraw(session, actor, app_id, reason=body.reason if body else None))


@router.post("/applications/{app_id}/approve")
def approve_application(app_id: str, body: ReasonIn | None = None, actor: Actor = Depends(reviewer), session: Session = Depends(get_session)) -> dict[str, Any]:
    return _view(session, actor, review.review(session, actor, app_id, approve=True, reason=body.reason if body else ""))


@router.post("/applications/{app_id}/reject")
def reject_application(app_id: str, body: ReasonIn, actor: Actor = Depends(reviewer), session: Session = Depends(get_session)) -> dict[str, Any]:
    return _view(session, actor, review.review(session, actor, app_id, approve=False, reason=body.reason))


@router.post("/applications/{app_id}/request-supplement")
def request_supplement(app_id: str, body: ReasonIn, actor: Actor = Depends(reviewer), session: Session = Depends(get_session)) -> dict[str, Any]:
    return _view(session, actor, review.request_supplement(session, actor, app_id, reason=body.reason))


@router.get("/applications/{app_id}/events")
def application_events(app_id: str, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return {"items": history.events(session, actor, app_id), "next": None}


@router.get("/applications/{app_id}/replay")
def replay_application(app_id: str, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    """The stored state against the replay of its events, and its decision replayed."""
    return history.replay(session, actor, app_id)


@router.post("/applications/{app_id}/rating", status_code=201)
def rate_application(app_id: str, body: RatingIn, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> JSONResponse:
    return JSONResponse(ratings.rate(session, actor, app_id, level=body.level, comment=body.comment), status_code=201)


@router.get("/services/follow-ups")
def list_follow_ups(
    state: str = Query("open", pattern="^(open|closed)$"), limit: int = Query(50, ge=1, le=200), cursor: int | None = Query(None, ge=0, le=2**62),
    actor: Actor = Depends(require_roles("reviewer", "department_handler", "administrator")), session: Session = Depends(get_session),
) -> dict[str, Any]:
    items, nxt = ratings.follow_ups(session, actor, state=state, limit=limit, cursor=cursor)
    return {"items": items, "next": nxt}


@router.post("/applications/{app_id}/follow-up/close")
def close_follow_up(app_id: str, body: NoteIn, actor: Actor = Depends(require_roles("reviewer", "department_handler", "administrator")),
                    session: Session = Depends(get_session)) -> dict[str, Any]:
    return ratings.close_follow_up(session, actor, app_id, note=body.note)


@router.get("/services/queue")
def review_queue(
    department: str | None = Query(None, max_length=40), flag: str | None = Query(None, pattern="^(warning|overdue)$"),
    limit: int = Query(50, ge=1, le=200), cursor: str | None = Query(None, max_length=40),
    actor: Actor = Depends(require_roles("reviewer", "department_handler", "administrator")), session: Session = Depends(get_session),
) -> dict[str, Any]:
    """The department's applications in review, with promised deadlines and flags."""
    items, nxt = stats.queue(session, actor, department=department, flag=flag, limit=limit, cursor=cursor)
    return {"items": items, "next": nxt}


@router.get("/services/stats")
def service_stats(
    since: date | None = None, until: date | None = None, by: str | None = Query(None, pattern="^(matter|department)$"),
    actor: Actor | None = Depends(optional_actor), session: Session = Depends(get_session),
) -> dict[str, Any]:
    return stats.stats(session, since=since, until=until, by=by)


# --- licences -----------------------------------------------------------------------------


def _subject(session: Session, actor: Actor) -> str | None:
    return identity.subject_of(session, actor) if actor.has("citizen", "company_agent") else None


@router.get("/licences/revocations")
def licence_revocations(session: Session = Depends(get_session)) -> dict[str, Any]:
    """The revocation list (licence id and reason), for verifiers that work offline."""
    return {"items": [{"licence": k, "reason": v} for k, v in licences.revocations(session).items()], "next": None}


@router.get("/licences/{licence_id}")
def get_licence(licence_id: str, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return licences.get(session, actor, licence_id, _subject(session, actor)).as_dict()


@router.get("/licences/{licence_id}/credential.json")
def licence_credential(licence_id: str, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> Response:
    lic = licences.get(session, actor, licence_id, _subject(session, actor))
    return Response(json.dumps(lic.credential, ensure_ascii=False, indent=1), media_type=licences.VC_MEDIA_TYPE)


@router.get("/licences/{licence_id}/qr.{kind}")
def licence_qr(licence_id: str, kind: str, session: Session = Depends(get_session)) -> Response:
    """The QR code of the licence's verify URL (PNG or SVG); it reveals nothing else."""
    if kind not in ("png", "svg"):
        raise NotFound(Msg("QR codes come as .png or .svg"))
    licences.load(session, licence_id)
    return Response(licences.qr(licence_id, kind), media_type="image/png" if kind == "png" else "image/svg+xml")


@router.get("/licences/{licence_id}/verify")
def verify_licence(licence_id: str, session: Session = Depends(get_session)) -> dict[str, Any]:
    """Public check of a licence by id: signature, issuer, expiry, revocation (no personal data)."""
    lic = licences.load(session, licence_id)
    result = licences.verify(session, lic.credential).as_dict()
    return {**result, "licence_type": lic.licence_type, "department": lic.department, "valid_until": lic.credential.get("validUntil")}


async def _credential_body(request: Request) -> Any:
    """The presented credential as JSON, sent as `application/vc` or `application/json`."""
    try:
        return json.loads(await request.body())
    except ValueError:
        raise InvalidInput(Msg("the body is not JSON"), errors=[{"field": "body", "message": Msg("not JSON")}]) from None


_CREDENTIAL_BODY = {"required": True, "content": {t: {"schema": {"type": "object"}} for t in (licences.VC_MEDIA_TYPE, "application/json")}}


@router.post("/licences/verify", openapi_extra={"requestBody": _CREDENTIAL_BODY})
def verify_credential(body: Any = Depends(_credential_body), session: Session = Depends(get_session)) -> dict[str, Any]:
    """Verify a credential (the JSON a holder presents, `application/vc` or `application/json`): it may have been altered."""
    if not isinstance(body, dict) or "proof" not in body:
        raise InvalidInput(Msg("send the licence credential JSON"), errors=[{"field": "proof", "message": Msg("missing")}])
    return licences.verify(session, body).as_dict()


@router.post("/licences/{licence_id}/revoke")
def revoke_licence(licence_id: str, body: ReasonIn, actor: Actor = Depends(require_roles("reviewer", "department_handler", "administrator")),
                   session: Session = Depends(get_session)) -> dict[str, Any]:
    return licences.revoke(session, actor, licence_id, reason=body.reason).as_dict()


@router.get("/services/seals")
def list_seals(department: str | None = Query(None, max_length=40), session: Session = Depends(get_session)) -> dict[str, Any]:
    """Public keys of the department e-seals (current and retired): verifiers trust these."""
    return {"items": [k.as_dict() for k in eseal.all_keys(session, department)], "next": None}


@router.post("/services/seals/{department}/rotate", status_code=201)
def rotate_seal(department: str, actor: Actor = Depends(require_roles("data_officer", "administrator")), session: Session = Depends(get_session)) -> JSONResponse:
    return JSONResponse(eseal.rotate(session, actor, department).as_dict(), status_code=201)
