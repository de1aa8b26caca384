"""HTTP hardening: security headers on every response, a CSRF double-submit helper, and the
caller's address (forwarded headers believed only from trusted proxies).

Wire once in create_app:

    from twonets.api.security import install_security
    install_security(app)

CSRF for the future web package (cookie-authenticated HTML forms), double-submit cookie:

    from twonets.api.security import issue_csrf_token, verify_csrf

    @router.get("/form")           # render the form with the token in a hidden field
    def form(response: Response):
        token = issue_csrf_token(response)      # sets the twonets_csrf cookie
        ... <input type="hidden" name="csrf_token" value="{token}"> ...

    @router.post("/form", dependencies=[Depends(verify_csrf)])   # 403 unless cookie == field/header
    def submit(...): ...

JavaScript clients send the cookie's value in the `X-CSRF-Token` header instead. APIs called
with a Bearer token do not need CSRF protection (browsers never attach it by themselves).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from functools import lru_cache

from fastapi import FastAPI, Request, Response

from twonets.core.config import settings
from twonets.core.errors import Forbidden
from twonets.core.i18n import Msg

DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The interactive docs (twonets.api.docs) load their assets from this server and use an inline script.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


class SecurityHeaders:
    """Pure ASGI middleware (streams untouched): adds headers a response has not set itself."""

    def __init__(self, app, *, csp: str = DEFAULT_CSP, docs_csp: str = DOCS_CSP, hsts: bool = True):
        self.app = app
        self.csp = csp
        self.docs_csp = docs_csp
        self.hsts = hsts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        csp = self.docs_csp if path.startswith(DOCS_PATHS) else self.csp
        https = scope.get("scheme") == "https"
        extra = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"content-security-policy", csp.encode("ascii")),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self)"),
        ]
        if https and self.hsts:
            extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

        async def _send(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, _send)


def install_security(app: FastAPI, *, csp: str = DEFAULT_CSP, hsts: bool = True) -> None:
    """Add the security-headers middleware to the app (call before the app starts serving)."""
    app.add_middleware(SecurityHeaders, csp=csp, hsts=hsts)


# --- CSRF (double-submit cookie) ----------------------------------------------------------

CSRF_COOKIE = "twonets_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def issue_csrf_token(response: Response, *, secure: bool = True, max_age: int = 8 * 3600) -> str:
    """Set a fresh CSRF cookie on `response` and return the token to embed in the form."""
    token = secrets.token_urlsafe(32)
    response.set_cookie(CSRF_COOKIE, token, max_age=max_age, secure=secure, httponly=False, samesite="strict", path="/")
    return token


async def verify_csrf(request: Request) -> None:
    """Dependency: unsafe methods must echo the CSRF cookie in the header or the form field."""
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise Forbidden(Msg("the form is missing its CSRF token or the token does not match; reload the page"))


# --- the caller's address -------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in trusted)


def _ip(text: str):
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def _trusted(ip, networks) -> bool:
    return ip is not None and any(ip in n for n in networks)


def client_ip(request: Request) -> str | None:
    """The address the request came from, for throttling and the audit log.

    Rule: X-Forwarded-For is believed only when the connection comes from a trusted proxy
    (TWONETS_TRUSTED_PROXIES, none by default); then the caller is the right-most hop that is
    not itself a trusted proxy. Anything else (no proxies configured, another peer, a garbled
    hop) gives the connection's own address, so a client cannot choose its address by a header.
    `twonets serve` runs uvicorn without its own proxy-header handling, so this is the one rule."""
    peer = request.client.host if request.client else None
    networks = _networks(settings().trusted_proxies)
    if not networks or not _trusted(_ip(peer or ""), networks):
        return peer
    hops = [h for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            return peer
        if not _trusted(ip, networks):
            return str(ip)
    return str(_ip(hops[0])) if hops else peer
