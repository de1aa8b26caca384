"""随手拍 Report a problem (12345) from the phone: a category picked from pictures, a description,
a pin on the district's own map (or "use my location"), a photo; then follow my reports and
answer the callback once the department has resolved one (was it actually solved, am I satisfied)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session

from twonets.city import orders, spatial
from twonets.city.lifecycle import SATISFACTION
from twonets.city.models import OrderCreate
from twonets.city.reference import reference
from twonets.core import media
from twonets.core.errors import InvalidInput
from twonets.web import render
from twonets.web import session as web_session
from twonets.web.labels import N_
from twonets.web.pages.common import get_session
from twonets.web.pages.portal import citizen, dept_names, page

router = APIRouter(include_in_schema=False)
STEPS = ("created", "dispatched", "accepted", "resolved", "checked")  # what the citizen sees of the order's life
MAX_PHOTO = media.MAX_BYTES
PHOTO_ERROR = N_("The photo must be a JPEG, PNG, GIF or WebP image of at most 5 MB.")
PHONE_ERROR = N_("Check the phone number.")
OUTSIDE = N_("That place is outside the district: put the pin inside it, or type the address.")


def categories() -> list[dict]:
    """Major categories with their minors, in the definitions' order."""
    out: dict[str, dict] = {}
    for c in reference().categories.values():
        major = out.setdefault(c.major_code, {"code": c.major_code, "name_zh": c.major_name_zh, "name_en": c.major_name_en, "minors": []})
        major["minors"].append(c)
    return list(out.values())


def step_of(status: str) -> int:
    """How far along the citizen's five steps an order is (returned/suspended count as dispatched)."""
    if status in ("closed",):
        return len(STEPS) - 1
    if status in ("in_progress",):
        return STEPS.index("accepted")
    if status in ("returned", "suspended", "merged"):
        return STEPS.index("dispatched")
    return STEPS.index(status) if status in STEPS else 0


def _form(request: Request, errors: dict | None = None, values: dict | None = None, status: int = 200):
    return page(request, "portal/report.html", "report", status=status, majors=categories(), errors=errors or {},
                       values=values or {})


@router.get("/portal/report")
def report_form(request: Request):
    citizen(request)
    return _form(request)


@router.get("/portal/data/areas.json")
def areas(request: Request, level: str = Query("street", pattern="^(street|community)$"),
          session: Session = Depends(get_session)) -> dict:
    """The district's streets (and communities, for finer lines) for the report map: the same
    data as the public GET /api/v1/areas."""
    citizen(request)
    return spatial.feature_collection(session, level)


def _float(raw: str | None) -> float | None:
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        return None


@router.post("/portal/report")
async def report(request: Request, session: Session = Depends(get_session)):
    actor = citizen(request)
    await web_session.verify_csrf(request)
    sent = await request.form()
    data = {k: v for k, v in sent.items() if isinstance(v, str)}
    errors: dict[str, str] = {}
    category = data.get("category") or ""
    if category not in reference().categories:
        errors["category"] = N_("Choose what kind of problem it is.")
    description = (data.get("description") or "").strip()
    if len(description) < 5:
        errors["description"] = N_("Say in a few words what is wrong (at least 5 characters).")
    lon, lat = _float(data.get("lon")), _float(data.get("lat"))
    address = (data.get("address") or "").strip() or None
    if lon is None and not address:
        errors["location"] = N_("Put a pin on the map, use your location, or type the address.")
    photo = sent.get("photo")
    content = b""
    if photo is not None and not isinstance(photo, str) and photo.filename:
        content = await photo.read(MAX_PHOTO + 1)
    if errors:
        return _form(request, errors, data, status=422)
    photos = []
    if content:
        try:
            photos.append(media.save(content, "portal"))
        except InvalidInput:
            return _form(request, {"photo": PHOTO_ERROR}, data, status=422)
    phone = (data.get("phone") or "").strip() or None
    try:
        body = OrderCreate(source="citizen", channel="web", category=category, description=description, lon=lon,
                           lat=lat if lon is not None else None, address=address, photos=photos,
                           reporter={"phone": phone} if phone else None)
        order = orders.create_order(session, actor, body)
    except ValidationError as exc:
        for key in photos:
            media.discard(key)
        field = str(exc.errors()[0]["loc"][-1]) if exc.errors()[0]["loc"] else "location"
        return _form(request, {"phone": PHONE_ERROR} if field == "phone" else {"location": OUTSIDE}, data, status=422)
    except InvalidInput:
        for key in photos:
            media.discard(key)
        return _form(request, {"location": OUTSIDE}, data, status=422)
    return render.redirect(request, f"/portal/reports/{order.id}?done=reported")


@router.get("/portal/reports")
def my_reports(request: Request, cursor: str | None = Query(None, max_length=200), session: Session = Depends(get_session)):
    actor = citizen(request)
    listing = orders.list_orders(session, actor, limit=50, cursor=cursor)
    return page(request, "portal/reports.html", "me", items=listing.items, next=listing.next, steps=STEPS, step_of=step_of,
                       cats=reference().categories)


@router.get("/portal/reports/{order_id}")
def report_page(order_id: str, request: Request, session: Session = Depends(get_session)):
    actor = citizen(request)
    o = orders.get_order(session, actor, order_id)
    return page(request, "portal/report_detail.html", "me", o=o, steps=STEPS, step=step_of(o.status),
                       cats=reference().categories, depts=dept_names(), satisfaction=SATISFACTION,
                       done=request.query_params.get("done"))


@router.post("/portal/reports/{order_id}/callback")
async def callback(order_id: str, request: Request, session: Session = Depends(get_session)):
    """The citizen's answer: actually resolved (yes/no) and satisfied or not; "no" reopens the order."""
    actor = citizen(request)
    await web_session.verify_csrf(request)
    data = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    resolved = data.get("actually_resolved")
    satisfaction = data.get("satisfaction")
    if resolved not in ("yes", "no") or satisfaction not in SATISFACTION:
        raise InvalidInput(N_("Answer both questions: was it solved, and are you satisfied?"))
    orders.transition(session, actor, order_id, "callback", (data.get("comment") or "").strip() or None,
                      actually_resolved=resolved == "yes", satisfaction=satisfaction)
    return render.redirect(request, f"/portal/reports/{order_id}?done=answered")
