"""HTTP adapter of the data foundation: catalogue, open data, sharing, access, audit, my data."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from twonets.api.auth import current_actor, optional_actor, require_roles
from twonets.api.deps import get_session, idempotent
from twonets.core import pages
from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.config import settings
from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg
from twonets.data import access, audit, audit_view, catalogue, identity, sharing
from twonets.data.catalogue import RecordIn
from twonets.data.models import DatasetPatch, DatasetSpec

router = APIRouter(prefix="/api/v1")
JSONLD = "application/ld+json"

staff_with_department = require_roles("grid_inspector", "dispatcher", "department_handler", "reviewer", "data_officer")


# --- catalogue ----------------------------------------------------------------------------


@router.get("/catalogue", tags=["catalogue"])
def search_catalogue(
    q: str | None = Query(None, max_length=200),
    owner: str | None = None,
    sharing_class: str | None = Query(None, pattern="^(unconditional|conditional|not_shared)$"),
    open_data: bool | None = None,
    stale: bool | None = None,
    kind: str | None = None,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=80),
    actor: Actor | None = Depends(optional_actor),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Search the catalogue. Anonymous callers and citizens see open datasets only."""
    now = utcnow()
    items, nxt = catalogue.search(
        session, actor, q=q, owner=owner, sharing_class=sharing_class, open_data=open_data, stale=stale, kind=kind,
        limit=limit, cursor=cursor, now=now,
    )
    return {"items": [d.as_dict(now) for d in items], "next": nxt}


@router.get("/catalogue.jsonld", tags=["catalogue"])
def catalogue_dcat(
    request: Request, actor: Actor | None = Depends(optional_actor), session: Session = Depends(get_session)
) -> JSONResponse:
    """The catalogue (as visible to the caller) in DCAT-AP JSON-LD."""
    items: list = []
    cursor = None
    while True:
        page, cursor = catalogue.search(session, actor, limit=200, cursor=cursor)
        items.extend(page)
        if cursor is None:
            break
    from twonets.city.reference import reference

    names = {d.code: (d.name_zh, d.name_en) for d in reference().departments.values()}
    body = catalogue.dcat(items, settings().public_base_url, department_names=names)
    return JSONResponse(body, media_type=JSONLD)


