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
import re
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from twonets.api.deps import idempotent
from twonets.api.open311_errors import Open311Error, Open311Route, error_response, log  # noqa: F401  (re-exported)
from twonets.api.open311_fields import (  # noqa: F401  (re-exported: the mapping's constants)
    CLOSED_STATUSES, READER, SEVERITY_NAMES, SILENT_ACTIONS, SILENT_SYSTEM_ACTIONS, _attributes, _category,
    _citizen_order, _is_closed, _notes, _notice, _one, _order_from_form, _request_of, _service,
)
from twonets.api.open311_format import FORMATS, PREFIX, _lang, _render
from twonets.core.db import unit_of_work
from twonets.city import lifecycle
from twonets.city import orders as work_orders
from twonets.city.models import Order
from twonets.city.reference import reference
from twonets.core import calendar
from twonets.core.actor import Actor
from twonets.core.errors import DomainError, Forbidden, Unauthorized
from twonets.data import identity

DEFAULT_WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
PAGE = 500

router = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route)


# --- formats and sessions ----------------------------------------------------------------


def _format(fmt: str) -> str:
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise Open311Error(404, f"Unknown format {fmt!r}; use .json or .xml.")
    return fmt


def _unit(request: Request):
    return unit_of_work(sessions=request.app.state.sessions)


# --- services -----------------------------------------------------------------------------


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
        page = work_orders.list_orders(session, READER, limit=PAGE, cursor=cursor, source="citizen",
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
            order = work_orders.create_order(session, actor, data)
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
