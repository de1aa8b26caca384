"""Server-sent events for the console: alarms and work-order changes as they are committed.

The same feed as the API's `/api/v1/stream` (api/sensing.py), for a page signed in with the
session cookie (a browser's EventSource cannot send a Bearer token): it subscribes to the
in-process events (core/events.py) and to alarms raised by ingestion workers in other
processes (city/sensing/bridge.py). A department handler sees only its department's orders.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from twonets.city.sensing import bridge
from twonets.core import events
from twonets.core.actor import Actor

TOPICS = ("alarm", "order")
KEEP_ALIVE_S = 15.0


def visible(actor: Actor, payload: dict[str, Any]) -> bool:
    if actor.has("dispatcher", "administrator", "system", "reviewer", "data_officer"):
        return True
    dept = payload.get("department")
    return dept is None or dept == actor.department


async def feed(request: Request, actor: Actor) -> StreamingResponse:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue = asyncio.Queue(maxsize=1000)

    def put(item) -> None:
        if inbox.full():  # a slow page loses the oldest events, never blocks the pipeline
            inbox.get_nowait()
        inbox.put_nowait(item)

    def handler(topic: str, payload: dict[str, Any]) -> None:
        if visible(actor, payload):
            loop.call_soon_threadsafe(put, (topic, payload))

    unsubscribe = [events.subscribe(t, handler) for t in TOPICS]
    await asyncio.to_thread(bridge.ensure_listening)

    async def lines():
        try:
            yield ": connected\n\n"
            while not await request.is_disconnected():
                try:
                    topic, payload = await asyncio.wait_for(inbox.get(), timeout=KEEP_ALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: {topic}\ndata: {json.dumps(payload, ensure_ascii=False, default=str)}\n\n"
        finally:
            for off in unsubscribe:
                off()

    return StreamingResponse(lines(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
