"""The GeoReport v2 field mapping: services from event categories, requests from citizen work orders and back."""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from twonets.api.media import url_of
from twonets.api.open311_errors import Open311Error
from twonets.api.open311_format import PREFIX, _when
from twonets.city import orders
from twonets.city.models import Order, OrderCreate, Reporter
from twonets.city.reference import Category, reference
from twonets.core.actor import Actor
from twonets.core.errors import DomainError

CLOSED_STATUSES = frozenset({"resolved", "checked", "closed", "cancelled"})
# Timer flags and escalations are internal bookkeeping, not notes for the citizen; nor are the
# automatic routing and duplicate linking at creation (service_notice tells of a merge).
SILENT_ACTIONS = frozenset({"flag", "escalate", "clear"})
SILENT_SYSTEM_ACTIONS = frozenset({"dispatch", "merge"})
# Reads are public but only ever show public fields of citizen requests.
READER = Actor(id="open311:public", roles=frozenset({"system"}))

SEVERITY_NAMES = {"normal": ("一般", "Normal"), "urgent": ("紧急", "Urgent")}


# --- services -----------------------------------------------------------------------------


def _category(code: str) -> Category:
    cat = reference().categories.get(code)
    if cat is None:
        raise Open311Error(404, f"Unknown service_code {code!r}; see GET {PREFIX}/services.json.")
    return cat


def _service(cat: Category, lang: str) -> dict[str, Any]:
    if lang == "en":
        name, description, group = cat.name_en, f"{cat.name_en} / {cat.name_zh}", cat.major_name_en
    else:
        name, description, group = cat.name_zh, f"{cat.name_zh} / {cat.name_en}", cat.major_name_zh
    return {
        "service_code": cat.code,
        "service_name": name,
        "description": description,
        "metadata": bool(_attributes(lang)),
        "type": "realtime",
        "keywords": ", ".join([cat.code, cat.major_code, cat.name_zh, cat.name_en]),
        "group": group,
    }


def _attributes(lang: str) -> list[dict[str, Any]]:
    en = lang == "en"
    return [
        {
            "variable": True,
            "code": "severity",
            "datatype": "singlevaluelist",
            "required": False,
            "datatype_description": "normal or urgent; urgent shortens the time limit" if en
            else "一般（normal）或紧急（urgent）；紧急的处理时限更短",
            "order": 1,
            "description": "How urgent is the problem?" if en else "问题的紧急程度",
            "values": [{"key": k, "name": v[1] if en else v[0]} for k, v in SEVERITY_NAMES.items()],
        },
        {
            "variable": True,
            "code": "photo_ref",
            "datatype": "string",
            "required": False,
            "datatype_description": "a reference (URL or object key) of an uploaded photo, up to 500 characters" if en
            else "已上传照片的引用（URL 或对象键），最长 500 个字符",
            "order": 2,
            "description": "Photo of the problem" if en else "现场照片",
            "values": [],
        },
    ]


# --- requests: rendering ------------------------------------------------------------------


def _is_closed(status: str) -> bool:
    return status in CLOSED_STATUSES


def _note(events: list[tuple[str, str, str | None, dict | None]]) -> str | None:
    """The latest outcome or reason recorded on an order (events as action, actor, reason, data),
    skipping internal bookkeeping."""
    for action, actor, reason, data in reversed(events):
        if action in SILENT_ACTIONS or (actor == "system" and action in SILENT_SYSTEM_ACTIONS):
            continue
        outcome = (data or {}).get("outcome")
        if outcome or reason:
            return outcome or reason
    return None


def _notice(order: Order, lang: str) -> str | None:
    en = lang == "en"
    if order.master_id:
        return (f"Merged with the open request {order.master_id} about the same problem." if en
                else f"已与同一问题的工单 {order.master_id} 合并处理。")
    if order.status in ("created", "dispatched") and order.due_at:
        due = _when(order.due_at)
        return f"Accepted; to be handled by {due}." if en else f"已受理，预计 {due} 前处理。"
    return None


def _agency(code: str | None, lang: str) -> str | None:
    if not code:
        return None
    dept = reference().departments.get(code)
    if dept is None:
        return code
    return dept.name_en if lang == "en" else dept.name_zh


def _request_of(order: Order, note: str | None, lang: str, base: str) -> dict[str, Any]:
    """A request as the spec shows it; ``base`` is this server's public base URL (for media_url)."""
    cat = reference().categories.get(order.category)
    name = (cat.name_en if lang == "en" else cat.name_zh) if cat else order.category
    return {
        "service_request_id": order.id,
        "status": "closed" if _is_closed(order.status) else "open",
        "status_notes": note,
        "service_name": name,
        "service_code": order.category,
        "description": order.description,
        "agency_responsible": _agency(order.department, lang),
        "service_notice": _notice(order, lang),
        "requested_datetime": _when(order.created_at),
        "updated_datetime": _when(order.updated_at),
        "expected_datetime": _when(order.due_at),
        "address": order.address,
        "address_id": order.grid_code,
        "zipcode": None,
        "lat": order.lat,
        "long": order.lon,
        "media_url": url_of(order.photos[0], base) if order.photos else None,
    }


def _notes(session: Session, public_ids: list[str]) -> dict[str, str | None]:
    """status_notes of many orders, from their timelines read in bulk."""
    timelines = orders.events_by_order(session, public_ids)
    return {k: _note([(e.action, e.actor, e.reason, e.data) for e in v]) for k, v in timelines.items()}


