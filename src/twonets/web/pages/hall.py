"""The service-hall window (综合窗口, `/hall`): a clerk calls the next number, identifies the
person (ID number), picks the matter, sees what the government already holds (the application
starts prefilled, with the person's consent recorded), fills in only the rest, scans the
materials truly needed and submits on the person's behalf — channel `hall`, the clerk recorded
as acting for them. The hall's queue and today's figures beside it.

Every step is a service function the API also calls (`hall.*`, `applications.start/
update_form/upload/submit`) under the clerk's role; the person then follows the same
application under their own account (`GET /api/v1/applications`).
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from twonets.core.errors import InvalidInput
from twonets.govservices import applications, hall, matters
from twonets.web import render
from twonets.web import session as web_session
from twonets.web.pages.board import names
from twonets.web.pages.common import form, get_session, staff
from twonets.web.pages.review import APP_STATES

router = APIRouter(include_in_schema=False)
ROLES = hall.CLERK_ROLES
# What a scanned material may be, by its first bytes (not its claimed type): PDF or an image.
SCANS = ((b"%PDF-", "PDF"), (b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"))


def _context(session: Session, actor) -> dict[str, Any]:
    items, _ = matters.search(session, subject="person", channel="hall", full=True, no_application=False, limit=200)
    return {"serving": hall.current(session, actor), "waiting": hall.waiting(session, actor),
            "figures": hall.today(session, actor), "matters": items, "names": names(session)}


@router.get("/hall")
def window(request: Request, session: Session = Depends(get_session)):
    actor = staff(request, ROLES)
    return render.page(request, "hall/window.html", person=None, **_context(session, actor))


@router.post("/hall/call")
async def call(request: Request, session: Session = Depends(get_session)):
    actor = staff(request, ROLES)
    data = await form(request)
    hall.call_next(session, actor, window=data.get("window") or "1")
    return render.redirect(request, "/hall")


@router.post("/hall/identify")
async def identify(request: Request, session: Session = Depends(get_session)):
    """The person at the window, by ID number (read from the population registry, audited)."""
    actor = staff(request, ROLES)
    data = await form(request)
    person = hall.identify(session, actor, data.get("id_number") or "")
    session.commit()  # the audited read stands even if the page is left here
    return render.page(request, "hall/window.html", person=person, **_context(session, actor))


@router.post("/hall/applications")
async def start(request: Request, session: Session = Depends(get_session)):
    """Start the application for the identified person: prefilled from what the government
    holds, with their consent recorded."""
    actor = staff(request, ROLES)
    data = await form(request)
    if data.get("consent") != "yes":
        raise InvalidInput("ask the person for consent to use the data the government holds, and tick the box",
                           errors=[{"field": "consent", "message": "required"}])
    app = applications.start(session, actor, data.get("matter") or "", applicant_id=data.get("applicant_id") or None,
                             consent=True)
    hall.attach(session, actor, app.id)
    return render.redirect(request, f"/hall/applications/{app.id}")


@router.get("/hall/applications/{app_id}")
def application(app_id: str, request: Request, session: Session = Depends(get_session)):
    actor = staff(request, ROLES)
    app = applications.get(session, actor, app_id)
    matter = matters.get(session, app.matter)
    return render.page(request, "hall/application.html", app=app, matter=matter, states=APP_STATES,
                       allowed=applications.actions_for(session, actor, app), **_context(session, actor))


def _value(spec: dict[str, Any], raw: str) -> Any:
    """A form value as the matter's schema types it (the schema then validates it)."""
    kind = spec.get("type")
    if kind == "boolean":
        return raw == "yes"
    if raw == "":
        return None
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            value = float(raw)
            return int(value) if value.is_integer() and "." not in raw else value
    except ValueError:
        return raw  # left as typed: the schema names the field that is not a number
    return raw


@router.post("/hall/applications/{app_id}/submit")
async def submit(app_id: str, request: Request, session: Session = Depends(get_session)):
    """Fill in the rest, hand in the scans, submit on the person's behalf — all or nothing: what
    the schema or a scan refuses comes back on the same page, with what was typed kept."""
    actor = staff(request, ROLES)
    await web_session.verify_csrf(request)
    posted = await request.form()
    try:
        done = await _fill_and_submit(session, actor, app_id, posted)
    except InvalidInput as exc:
        session.rollback()  # nothing half-done: the draft stays as it was
        app = applications.get(session, actor, app_id)
        matter = matters.get(session, app.matter)
        typed = {k[2:]: v for k, v in posted.items() if k.startswith("f_") and isinstance(v, str)}
        return render.page(request, "hall/application.html", status=422, app=app, matter=matter, states=APP_STATES,
                           allowed=applications.actions_for(session, actor, app), problem=exc,
                           typed=typed, **_context(session, actor))
    hall.attach(session, actor, done.id)
    return render.redirect(request, f"/hall/applications/{done.id}?submitted=1")


async def _fill_and_submit(session: Session, actor, app_id: str, posted) -> applications.Application:
    app = applications.get(session, actor, app_id)
    matter = matters.get(session, app.matter)
    held = set(app.prefill.get("fields") or {})
    values: dict[str, Any] = {}
    for key, spec in (matter.form.get("properties") or {}).items():
        if key in held:
            continue
        raw = posted.get("f_" + key)
        if isinstance(raw, str):
            value = _value(spec, raw.strip())
            if value is not None:
                values[key] = value
        elif spec.get("type") == "boolean":
            values[key] = False
    if values:
        applications.update_form(session, actor, app_id, values)
    for m in matter.materials:
        if m.source != "upload":
            continue
        f = posted.get("m_" + m.code)
        if not isinstance(f, UploadFile) or not f.filename:
            continue
        content = await f.read(applications.MAX_UPLOAD + 1)
        if len(content) > applications.MAX_UPLOAD:
            raise InvalidInput(f"{m.name_en}: a scan may have at most 5 MB",
                               errors=[{"field": f"materials.{m.code}", "message": "too large"}])
        if not any(content.startswith(sig) for sig, _ in SCANS):
            raise InvalidInput(f"{m.name_en}: a scan is a PDF, JPEG or PNG file",
                               errors=[{"field": f"materials.{m.code}", "message": "not a PDF or image"}])
        applications.upload(session, actor, app_id, m.code, filename=f.filename,
                            content_base64=base64.b64encode(content).decode())
    return applications.submit(session, actor, app_id)
