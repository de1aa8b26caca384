"""Open311 GeoReport v2: the public face for citizen requests.

Field names follow the GeoReport v2 specification exactly (http://wiki.open311.org/GeoReport_v2).
Every route exists as ``….json`` and ``….xml``; errors are the spec's list of ``{code,
description}`` (not problem details), scoped to these routes by ``Open311Route``.

Mapping onto twonets:

* a *service* is a minor event category (``service_code`` = category code, ``group`` = the
  major category's name); names are Chinese by default, English with ``?lang=en``;
* a *request* is a work order with ``source=citizen``; ``service_request_id`` is its public id
  (``WO-…``), returned at once by POST (the type of every service is ``realtime``);
* *tokens*: as the id is known at POST, a token **is** the public id, and
  ``GET /tokens/{token}`` answers with that id (404 when no such citizen request exists);
* ``address_id`` is a grid code of the district's grid system (in and out); ``zipcode`` is
  not used; ``expected_datetime`` is the order's deadline; ``agency_responsible`` the
  department it is dispatched to; ``status`` is ``closed`` once the order is resolved,
  checked, closed or cancelled, ``open`` otherwise (a merged duplicate stays open until its
  master is resolved);
* ``status_notes`` is the latest outcome or reason recorded on the order (timer flags and
  escalations are internal and left out);
* the reporter's name (``first_name``/``last_name``) and ``phone`` are stored apart as the
  order's reporter and never returned; ``email`` and ``device_id`` are not kept.
* ``jurisdiction_id`` is accepted and ignored: this server serves one district;
* a POST with an ``Idempotency-Key`` header is answered once: a retry with the same key (from
  the same client) gets the first reply and creates nothing.

Times are ISO 8601 with the district's offset (+08:00). POST needs an ``api_key`` of kind
``open311`` issued by the data foundation (``data.identity``); the work order is created by
``Actor("open311:KEY-…", {"citizen"})``: the client submits on a citizen's behalf, so it gets
exactly the rights of a citizen and the event rows name the key, never the person.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from typing import Any, Callable

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from twonets.api.deps import idempotent
from twonets.core.db import unit_of_work
from twonets.city import lifecycle, services
from twonets.city.models import Order, OrderCreate, Reporter
from twonets.city.reference import Category, reference
from twonets.core import calendar
from twonets.core.actor import Actor
from twonets.core.errors import DomainError, Forbidden, Unauthorized
from twonets.core.logging import get_logger
from twonets.data import identity

log = get_logger("twonets.open311")

PREFIX = "/open311/v2"
FORMATS = ("json", "xml")
CLOSED_STATUSES = frozenset({"resolved", "checked", "closed", "cancelled"})
# Timer flags and escalations are internal bookkeeping, not notes for the citizen; nor are the
# automatic routing and duplicate linking at creation (service_notice tells of a merge).
SILENT_ACTIONS = frozenset({"flag", "escalate", "clear"})
SILENT_SYSTEM_ACTIONS = frozenset({"dispatch", "merge"})
DEFAULT_WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
PAGE = 500
# Reads are public but only ever show public fields of citizen requests.
READER = Actor(id="open311:public", roles=frozenset({"system"}))

SEVERITY_NAMES = {"normal": ("一般", "Normal"), "urgent": ("紧急", "Urgent")}


# --- errors -------------------------------------------------------------------------------


class Open311Error(Exception):
    """An error answered as the spec's error list."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def _fmt_of(request: Request) -> str:
    return "xml" if request.url.path.lower().endswith(".xml") else "json"


def error_response(fmt: str, status: int, descriptions: list[str]) -> Response:
    items = [{"code": status, "description": d} for d in descriptions]
    if fmt == "xml":
        return Response(_xml("errors", "error", items), status_code=status, media_type="application/xml")
    return JSONResponse(items, status_code=status)


def _domain_status(exc: DomainError) -> int:
    return 400 if exc.status == 422 else exc.status


def _describe_domain(exc: DomainError) -> str:
    fields = [f"{e.get('field')}: {e.get('message')}" for e in exc.errors if isinstance(e, dict) and e.get("field")]
    return exc.detail + (f" ({'; '.join(fields)})" if fields else "")


