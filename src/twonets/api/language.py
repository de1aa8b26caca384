"""Every API response names its language: `Content-Language` from the request's `Accept-Language`
(`twonets.core.i18n.negotiate`; Chinese by default) and `Vary: Accept-Language`, since the words of
a response (problem details) depend on it. A response that set its own keeps it. A pure ASGI
middleware: nothing is buffered, streams (SSE) pass through."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twonets.core import i18n

PREFIXES = ("/api/", "/open311/")


class ContentLanguage:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIXES):
            await self.app(scope, receive, send)
            return
        tag = i18n.TAGS[i18n.negotiate(Headers(scope=scope).get("accept-language"))]

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-language" not in headers:
                    headers["Content-Language"] = tag
                headers.add_vary_header("Accept-Language")
            await send(message)

        await self.app(scope, receive, send_with_language)