def _citizen_order(session: Session, public_id: str) -> Order:
    order = orders.get_order(session, READER, public_id)
    if order.source != "citizen":
        raise Open311Error(404, f"No service request {public_id}.")
    return order


def _one(session: Session, public_id: str, lang: str, base: str) -> dict[str, Any]:
    try:
        order = _citizen_order(session, public_id)
    except DomainError as exc:
        if exc.status == 404:
            raise Open311Error(404, f"No service request {public_id}.") from None
        raise
    note = _note([(e.action, e.actor, e.reason, e.data) for e in order.timeline or []])
    return _request_of(order, note, lang, base)


# --- requests: from the form -------------------------------------------------------------


def _number(name: str, raw: str, low: float, high: float) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number between {low:g} and {high:g}.") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise Open311Error(400, f"{name} must be a number between {low:g} and {high:g}.")
    return value


_CJK = re.compile(r"[\u3400-\u9fff]")


def _full_name(first: str, last: str) -> str | None:
    first, last = first.strip(), last.strip()
    if not (first or last):
        return None
    if _CJK.search(first + last):  # Chinese names: family name first, no space
        return last + first
    return " ".join(p for p in (first, last) if p)


MAX_EXTRA_ATTRIBUTES = 20
MAX_ATTRIBUTE_CHARS = 500


def _extra_attributes(code: str, extra: dict[str, list[str]]) -> str | None:
    """Attributes this server does not define (FixMyStreet sends ``uprn`` in some set-ups), kept
    with the request as a line of the description rather than refusing it, bounded."""
    if not extra:
        return None
    if len(extra) > MAX_EXTRA_ATTRIBUTES:
        raise Open311Error(400, f"At most {MAX_EXTRA_ATTRIBUTES} attributes not defined by "
                                f"GET {PREFIX}/services/{code}.json may be sent.")
    parts = []
    for name, values in sorted(extra.items()):
        text = ", ".join(v for v in values if v)
        if len(name) + len(text) > MAX_ATTRIBUTE_CHARS:
            raise Open311Error(400, f"attribute[{name}] may have at most {MAX_ATTRIBUTE_CHARS} characters.")
        parts.append(f"{name}={text}")
    return "; ".join(parts)


def _order_from_form(form: dict[str, str], attributes: dict[str, list[str]],
                     uploaded: tuple[str, ...] = ()) -> OrderCreate:
    """The order a POST form asks for. ``attributes`` maps each ``attribute[code]`` (or the
    multi-value ``attribute[code][]``) to its values in the order sent; ``uploaded`` are the media
    keys of photos sent with the form."""
    code = form.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "service_code is required.")
    cat = _category(code)  # an unknown service_code is a 404, as the spec lists
    lat_raw, lon_raw = form.get("lat", "").strip(), form.get("long", "").strip()
    lat = lon = None
    if lat_raw or lon_raw:
        if not (lat_raw and lon_raw):
            raise Open311Error(400, "Give both lat and long, or neither.")
        lat = _number("lat", lat_raw, -90, 90)
        lon = _number("long", lon_raw, -180, 180)
    address = form.get("address_string", "").strip() or None
    grid = form.get("address_id", "").strip() or None
    if lat is None and not address and not grid:
        raise Open311Error(400, "A location is required: lat and long, address_string or address_id.")
    known = {a["code"] for a in _attributes("en")}
    severities = [v.strip() for v in attributes.get("severity", []) if v.strip()]
    if len(severities) > 1:
        raise Open311Error(400, "attribute[severity] takes one value (normal or urgent).")
    severity = severities[0] if severities else "normal"
    if severity not in SEVERITY_NAMES:
        raise Open311Error(400, "attribute[severity] must be normal or urgent.")
    refs = [form.get("media_url", ""), *uploaded, *attributes.get("photo_ref", [])]
    photos = [u.strip() for u in refs if u.strip()]
    for ref in photos:
        if len(ref) > 500:
            raise Open311Error(400, "media_url and attribute[photo_ref] may have at most 500 characters.")
    if len(photos) > 20:
        raise Open311Error(400, "At most 20 photos (media_url and attribute[photo_ref]) per request.")
    description = form.get("description", "").strip() or cat.name_zh
    extra = _extra_attributes(code, {k: v for k, v in attributes.items() if k not in known})
    if extra:
        description = f"{description}\n[attributes] {extra}"
    if len(description) > 4000:
        raise Open311Error(400, "description may have at most 4000 characters.")
    name = _full_name(form.get("first_name", ""), form.get("last_name", ""))
    phone = form.get("phone", "").strip() or None
    try:
        reporter = Reporter(name=name, phone=phone) if (name or phone) else None
        return OrderCreate(source="citizen", channel="open311", category=code, severity=severity,
                           description=description, lon=lon, lat=lat, address=address, grid_code=grid,
                           photos=photos, reporter=reporter)
    except ValidationError as exc:
        fields = {"phone": "phone", "name": "first_name/last_name", "address": "address_string",
                  "grid_code": "address_id", "lat": "lat", "lon": "long"}
        problems = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ())]
            field = next((fields[p] for p in reversed(loc) if p in fields), ".".join(loc) or "request")
            problems.append(f"{field}: {e.get('msg', 'invalid')}")
        raise Open311Error(400, "; ".join(problems)) from None
