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
* ``media_url`` is an absolute URL: photos uploaded with the form (a ``media`` file) or given as
  keys are served at ``/media/{key}`` under ``TWONETS_PUBLIC_BASE_URL`` (else the request's own
  base URL); outside URLs are returned as they came;
* ``attribute[code]`` and the multi-value ``attribute[code][]``: attributes this server does not
  define are kept with the request (a line of its description), not refused;
* a parameter may be repeated or comma-separated (``status=open&status=closed``); ``start_date``
  alone searches from it up to now, ``end_date`` alone the 90 days before it; both may not span
  more than 90 days;
* the Service Discovery document is at ``/open311/discovery.{json,xml}`` (``open311_discovery``);
  any other path under the prefix answers the spec's error list (404, or 405 for a wrong method);
* a POST with an ``Idempotency-Key`` header is answered once: a retry with the same key (from
  the same client) gets the first reply and creates nothing.

Times are ISO 8601 with the district's offset (+08:00). POST needs an ``api_key`` (in the form
or, as some clients send it, the query string) of kind ``open311`` issued by the data foundation (``data.identity``); the work order is created by
``Actor("open311:KEY-…", {"citizen"})``: the client submits on a citizen's behalf, so it gets
exactly the rights of a citizen and the event rows name the key, never the person.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from twonets.api import open311_discovery
from twonets.api.deps import idempotent
from twonets.api.open311_errors import Open311Error, Open311Route, error_response, log  # noqa: F401  (re-exported)
from twonets.api.open311_fields import (  # noqa: F401  (re-exported: the mapping's constants)
    CLOSED_STATUSES,
    READER,
    SEVERITY_NAMES,
    SILENT_ACTIONS,
    SILENT_SYSTEM_ACTIONS,
    _attributes,
    _category,
    _citizen_order,
    _is_closed,
    _notes,
    _notice,
    _one,
    _order_from_form,
    _request_of,
    _service,
)
from twonets.api.open311_format import FORMATS, PREFIX, _lang, _render
from twonets.city import lifecycle
from twonets.city import orders as work_orders
from twonets.city.models import Order
from twonets.city.reference import reference
from twonets.core import calendar, media
from twonets.core.actor import Actor
from twonets.core.config import settings
from twonets.core.db import unit_of_work
from twonets.core.errors import DomainError, Forbidden, Unauthorized
from twonets.data import identity

DEFAULT_WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
PAGE = 500

v2 = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route)


# --- formats and sessions ----------------------------------------------------------------


def _format(fmt: str) -> str:
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise Open311Error(404, f"Unknown format {fmt!r}; use .json or .xml.")
    return fmt


def _unit(request: Request):
    return unit_of_work(sessions=request.app.state.sessions)


# --- services -----------------------------------------------------------------------------


@v2.get("/services.{fmt}", summary="Service list: one service per minor event category")
def list_services(request: Request, fmt: str) -> Response:
    fmt = _format(fmt)
    lang = _lang(request)
    items = [_service(c, lang) for c in reference().categories.values()]
    return _render(fmt, "services", "service", items)


@v2.get("/services/{service_code}.{fmt}", summary="Service definition: the attributes of a service")
def service_definition(request: Request, service_code: str, fmt: str) -> Response:
    fmt = _format(fmt)
    cat = _category(service_code)
    body = {"service_code": cat.code, "attributes": _attributes(_lang(request))}
    return _render(fmt, "service_definition", None, body)


# --- requests: reading --------------------------------------------------------------------


def _parse_time(name: str, raw: str) -> datetime:
    text = re.sub(r" (\d\d:?\d\d)$", r"+\1", raw.strip())  # an unencoded "+08:00" arrives as " 08:00"
    try:
        at = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise Open311Error(400, f"{name} must be an ISO 8601 date-time, e.g. 2026-11-24T08:00:00+08:00.") from None
    if at.tzinfo is None:  # without an offset: the district's local time
        at = at.replace(tzinfo=calendar.LOCAL_TZ)
    if not calendar.in_range(at):
        raise Open311Error(400, f"{name} must lie {calendar.RANGE_TEXT}.")
    return at


