"""Cookie sessions for the web pages, on top of the identity service (data/identity.py).

Signing in checks the password with `identity.login` (throttling and audit included) and keeps
the token pair in two cookies, both HttpOnly and SameSite=Lax (Secure over https): the
short-lived access token (a JWT, decoded per request like a Bearer token) and the refresh
token, swapped for a new pair when the access token has expired. Signing out revokes the
refresh family. Forms carry the double-submit CSRF token (the rule of api/security.py, kept here so that
the web does not import the API).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

from twonets.core.actor import Actor
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden, Unauthorized
from twonets.core.i18n import Msg
from twonets.data import identity

CSRF_COOKIE = "twonets_csrf"  # the double-submit cookie of api/security.py, same name and rule
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
ACCESS_COOKIE = "twonets_session"
REFRESH_COOKIE = "twonets_refresh"
_STATE = "web_actor"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def queue_cookie(request: Request, name: str, value: str | None, max_age: int | None = None,
                 httponly: bool = True) -> None:
    """Remember a cookie to set (or, with value None, to delete) on whatever response the page makes."""
    pending = getattr(request.state, "web_cookies", None)
    if pending is None:
        pending = request.state.web_cookies = []
    pending.append((name, value, max_age, httponly))


def apply_cookies(request: Request, response: Response) -> Response:
    for name, value, max_age, httponly in getattr(request.state, "web_cookies", []):
        if value is None:
            response.delete_cookie(name, path="/", httponly=httponly, samesite="lax", secure=_secure(request))
        else:
            response.set_cookie(name, value, max_age=max_age, path="/", httponly=httponly, samesite="lax",
                                secure=_secure(request))
    request.state.web_cookies = []
    return response


def keep_pair(request: Request, pair: identity.TokenPair) -> None:
    queue_cookie(request, ACCESS_COOKIE, pair.access_token, pair.refresh_expires_in)
    queue_cookie(request, REFRESH_COOKIE, pair.refresh_token, pair.refresh_expires_in)


def forget(request: Request) -> None:
    queue_cookie(request, ACCESS_COOKIE, None)
    queue_cookie(request, REFRESH_COOKIE, None)


def actor(request: Request) -> Actor | None:
    """The signed-in user, or None. Refreshes an expired access token with the refresh cookie."""
    if hasattr(request.state, _STATE):
        return getattr(request.state, _STATE)
    found: Actor | None = None
    access = request.cookies.get(ACCESS_COOKIE)
    if access:
        try:
            found, sid = identity.decode_access_claims(access)
            if sid is not None:  # signed out, session revoked or account disabled: at once, as in the API
                with unit_of_work(sessions=request.app.state.sessions) as session:
                    if not identity.session_is_live(session, found.id, sid):
                        found = None
            if found is not None:
                request.state.web_access = access
        except Unauthorized:
            found = None
    refresh = request.cookies.get(REFRESH_COOKIE)
    if found is None and refresh:
        try:
            with unit_of_work(sessions=request.app.state.sessions) as session:
                pair = identity.refresh(session, refresh)
            keep_pair(request, pair)
            request.state.web_access = pair.access_token
            found = pair.user.actor()
        except Unauthorized:
            forget(request)
    setattr(request.state, _STATE, found)
    return found


def username(request: Request) -> str | None:
    """The signed-in user's name, from the access token already verified by `actor`."""
    token = getattr(request.state, "web_access", None)
    if not token:
        return None
    import jwt

    return jwt.decode(token, options={"verify_signature": False}).get("preferred_username")


def sign_in(request: Request, username: str, password: str) -> Actor:
    """Check the password; on success queue the session cookies. Unauthorized or Throttled otherwise."""
    ip = request.client.host if request.client else None
    with unit_of_work(sessions=request.app.state.sessions) as session:
        try:
            pair = identity.login(session, username, password, ip=ip)
        except Unauthorized:
            session.commit()  # keep the failure count even though the sign-in fails
            raise
    keep_pair(request, pair)
    request.state.web_access = pair.access_token
    setattr(request.state, _STATE, pair.user.actor())
    return pair.user.actor()


def sign_out(request: Request) -> None:
    refresh = request.cookies.get(REFRESH_COOKIE)
    if refresh:
        with unit_of_work(sessions=request.app.state.sessions) as session:
            identity.logout(session, refresh)
    forget(request)
    request.state.web_access = None
    setattr(request.state, _STATE, None)


def csrf_token(request: Request) -> str:
    """The page's CSRF token: the cookie's, or a new one queued as the cookie (readable by the
    page's scripts, which send it in X-CSRF-Token; SameSite=Lax like the session)."""
    token = getattr(request.state, "web_csrf", None) or request.cookies.get(CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(32)
        queue_cookie(request, CSRF_COOKIE, token, 8 * 3600, httponly=False)
    request.state.web_csrf = token
    return token


async def verify_csrf(request: Request) -> None:
    """Unsafe methods must echo the CSRF cookie in the X-CSRF-Token header or the form field."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    cookie = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not cookie or not sent or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise Forbidden(Msg("the form is missing its CSRF token or the token does not match; reload the page"))
