"""Applying in the portal: consent once, a form prefilled from government data (each such field
marked with its source), uploads of what only the applicant has, submit; my applications with
their progress and the 好差评 rating; the wallet of e-licences with QR codes that verify;
benefits granted without application, confirmed with one tap."""

from __future__ import annotations

import base64
from functools import cache

from fastapi import APIRouter, Depends, Request
from markupsafe import Markup
from sqlalchemy.orm import Session

from twonets.core.errors import Conflict, InvalidInput
from twonets.data import catalogue
from twonets.govservices import applications, benefits, licences, matters, ratings
from twonets.govservices.credentials import verify_url
from twonets.web import render
from twonets.web.labels import N_
from twonets.web.pages import portal_fields
from twonets.web.pages.common import form, get_session
from twonets.web.pages.portal import can_apply, citizen, dept_names, matter_names, page, subject_of

router = APIRouter(include_in_schema=False)
MISSING = N_("This is needed.")
INVALID = N_("This does not look right: please check it.")


@cache
def _dataset_names() -> dict[str, tuple[str, str]]:
    return {d.code: (d.name_zh, d.name_en) for d in catalogue.read_definitions()}


def dataset_names(session: Session, codes) -> dict[str, tuple[str, str]]:
    """Names of the base registries a matter reads (the catalogue's definitions: public words)."""
    names = _dataset_names()
    return {c: names[c] for c in codes if c in names}


@router.get("/portal/matters/{code}/apply")
def consent_page(code: str, request: Request, session: Session = Depends(get_session)):
    citizen(request)
    m = matters.get(session, code)
    if not can_apply(m):
        raise Conflict(N_("This matter is not applied for online."))
    return page(request, "portal/consent.html", "services", m=m, datasets=dataset_names(session, m.datasets), depts=dept_names())


@router.post("/portal/matters/{code}/apply")
async def start(code: str, request: Request, session: Session = Depends(get_session)):
    actor = citizen(request)
    data = await form(request)
    if data.get("consent") != "yes":
        raise InvalidInput(N_("Tick the box to agree that the government's data about you is used for this application."))
    app = applications.start(session, actor, code, consent=True)
    return render.redirect(request, f"/portal/applications/{app.id}")


@router.get("/portal/applications")
def my_applications(request: Request, session: Session = Depends(get_session)):
    actor = citizen(request)
    apps, _ = applications.mine(session, actor, limit=100)
    return page(request, "portal/applications.html", "me", apps=apps, names=matter_names(session, [a.matter for a in apps]))


def _fields(m, app) -> list[dict]:
    """The form's fields in order, each with its value and where a prefilled value came from."""
    props = (m.form or {}).get("properties") or {}
    required = set((m.form or {}).get("required") or [])
    filled = (app.prefill or {}).get("fields") or {}
    out = []
    for name, spec in props.items():
        src = filled.get(name)
        out.append({"name": name, "title": portal_fields.label(spec.get("title") or name), "type": spec.get("type", "string"),
                    "enum": spec.get("enum"), "required": name in required, "value": app.form.get(name, ""),
                    "pattern": spec.get("pattern"), "source": src["source"] if src else None,
                    "from_gov": bool(src) and app.form.get(name) == src.get("value")})
    return out


def _application_page(request: Request, session: Session, app_id: str, *, errors: dict | None = None,
                      sent: dict | None = None, status: int = 200):
    actor = citizen(request)
    app = applications.get(session, actor, app_id)
    m = matters.get(session, app.matter)
    fields = _fields(m, app)
    for f in fields:  # what the citizen typed stays in the form when it comes back with errors
        if sent and f["name"] in sent:
            f["value"] = sent[f["name"]]
    return page(request, "portal/application.html", "me", status=status, app=app, m=m,
                allowed=applications.actions_for(session, actor, app), fields=fields, errors=errors or {},
                datasets=dataset_names(session, m.datasets), depts=dept_names(), levels=ratings.LEVELS,
                done=request.query_params.get("done"))


@router.get("/portal/applications/{app_id}")
def application(app_id: str, request: Request, session: Session = Depends(get_session)):
    return _application_page(request, session, app_id)