class Open311Route(APIRoute):
    """Answers every error on these routes as a GeoReport v2 error list, in the route's format."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            fmt = _fmt_of(request)
            try:
                return await handler(request)
            except Open311Error as exc:
                return error_response(fmt, exc.status, [exc.description])
            except DomainError as exc:
                return error_response(fmt, _domain_status(exc), [_describe_domain(exc)])
            except RequestValidationError as exc:
                descriptions = [
                    f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('query', 'path', 'body'))}: "
                    f"{e.get('msg', 'invalid')}"
                    for e in exc.errors()
                ]
                return error_response(fmt, 400, descriptions or ["The request is not valid."])
            except StarletteHTTPException as exc:
                return error_response(fmt, exc.status_code, [str(exc.detail)])
            except Exception as exc:  # a 500 is always a bug: log it, answer in the spec's shape
                log.error("unhandled error", route=self.path, error=type(exc).__name__, exc_info=exc)
                return error_response(fmt, 500, ["An unexpected error occurred; it has been logged."])

        return route_handler


router = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route)


# --- rendering ----------------------------------------------------------------------------

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_ILLEGAL.sub("", str(value))


def _fill(parent: ET.Element, item: dict[str, Any]) -> None:
    for key, value in item.items():
        child = ET.SubElement(parent, key)
        if isinstance(value, list):  # nested lists: <attributes><attribute/>… and <values><value/>…
            singular = key[:-1] if key.endswith("s") else key
            for sub in value:
                _fill(ET.SubElement(child, singular), sub)
        else:
            child.text = _text(value)


def _xml(root_tag: str, item_tag: str | None, payload: list[dict[str, Any]] | dict[str, Any]) -> bytes:
    root = ET.Element(root_tag)
    if item_tag is None:
        assert isinstance(payload, dict)
        _fill(root, payload)
    else:
        for item in payload:
            _fill(ET.SubElement(root, item_tag), item)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _render(fmt: str, root_tag: str, item_tag: str | None, payload: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(_xml(root_tag, item_tag, payload), status_code=status, media_type="application/xml")
    return JSONResponse(payload, status_code=status)


def _format(fmt: str) -> str:
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise Open311Error(404, f"Unknown format {fmt!r}; use .json or .xml.")
    return fmt


def _lang(request: Request) -> str:
    lang = (request.query_params.get("lang") or "zh").lower()
    return "en" if lang.startswith("en") else "zh"


def _when(at: datetime | None) -> str | None:
    return None if at is None else calendar.to_local(at).isoformat(timespec="seconds")


# --- sessions -----------------------------------------------------------------------------


def _unit(request: Request):
    return unit_of_work(sessions=request.app.state.sessions)


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


@router.get("/services.{fmt}", summary="Service list: one service per minor event category")
def list_services(request: Request, fmt: str) -> Response:
    fmt = _format(fmt)
    lang = _lang(request)
    items = [_service(c, lang) for c in reference().categories.values()]
    return _render(fmt, "services", "service", items)


@router.get("/services/{service_code}.{fmt}", summary="Service definition: the attributes of a service")
def service_definition(request: Request, service_code: str, fmt: str) -> Response:
    fmt = _format(fmt)
    cat = _category(service_code)
    body = {"service_code": cat.code, "attributes": _attributes(_lang(request))}
    return _render(fmt, "service_definition", None, body)


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


def _request_of(order: Order, note: str | None, lang: str) -> dict[str, Any]:
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
        "media_url": order.photos[0] if order.photos else None,
    }


def _notes(session: Session, public_ids: list[str]) -> dict[str, str | None]:
    """status_notes of many orders, from their timelines read in bulk."""
    timelines = services.events_by_order(session, public_ids)
    return {k: _note([(e.action, e.actor, e.reason, e.data) for e in v]) for k, v in timelines.items()}


def _citizen_order(session: Session, public_id: str) -> Order:
    order = services.get_order(session, READER, public_id)
    if order.source != "citizen":
        raise Open311Error(404, f"No service request {public_id}.")
    return order


def _one(session: Session, public_id: str, lang: str) -> dict[str, Any]:
    try:
        order = _citizen_order(session, public_id)
    except DomainError as exc:
        if exc.status == 404:
            raise Open311Error(404, f"No service request {public_id}.") from None
        raise
    note = _note([(e.action, e.actor, e.reason, e.data) for e in order.timeline or []])
    return _request_of(order, note, lang)


# --- requests: reading --------------------------------------------------------------------


def _parse_time(name: str, raw: str) -> datetime:
    text = re.sub(r" (\d\d:?\d\d)$", r"+\1", raw.strip())  # an unencoded "+08:00" arrives as " 08:00"
    try:
        at = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise Open311Error(400, f"{name} must be an ISO 8601 date-time, e.g. 2026-11-24T08:00:00+08:00.") from None
    if at.tzinfo is None:  # without an offset: the district's local time
        at = at.replace(tzinfo=calendar.LOCAL_TZ)
    return at


def _csv(raw: str | None) -> list[str]:
    return [p.strip() for p in (raw or "").split(",") if p.strip()]


def _window(start_raw: str | None, end_raw: str | None) -> tuple[datetime, datetime]:
    start = _parse_time("start_date", start_raw) if start_raw else None
    end = _parse_time("end_date", end_raw) if end_raw else None
    if start is None and end is None:
        end = calendar.utcnow() + timedelta(seconds=1)
        start = end - DEFAULT_WINDOW
    elif start is None:
        start = end - DEFAULT_WINDOW
    elif end is None:
        end = start + DEFAULT_WINDOW
    if end < start:
        raise Open311Error(400, "end_date is before start_date.")
    if end - start > DEFAULT_WINDOW:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days.")
    return start, end


def _search(session: Session, codes: list[str | None], statuses: set[str], start: datetime,
            end: datetime) -> list[Order]:
    wanted = [st for st in lifecycle.STATES if ("closed" if _is_closed(st) else "open") in statuses]
    categories = [c for c in codes if c is not None] or None
    found: list[Order] = []
    cursor = None
    while len(found) < MAX_REQUESTS:
        page = services.list_orders(session, READER, limit=PAGE, cursor=cursor, source="citizen",
                                    category=categories, status=wanted, created_from=start, created_to=end)
        found.extend(page.items)
        if not page.next:
            break
        cursor = page.next
    return found[:MAX_REQUESTS]


@router.get("/requests.{fmt}", summary="Service requests (citizen work orders), newest first")
def list_requests(request: Request, fmt: str) -> Response:
    fmt = _format(fmt)
    lang = _lang(request)
    q = request.query_params
    ids = _csv(q.get("service_request_id"))
    with _unit(request) as session:
        if ids:  # the spec: with service_request_id, every other parameter is ignored
            items = []
            for public_id in ids[:MAX_REQUESTS]:
                try:
                    items.append(_one(session, public_id, lang))
                except Open311Error:
                    continue
            return _render(fmt, "service_requests", "request", items)
        codes = _csv(q.get("service_code"))
        for code in codes:
            if code not in reference().categories:
                raise Open311Error(400, f"Unknown service_code {code!r}; see GET {PREFIX}/services.json.")
        statuses = set(_csv((q.get("status") or "").lower())) or {"open", "closed"}
        if not statuses <= {"open", "closed"}:
            raise Open311Error(400, "status must be open, closed or both (comma-separated).")
        start, end = _window(q.get("start_date"), q.get("end_date"))
        orders = _search(session, list(dict.fromkeys(codes)) or [None], statuses, start, end)
        notes = _notes(session, [o.id for o in orders])
        items = [_request_of(o, notes.get(o.id), lang) for o in orders]
    return _render(fmt, "service_requests", "request", items)


@router.get("/requests/{service_request_id}.{fmt}", summary="One service request")
def get_request(request: Request, service_request_id: str, fmt: str) -> Response:
    fmt = _format(fmt)
    with _unit(request) as session:
        item = _one(session, service_request_id, _lang(request))
    return _render(fmt, "service_requests", "request", [item])


@router.get("/tokens/{token}.{fmt}", summary="The service_request_id behind a token (the token is the id)")
def get_token(request: Request, token: str, fmt: str) -> Response:
    fmt = _format(fmt)
    with _unit(request) as session:
        try:
            order = _citizen_order(session, token)
        except DomainError as exc:
            if exc.status == 404:
                raise Open311Error(404, f"No request for token {token}.") from None
            raise
    return _render(fmt, "service_requests", "request", [{"service_request_id": order.id, "token": token}])


# --- requests: creating -------------------------------------------------------------------


def _key_client(session: Session, key: str) -> str:
    """The public id of the Open311 client a valid API key belongs to (the key itself is never kept)."""
    try:
        holder = identity.authenticate_api_key(session, key, kind="open311")
    except (Unauthorized, Forbidden):
        raise Open311Error(403, "A valid api_key (an Open311 client key) is required to submit a request.") from None
    return holder.id.removeprefix("key:")


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


def _order_from_form(form: dict[str, str], attributes: dict[str, str]) -> OrderCreate:
    code = form.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "service_code is required.")
    cat = reference().categories.get(code)
    if cat is None:
        raise Open311Error(400, f"Unknown service_code {code!r}; see GET {PREFIX}/services.json.")
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
    known = {a["code"]: a for a in _attributes("en")}
    unknown = sorted(set(attributes) - set(known))
    if unknown:
        raise Open311Error(400, f"Unknown attribute {unknown[0]!r}; see GET {PREFIX}/services/{code}.json.")
    severity = attributes.get("severity", "").strip() or "normal"
    if severity not in SEVERITY_NAMES:
        raise Open311Error(400, "attribute[severity] must be normal or urgent.")
    photos = [u for u in (form.get("media_url", "").strip(), attributes.get("photo_ref", "").strip()) if u]
    for ref in photos:
        if len(ref) > 500:
            raise Open311Error(400, "media_url and attribute[photo_ref] may have at most 500 characters.")
    description = form.get("description", "").strip() or cat.name_zh
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


def _create(request: Request, form: dict[str, str], attributes: dict[str, str]) -> JSONResponse:
    """Create the order; with an Idempotency-Key a retry gets the first reply (per client key)."""
    key = form.get("api_key", "").strip()
    with _unit(request) as session:
        if not key:
            raise Open311Error(403, "A valid api_key (an Open311 client key) is required to submit a request.")
        client = _key_client(session, key)
        data = _order_from_form(form, attributes)
        actor = Actor(id=f"open311:{client}", roles=frozenset({"citizen"}))

        def produce() -> tuple[int, list[dict[str, Any]]]:
            order = services.create_order(session, actor, data)
            reply: dict[str, Any] = {"service_request_id": order.id, "service_notice": _notice(order, _lang(request))}
            if form.get("account_id", "").strip():
                reply["account_id"] = form["account_id"].strip()
            return 200, [reply]

        return idempotent(session, request, f"open311:{client}", produce)


_ATTRIBUTE = re.compile(r"^attribute\[(.+)\]$")


@router.post("/requests.{fmt}", summary="Submit a service request (form-encoded, as the spec says)")
async def create_request(request: Request, fmt: str) -> Response:
    fmt = _format(fmt)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise Open311Error(400, "Send the request form-encoded (application/x-www-form-urlencoded).")
    try:
        raw = await request.form()
    except Exception:
        raise Open311Error(400, "The form could not be read.") from None
    form: dict[str, str] = {}
    attributes: dict[str, str] = {}
    for name, value in raw.multi_items():
        if not isinstance(value, str):
            raise Open311Error(400, f"{name}: files are not accepted; give a media_url instead.")
        m = _ATTRIBUTE.match(name)
        if m:
            attributes[m.group(1)] = value
        else:
            form.setdefault(name, value)
    reply = await run_in_threadpool(_create, request, form, attributes)
    if fmt == "json":
        return reply
    response = _render(fmt, "service_requests", "request", json.loads(reply.body), status=reply.status_code)
    if "Idempotent-Replay" in reply.headers:
        response.headers["Idempotent-Replay"] = reply.headers["Idempotent-Replay"]
    return response
