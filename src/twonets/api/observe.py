"""A plain ASGI wrapper that reports each HTTP request once its response has gone (or failed):
`on_done(scope, status, seconds)`. Cheaper than BaseHTTPMiddleware; used by the request metrics
and the access log."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

Done = Callable[[dict[str, Any], int, float], None]


class Observed:
    def __init__(self, app, on_done: Done):
        self.app, self.on_done = app, on_done

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}  # what the client gets when the app fails before answering

        async def _send(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            self.on_done(scope, status["code"], time.perf_counter() - started)
