"""City sensing over HTTP: readings from gateways, the things registry with latest state and
history, business tags, detectors, alarms, and the live feed for the console (SSE)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from twonets.api.auth import api_key_actor, require_roles
from twonets.api.deps import get_session
from twonets.city.sensing import alarms, bridge, pipeline, store, tags, things
from twonets.city.sensing.definitions import catalog
from twonets.core import events
from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg

router = APIRouter(prefix="/api/v1", tags=["city sensing"])
STAFF = ("dispatcher", "department_handler", "grid_inspector", "reviewer", "data_officer", "administrator", "system")
staff = require_roles(*STAFF)
MAX_BODY = 8 * 1024 * 1024
MAX_READINGS = 20_000

_READINGS_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "array", "maxItems": MAX_READINGS, "items": {"type": "object"}},
                                 "example": [{"thing_id": "wlg-0001", "ts": "2026-11-28T10:00:00+08:00",
                                              "values": {"depth_cm": 12.5}}]},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


@router.post("/readings", openapi_extra=_READINGS_BODY,
             summary="Readings from a gateway (JSON list or NDJSON); bad ones are quarantined with reasons")
async def post_readings(request: Request, actor: Actor = Depends(api_key_actor("device")),
                        session: Session = Depends(get_session)) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise InvalidInput(Msg("at most {mib} MiB per request; split the batch", mib=MAX_BODY // (1024 * 1024)))
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    ndjson = ctype in ("application/x-ndjson", "application/ndjson", "application/jsonlines")
    if raw.count(b"\n" if ndjson else b"{") > MAX_READINGS * 2:
        raise InvalidInput(Msg("at most {most} readings per request; split the batch", most=MAX_READINGS))
    ref = f"http:{actor.id}"
    result = await asyncio.to_thread(
        lambda: pipeline.ingest(session, [pipeline.Message(raw, None, ref, ndjson)], source="http"))
    return result.as_dict()


@router.get("/things", summary="The things registry (NGSI-LD-like), paginated")
def list_things(type: str | None = Query(None, max_length=40), street_code: str | None = Query(None, max_length=40),
                grid_code: str | None = Query(None, max_length=40), limit: int = Query(50, ge=1, le=500),
                cursor: str | None = Query(None, max_length=200), _: Actor = Depends(staff),
                session: Session = Depends(get_session)) -> dict[str, Any]:
    return things.list_things(session, type=type, street_code=street_code, grid_code=grid_code, limit=limit, cursor=cursor)


@router.post("/things", status_code=201, summary="Register things (or update them, same thing_id)")
def register_things(body: list[things.ThingIn] = Body(..., max_length=1000),
                    actor: Actor = Depends(require_roles("administrator", "data_officer", "dispatcher", "system")),
                    session: Session = Depends(get_session)) -> dict[str, Any]:
    registered = things.register(session, actor, body)
    return {"items": [t.as_dict() for t in registered], "next": None}


@router.get("/things/{thing_id}", summary="One thing with its latest state")
def get_thing(thing_id: str, _: Actor = Depends(staff), session: Session = Depends(get_session)) -> dict[str, Any]:
    return things.get_thing(session, thing_id)


def _aware(name: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(Msg("{name} needs a time zone, e.g. 2026-11-28T00:00:00+08:00", name=name),
                           errors=[{"field": name, "message": Msg("time zone required")}])


@router.get("/things/{thing_id}/readings", summary="A thing's readings: raw, or minute/hour rollups")
def thing_readings(thing_id: str, start: datetime | None = Query(None, alias="from", description="ISO 8601, inclusive (default: `to` − 24 h)"),
                   end: datetime | None = Query(None, alias="to", description="ISO 8601, exclusive (default: now)"),
                   agg: Literal["raw", "minute", "hour"] = "raw", attribute: str | None = Query(None, max_length=40),
                   limit: int = Query(500, ge=1, le=5000), cursor: str | None = Query(None, max_length=200),
                   _: Actor = Depends(staff), session: Session = Depends(get_session)) -> dict[str, Any]:
    _aware("from", start)
    _aware("to", end)
    things.get_thing(session, thing_id)  # 404 for an unknown thing
    end = end or utcnow()
    start = start or end - timedelta(hours=24)
    return store.query_readings(session, thing_id, start=start, end=end, agg=agg, attribute=attribute,
                                limit=limit, cursor=cursor)


@router.post("/tags", summary="Push business tags (people, places, organisations, things) with validity")
def push_tags(body: list[tags.TagIn] = Body(..., max_length=5000),
              actor: Actor = Depends(require_roles(*tags.PUSHERS)), session: Session = Depends(get_session)) -> dict[str, Any]:
    return tags.push(session, actor, body)


@router.get("/tags", summary="Business tags (people's references masked)")
def list_tags(subject_ref: str | None = Query(None, max_length=80), tag: str | None = Query(None, max_length=60),
              limit: int = Query(100, ge=1, le=500), cursor: str | None = Query(None, max_length=200),
              _: Actor = Depends(staff), session: Session = Depends(get_session)) -> dict[str, Any]:
    return tags.list_tags(session, subject_ref=subject_ref, tag=tag, limit=limit, cursor=cursor)


@router.get("/detectors", summary="The detectors (scenarios) as loaded from their definitions")
def list_detectors(_: Actor = Depends(staff)) -> dict[str, Any]:
    items = [d.model_dump(mode="json", by_alias=True) for d in catalog().detectors.values()]
    return {"items": items, "next": None}


@router.get("/thing-types", summary="Thing types: attributes, units, valid ranges, reporting interval")
def list_thing_types(_: Actor = Depends(staff)) -> dict[str, Any]:
    return {"items": [t.model_dump(mode="json") for t in catalog().types.values()], "next": None}


@router.get("/alarms", summary="Alarms, newest first")
def list_alarms(status: Literal["active", "cleared"] | None = None, detector: str | None = Query(None, max_length=60),
                thing_id: str | None = Query(None, max_length=80), limit: int = Query(50, ge=1, le=500),
                cursor: str | None = Query(None, max_length=200), _: Actor = Depends(staff),
                session: Session = Depends(get_session)) -> dict[str, Any]:
    return alarms.list_alarms(session, status=status, detector=detector, thing_id=thing_id, limit=limit, cursor=cursor)


@router.get("/readings/quarantine", summary="Quarantined readings with their reasons, newest first, and counts by reason")
def quarantine(reason: str | None = Query(None, max_length=40), thing_id: str | None = Query(None, max_length=80),
               limit: int = Query(50, ge=1, le=500), cursor: str | None = Query(None, max_length=200),
               _: Actor = Depends(staff), session: Session = Depends(get_session)) -> dict[str, Any]:
    page = store.list_quarantine(session, reason=reason, thing_id=thing_id, limit=limit, cursor=cursor)
    return {**page, "reasons": store.quarantine_reasons(session), **store.counts(session)}


# --- live feed ------------------------------------------------------------------------------

STREAM_TOPICS = ("alarm", "order")


def _visible(actor: Actor, payload: dict[str, Any]) -> bool:
    if actor.has("dispatcher", "administrator", "system", "reviewer", "data_officer"):
        return True
    dept = payload.get("department")
    return dept is None or dept == actor.department


@router.get("/stream", include_in_schema=False)
async def stream(request: Request, topics: str = "alarm,order", max_events: int | None = None,
                 timeout_s: float | None = None, actor: Actor = Depends(staff)) -> StreamingResponse:
    """Server-sent events of alarms and work-order changes, for the console.

    `event: alarm|order`, `data: {...}`; a comment line every 15 s keeps proxies from closing
    the connection. `max_events` / `timeout_s` end the stream (for scripts and tests).
    """
    wanted = [t for t in topics.split(",") if t in STREAM_TOPICS]
    if not wanted:
        raise InvalidInput(Msg("topics is a comma-separated subset of {stream_topics}", stream_topics=', '.join(STREAM_TOPICS)))
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue = asyncio.Queue(maxsize=1000)

    def put(item) -> None:
        if inbox.full():  # a slow console loses the oldest events, never blocks the pipeline
            inbox.get_nowait()
        inbox.put_nowait(item)

    def handler(topic: str, payload: dict[str, Any]) -> None:
        if _visible(actor, payload):
            loop.call_soon_threadsafe(put, (topic, payload))

    unsubscribe = [events.subscribe(t, handler) for t in wanted]
    await asyncio.to_thread(bridge.ensure_listening)  # alarms raised by ingestion workers elsewhere

    async def feed():
        try:
            yield ": connected\n\n"
            sent = 0
            ends = None if timeout_s is None else loop.time() + timeout_s
            while ends is None or loop.time() < ends:
                if await request.is_disconnected():
                    break
                wait = 15.0 if ends is None else max(min(15.0, ends - loop.time()), 0.01)
                try:
                    topic, payload = await asyncio.wait_for(inbox.get(), timeout=wait)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: {topic}\ndata: {json.dumps(payload, ensure_ascii=False, default=str)}\n\n"
                sent += 1
                if max_events is not None and sent >= max_events:
                    break
        finally:
            for off in unsubscribe:
                off()

    return StreamingResponse(feed(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