def _values(request: Request, name: str) -> list[str]:
    """Every value of a parameter, whether repeated (``status=open&status=closed``) or
    comma-separated (``status=open,closed``), in the order given, without repeats."""
    found = [p.strip() for raw in request.query_params.getlist(name) for p in raw.split(",")]
    return list(dict.fromkeys(p for p in found if p))


def _single(request: Request, name: str) -> str | None:
    values = list(dict.fromkeys(v.strip() for v in request.query_params.getlist(name) if v.strip()))
    if len(values) > 1:
        raise Open311Error(400, f"{name} may be given once.")
    return values[0] if values else None


def _window(start_raw: str | None, end_raw: str | None) -> tuple[datetime, datetime]:
    """The spec: without dates, the most recent 90 days; start_date alone, from it up to now;
    end_date alone, the 90 days up to it; both, a range of at most 90 days."""
    start = _parse_time("start_date", start_raw) if start_raw else None
    end = _parse_time("end_date", end_raw) if end_raw else None
    now = calendar.utcnow() + timedelta(seconds=1)
    if start is None:
        end = end or now
        return end - DEFAULT_WINDOW, end
    if end is None:
        return start, max(start, now)  # a start in the future finds nothing rather than failing
    if end < start:
        raise Open311Error(400, "end_date is before start_date.")
    if end - start > DEFAULT_WINDOW:
        raise Open311Error(400, "start_date and end_date may not span more than 90 days.")
    return start, end


def _base(request: Request) -> str:
    """This server's public base URL, for the links it hands out (media_url)."""
    return settings().public_base_url


def _search(session: Session, codes: list[str | None], statuses: set[str], start: datetime,
            end: datetime) -> list[Order]:
    wanted = [st for st in lifecycle.STATES if ("closed" if _is_closed(st) else "open") in statuses]
    categories = [c for c in codes if c is not None] or None
    found: list[Order] = []
    cursor = None
    while len(found) < MAX_REQUESTS:
        page = work_orders.list_orders(session, READER, limit=PAGE, cursor=cursor, source="citizen",
                                    category=categories, status=wanted, created_from=start, created_to=end)
        found.extend(page.items)
        if not page.next:
            break
        cursor = page.next
    return found[:MAX_REQUESTS]


@v2.get("/requests.{fmt}", summary="Service requests (citizen work orders), newest first")
def list_requests(request: Request, fmt: str) -> Response:
    fmt = _format(fmt)
    lang, base = _lang(request), _base(request)
    ids = _values(request, "service_request_id")
    with _unit(request) as session:
        if ids:  # the spec: with service_request_id, every other parameter is ignored
            items = []
            for public_id in ids[:MAX_REQUESTS]:
                try:
                    items.append(_one(session, public_id, lang, base))
                except Open311Error:
                    continue
            return _render(fmt, "service_requests", "request", items)
        codes = _values(request, "service_code")
        for code in codes:
            if code not in reference().categories:
                raise Open311Error(400, f"Unknown service_code {code!r}; see GET {PREFIX}/services.json.")
        statuses = {s.lower() for s in _values(request, "status")} or {"open", "closed"}
        if not statuses <= {"open", "closed"}:
            raise Open311Error(400, "status must be open, closed or both (repeated or comma-separated).")
        start, end = _window(_single(request, "start_date"), _single(request, "end_date"))
        orders = _search(session, codes or [None], statuses, start, end)
        notes = _notes(session, [o.id for o in orders])
        items = [_request_of(o, notes.get(o.id), lang, base) for o in orders]
    return _render(fmt, "service_requests", "request", items)


@v2.get("/requests/{service_request_id}.{fmt}", summary="One service request")
def get_request(request: Request, service_request_id: str, fmt: str) -> Response:
    fmt = _format(fmt)
    with _unit(request) as session:
        item = _one(session, service_request_id, _lang(request), _base(request))
    return _render(fmt, "service_requests", "request", [item])