def _values(m, data: dict[str, str]) -> dict:
    props = (m.form or {}).get("properties") or {}
    out = {}
    for name, spec in props.items():
        if name not in data:
            continue
        raw = data[name].strip()
        if raw == "":
            continue
        if spec.get("type") == "integer":
            out[name] = int(raw) if raw.lstrip("-").isdigit() else raw
        elif spec.get("type") == "number":
            try:
                out[name] = float(raw)
            except ValueError:
                out[name] = raw
        else:
            out[name] = raw
    return out


@router.post("/portal/applications/{app_id}/submit")
async def submit(app_id: str, request: Request, session: Session = Depends(get_session)):
    actor = citizen(request)
    data = await form(request)
    app = applications.get(session, actor, app_id)
    m = matters.get(session, app.matter)
    action = applications.supplement if app.state.state == "supplement_requested" else applications.submit
    try:
        app = action(session, actor, app_id, form=_values(m, data))
    except InvalidInput as exc:  # the form again, each field with what to fix, what was typed kept
        session.rollback()
        errors = {}
        for e in exc.errors:
            field = str(e.get("field", ""))
            key = field.split(".", 1)[1] if "." in field else field
            errors[key] = MISSING if e.get("message") == "required" or field.startswith("materials.") else INVALID
        return _application_page(request, session, app_id, errors=errors, sent=data, status=422)
    return render.redirect(request, f"/portal/applications/{app.id}?done=submitted")


@router.post("/portal/applications/{app_id}/materials/{material}")
async def upload(app_id: str, material: str, request: Request, session: Session = Depends(get_session)):
    actor = citizen(request)
    await form(request)  # the CSRF check
    sent = (await request.form()).get("file")
    if sent is None or isinstance(sent, str):
        raise InvalidInput(N_("Choose a file: a photo or scan of the document."))
    content = await sent.read(applications.MAX_UPLOAD + 1)
    applications.upload(session, actor, app_id, material, filename=sent.filename or material,
                        content_base64=base64.b64encode(content).decode("ascii"))
    return render.redirect(request, f"/portal/applications/{app_id}?done=uploaded")


@router.post("/portal/applications/{app_id}/rate")
async def rate(app_id: str, request: Request, session: Session = Depends(get_session)):
    actor = citizen(request)
    data = await form(request)
    level = data.get("level", "")
    if not level.isdigit():
        raise InvalidInput(N_("Choose how the service was, from very poor to very good."))
    ratings.rate(session, actor, app_id, level=int(level), comment=data.get("comment"))
    return render.redirect(request, f"/portal/applications/{app_id}?done=rated")


def licence_names(session, held) -> dict[str, tuple[str, str]]:
    """Licence id → the licence's name (敬老卡), from its matter's licence definition."""
    out = {}
    for lic in held:
        spec = matters.get(session, lic.matter).licence
        out[lic.id] = (spec.name_zh, spec.name_en) if spec else (lic.licence_type, lic.licence_type)
    return out


def qr_svg(licence_id: str) -> Markup:
    """The licence's QR code (licences.qr: its public verify URL) as inline SVG, named for screen readers."""
    svg = licences.qr(licence_id, "svg", scale=4).decode("utf-8")
    svg = svg[svg.index("<svg"):]
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR ' + licence_id + '" ', 1))


@router.get("/portal/wallet")
def wallet(request: Request, session: Session = Depends(get_session)):
    actor = citizen(request)
    subject = subject_of(session, actor)
    held = licences.of_holder(session, subject) if subject else []
    cards = [{"lic": lic, "url": verify_url(lic.id), "qr": qr_svg(lic.id)} for lic in reversed(held)]
    return page(request, "portal/wallet.html", "me", cards=cards, names=licence_names(session, held),
                       depts=dept_names(), focus=request.query_params.get("licence"))


@router.get("/portal/benefits")
def benefit_list(request: Request, session: Session = Depends(get_session)):
    actor = citizen(request)
    return page(request, "portal/benefits.html", "home", offers=benefits.offers(session, actor), depts=dept_names(),
                       result=None)


@router.post("/portal/benefits/{code}/confirm")
async def confirm(code: str, request: Request, session: Session = Depends(get_session)):
    actor = citizen(request)
    await form(request)
    result = benefits.confirm(session, actor, code)
    session.commit()
    return page(request, "portal/benefits.html", "home", offers=benefits.offers(session, actor), depts=dept_names(),
                       result=result)