@router.get("/catalogue/{code}", tags=["catalogue"])
def get_dataset(code: str, actor: Actor | None = Depends(optional_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return catalogue.get(session, actor, code).as_dict(utcnow())


@router.post("/catalogue", status_code=201, tags=["catalogue"])
def create_dataset(
    body: DatasetSpec,
    request: Request,
    actor: Actor = Depends(require_roles("data_officer", "administrator")),
    session: Session = Depends(get_session),
):
    return idempotent(
        session, request, "catalogue.create", lambda: (201, catalogue.create(session, actor, body).as_dict(utcnow()))
    )


@router.patch("/catalogue/{code}", tags=["catalogue"])
def patch_dataset(
    code: str,
    body: DatasetPatch,
    actor: Actor = Depends(require_roles("data_officer", "administrator")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return catalogue.update_entry(session, actor, code, body).as_dict(utcnow())


class RecordsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[RecordIn] = Field(min_length=1, max_length=5000)


@router.post("/catalogue/{code}/records", tags=["catalogue"])
def write_records(
    code: str,
    body: RecordsIn,
    actor: Actor = Depends(require_roles("data_officer", "department_handler")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """The owner department loads or replaces records of a dataset the data foundation holds."""
    n = catalogue.upsert_records(session, actor, code, body.records)
    return {"written": n}


@router.post("/catalogue/{code}/updated", tags=["catalogue"])
def dataset_updated(
    code: str,
    actor: Actor = Depends(require_roles("data_officer", "department_handler")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """The owner department reports a fresh update of a dataset held elsewhere (clears 'stale')."""
    return catalogue.mark_updated(session, actor, code).as_dict(utcnow())


@router.get("/catalogue/{code}/download.csv", tags=["open data"])
def download_csv(code: str, request: Request) -> StreamingResponse:
    """An open dataset as CSV: personal and internal fields removed or generalised."""
    session: Session = request.app.state.sessions()
    try:
        ds, columns, rows = catalogue.open_rows(session, code)
    except BaseException:
        session.close()
        raise

    def stream() -> Iterator[str]:
        try:
            buf = io.StringIO()
            writer = csv.writer(buf)
            writer.writerow(columns)
            n = 0
            for row in rows:
                writer.writerow(["" if v is None else v for v in row])
                n += 1
                if n % 500 == 0:
                    yield buf.getvalue()
                    buf.seek(0)
                    buf.truncate()
            yield buf.getvalue()
        finally:
            session.close()

    filename = f"{ds.code}.csv"
    return StreamingResponse(
        stream(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/catalogue/{code}/download.parquet", tags=["open data"], response_class=Response)
def download_parquet(code: str, session: Session = Depends(get_session)) -> Response:
    """An open dataset as Parquet: the same columns and rows as the CSV, each column typed by its field."""
    ds, body = catalogue.parquet_bytes(session, code)
    return Response(body, media_type="application/vnd.apache.parquet",
                    headers={"Content-Disposition": f'attachment; filename="{ds.code}.parquet"'})


# --- sharing ------------------------------------------------------------------------------


class ShareRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: str = Field(min_length=1, max_length=80)
    fields: list[str] | None = None
    purpose: str = Field(min_length=1, max_length=2000)
    valid_from: datetime | None = None
    valid_until: datetime
    unmasked: bool = False


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=2000)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/sharing/requests", status_code=201, tags=["sharing"])
def create_share_request(
    body: ShareRequestIn,
    request: Request,
    actor: Actor = Depends(require_roles("department_handler", "data_officer")),
    session: Session = Depends(get_session),
):
    def produce():
        req = sharing.request_share(
            session, actor, body.dataset, purpose=body.purpose, valid_from=body.valid_from,
            valid_until=body.valid_until, fields=body.fields, unmasked=body.unmasked,
        )
        return 201, req.as_dict()

    return idempotent(session, request, f"sharing.request:{actor.id}", produce)


@router.get("/sharing/requests", tags=["sharing"])
def list_share_requests(
    status: str | None = Query(None, pattern="^(pending|approved|refused|withdrawn|revoked)$"),
    direction: str | None = Query(None, pattern="^(incoming|outgoing)$"),
    dataset: str | None = None,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=40),
    actor: Actor = Depends(current_actor),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    items, nxt = sharing.list_requests(
        session, actor, status=status, direction=direction, dataset=dataset, limit=limit, cursor=cursor
    )
    return {"items": [r.as_dict() for r in items], "next": nxt}


@router.get("/sharing/requests/{request_id}", tags=["sharing"])
def get_share_request(request_id: str, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return sharing.get_request(session, actor, request_id).as_dict()


@router.post("/sharing/requests/{request_id}/approve", tags=["sharing"])
def approve_share_request(
    request_id: str, body: DecisionIn | None = None, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)
) -> dict[str, Any]:
    return sharing.decide(session, actor, request_id, approve=True, reason=body.reason if body else None).as_dict()


@router.post("/sharing/requests/{request_id}/refuse", tags=["sharing"])
def refuse_share_request(
    request_id: str, body: ReasonIn, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)
) -> dict[str, Any]:
    return sharing.decide(session, actor, request_id, approve=False, reason=body.reason).as_dict()


@router.post("/sharing/requests/{request_id}/withdraw", tags=["sharing"])
def withdraw_share_request(request_id: str, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return sharing.withdraw(session, actor, request_id).as_dict()


@router.post("/sharing/requests/{request_id}/revoke", tags=["sharing"])
def revoke_share_request(
    request_id: str, body: ReasonIn, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)
) -> dict[str, Any]:
    """The owner revokes an approved request: every grant it produced ends now."""
    return sharing.revoke_request(session, actor, request_id, reason=body.reason).as_dict()


@router.get("/sharing/grants", tags=["sharing"])
def list_grants(
    active: bool = False,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=40),
    actor: Actor = Depends(current_actor),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    items, nxt = sharing.list_grants(session, actor, active_only=active, limit=limit, cursor=cursor)
    now = utcnow()
    return {"items": [g.as_dict(now) for g in items], "next": nxt}


@router.get("/sharing/grants/{grant_id}", tags=["sharing"])
def get_grant(grant_id: str, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return sharing.get_grant(session, actor, grant_id).as_dict()


@router.post("/sharing/grants/{grant_id}/revoke", tags=["sharing"])
def revoke_grant(grant_id: str, body: ReasonIn, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    return sharing.revoke_grant(session, actor, grant_id, reason=body.reason).as_dict()


# --- access -------------------------------------------------------------------------------


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: str = Field(min_length=1, max_length=80)
    purpose: str = Field(min_length=1, max_length=2000)
    matter: str | None = Field(default=None, max_length=120)
    subject_ids: list[str] | None = Field(default=None, max_length=access.MAX_SUBJECTS)
    filters: dict[str, str | int | float | bool] | None = None
    fields: list[str] | None = None
    unmasked: bool = False
    limit: int = Field(default=100, ge=1, le=access.MAX_RECORDS)


@router.post("/access/read", tags=["access"])
def read(body: ReadIn, actor: Actor = Depends(staff_with_department), session: Session = Depends(get_session)) -> dict[str, Any]:
    """Read shared records: checked against the grant, minimised, masked, and recorded."""
    try:
        result = access.read_records(
            session, actor, body.dataset, body.purpose, subject_ids=body.subject_ids, filters=body.filters,
            fields=body.fields, unmasked=body.unmasked, matter=body.matter, limit=body.limit,
        )
    except access.PurposeMismatch:
        session.commit()  # keep the audit entry of the refusal
        raise
    return result.as_dict()


@router.get("/my-data/accesses", tags=["my data"])
def my_data_accesses(
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = Query(None, max_length=pages.MAX_LENGTH, description="the `next` of the previous page"),
    actor: Actor = Depends(require_roles("citizen")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Who used my data: every access to the caller's records, by department, purpose and matter."""
    subject = identity.subject_of(session, actor)
    items, nxt = access.my_accesses(session, actor, limit=limit, cursor=pages.decode_int(cursor, ACCESSES_CURSOR),
                                    subject_id=subject)
    return {"items": items, "next": pages.encode(ACCESSES_CURSOR, nxt) if nxt is not None else None}


# --- audit --------------------------------------------------------------------------------

auditor = require_roles("administrator")
AUDIT_CURSOR, ACCESSES_CURSOR = "au", "m"  # kinds of cursor (core/pages.py)


@router.get("/audit", tags=["audit"])
def list_audit(
    kind: str | None = Query(None, pattern="^(access|decision|admin|auth)$"),
    actor_id: str | None = Query(None, alias="actor", max_length=80),
    subject: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=500),
    cursor: str | None = Query(None, max_length=pages.MAX_LENGTH, description="the `next` of the previous page"),
    actor: Actor = Depends(require_roles("administrator", "data_officer")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """The audit log, newest first; `cursor` (the `next` of the previous page) continues below it.
    Administrators read every entry; a data officer the access entries of the datasets their
    department owns."""
    entries = audit_view.entries_for(session, actor, kind=kind, actor_id=actor_id, subject=subject,
                                     before=pages.decode_int(cursor, AUDIT_CURSOR), limit=limit + 1)
    return {"items": [e.as_dict() for e in entries[:limit]],
            "next": pages.next_cursor(entries, limit, AUDIT_CURSOR, lambda e: e.seq)}


@router.get("/audit/verify", tags=["audit"])
def verify_audit(
    head: str | None = Query(None, max_length=100, description="a published head, SEQ:HASH, the chain must still hold"),
    actor: Actor = Depends(auditor),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    from twonets.data.audit_verify import parse_head

    return audit.verify(session, head=parse_head(head) if head is not None else None).as_dict()


@router.post("/audit/checkpoints", status_code=201, tags=["audit"])
def checkpoint_audit(actor: Actor = Depends(auditor), session: Session = Depends(get_session)):
    cp = audit.checkpoint(session)
    if cp is None:
        raise InvalidInput(Msg("the audit log is empty: nothing to sign"))
    audit.append(session, "admin", actor, "audit.checkpoint", str(cp["seq"]), {"hash": cp["hash"]})
    return JSONResponse(cp, status_code=201)