@v2.get("/tokens/{token}.{fmt}", summary="The service_request_id behind a token (the token is the id)")
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


def _create(request: Request, form: dict[str, str], attributes: dict[str, list[str]],
            photos: list[bytes]) -> JSONResponse:
    """Create the order; with an Idempotency-Key a retry gets the first reply (per client key).
    Uploaded photos are stored only once the key is valid and only for a request that is created."""
    key = (form.get("api_key") or request.query_params.get("api_key") or "").strip()
    with _unit(request) as session:
        if not key:
            raise Open311Error(403, "A valid api_key (an Open311 client key) is required to submit a request.")
        client = _key_client(session, key)
        _order_from_form(form, attributes)  # every field checked before anything is stored
        actor = Actor(id=f"open311:{client}", roles=frozenset({"citizen"}))

        def produce() -> tuple[int, list[dict[str, Any]]]:
            stored = [media.save(photo, "open311") for photo in photos]
            try:
                order = work_orders.create_order(session, actor, _order_from_form(form, attributes, tuple(stored)))
            except Exception:
                for stored_key in stored:
                    media.discard(stored_key)
                raise
            reply: dict[str, Any] = {"service_request_id": order.id, "service_notice": _notice(order, _lang(request))}
            if form.get("account_id", "").strip():
                reply["account_id"] = form["account_id"].strip()
            return 200, [reply]

        return idempotent(session, request, f"open311:{client}", produce)


# attribute[code] and the spec's multi-value attribute[code][]
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
MAX_PHOTOS = 5


@v2.post("/requests.{fmt}", summary="Submit a service request (form-encoded, as the spec says)")
async def create_request(request: Request, fmt: str) -> Response:
    fmt = _format(fmt)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise Open311Error(400, "Send the request form-encoded (application/x-www-form-urlencoded).")
    try:
        raw = await request.form(max_files=MAX_PHOTOS)
    except Exception:
        raise Open311Error(400, f"The form could not be read (at most {MAX_PHOTOS} files).") from None
    form: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    photos: list[bytes] = []
    for name, value in raw.multi_items():
        if not isinstance(value, str):
            if name != "media":
                raise Open311Error(400, f"{name}: only photos are accepted as files, as media.")
            data = await value.read(media.MAX_BYTES + 1)
            if len(data) > media.MAX_BYTES:
                raise Open311Error(400, f"media: a photo may have at most {media.MAX_BYTES // (1024 * 1024)} MB.")
            photos.append(data)
            continue
        m = _ATTRIBUTE.match(name)
        if m:
            attributes.setdefault(m.group(1), []).append(value)
        elif name.startswith("attribute["):
            raise Open311Error(400, f"{name!r} is not an attribute; send attribute[code] or attribute[code][].")
        else:
            form.setdefault(name, value)
    reply = await run_in_threadpool(_create, request, form, attributes, photos)
    if fmt == "json":
        return reply
    response = _render(fmt, "service_requests", "request", json.loads(reply.body), status=reply.status_code)
    if "Idempotent-Replay" in reply.headers:
        response.headers["Idempotent-Replay"] = reply.headers["Idempotent-Replay"]
    return response


# --- everything else under the prefix: the spec's error list, not problem details -----------

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@v2.api_route("/{rest:path}", methods=_METHODS, include_in_schema=False)
def unmatched(request: Request, rest: str) -> Response:
    allowed = sorted({m for r in v2.routes if r.path_regex.match(request.url.path) and r.name != "unmatched"
                      for m in getattr(r, "methods", ())})
    if allowed:  # the spec's error list, with the Allow header RFC 9110 asks of a 405
        response = error_response("xml" if request.url.path.lower().endswith(".xml") else "json", 405,
                                  [f"{request.method} is not allowed here; use {', '.join(allowed)}."])
        response.headers["Allow"] = ", ".join(allowed)
        return response
    raise Open311Error(404, f"No such Open311 resource: {request.url.path}. See {PREFIX}/services.json "
                            f"and /open311/discovery.json.")


router = APIRouter()
router.include_router(open311_discovery.router)
router.include_router(v2)
