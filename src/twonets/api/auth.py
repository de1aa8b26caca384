"""Who is calling: FastAPI dependencies that turn a request into an Actor, and the identity routes.

Use in any router:

    from twonets.api.auth import current_actor, optional_actor, require_roles

    @router.get("/things")
    def things(actor: Actor = Depends(current_actor)): ...            # 401 without identity

    @router.post("/things")
    def add(actor: Actor = Depends(require_roles("dispatcher", "administrator"))): ...  # 403 otherwise

    @router.get("/public")
    def public(actor: Actor | None = Depends(optional_actor)): ...    # None when anonymous

    @router.post("/open311/v2/requests.json")
    def post311(actor: Actor = Depends(api_key_actor("open311"))): ...  # X-API-Key / api_key

Credentials: `Authorization: Bearer <JWT access token>` (from POST /api/v1/auth/login), or an
API key in `X-API-Key` (or `Authorization: ApiKey <key>`). API-key actors have the role
`open311_client` or `device`, never a staff role, and no department.

Rule: an API key is accepted only by `api_key_actor(kind)` (a device posts readings; an Open311
client posts requests, whose reads are public). `current_actor` and `optional_actor` refuse a
valid key with 403 (an invalid one with 401), so a key never reaches a route written for
people, whatever the service layer would have let its Actor do.

Access tokens name their session (`sid`, the refresh-token family): each request checks that
the session is still live and the account active (one indexed query), so logout, a revoked
refresh family and a deactivated account end the access token at once.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from twonets.api.deps import ACTOR_STATE, get_session, idempotent
from twonets.api.problems import locale_of, problem
from twonets.api.security import client_ip
from twonets.core.actor import Actor
from twonets.core.config import settings
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden, Unauthorized
from twonets.core.i18n import Msg
from twonets.data import identity

_STATE_KEY = ACTOR_STATE


def _credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.strip():
        return "bearer", value.strip()
    if scheme == "apikey" and value.strip():
        return "api_key", value.strip()
    key = request.headers.get("x-api-key")
    if key:
        return "api_key", key.strip()
    return None


def _api_key(request: Request, raw: str, kind: str | None = None) -> Actor:
    with unit_of_work(sessions=request.app.state.sessions) as session:
        return identity.authenticate_api_key(session, raw, kind=kind)


def _session_live(request: Request, sub: str, sid: str) -> bool:
    with unit_of_work(sessions=request.app.state.sessions) as session:
        return identity.session_is_live(session, sub, sid)


KEY_RIGHTS = {"device": Msg("a device key only posts readings (POST /api/v1/readings)"),
              "open311": Msg("an Open311 key only posts and reads requests under /open311/v2/")}


def _refuse_key(actor: Actor) -> None:
    kinds = {role: kind for kind, role in identity.API_KEY_ROLES.items()}
    kind = next((kinds[r] for r in actor.roles if r in kinds), "unknown")
    raise Forbidden(Msg("an API key of kind {kind} is not accepted here: {rights}; people sign in with 'Authorization: Bearer <access token>'", kind=kind,
                        rights=KEY_RIGHTS.get(kind, Msg("it has no rights"))))


async def _resolve(request: Request) -> Actor | None:
    """The caller behind a bearer token (None without credentials). An API key is authenticated
    (401 when invalid) and then refused (403): see the module's rule."""
    # async: the token's signature is checked on the event loop; only the database look-ups
    # (a token's session, an API key) go to the thread pool.
    if hasattr(request.state, _STATE_KEY):
        return getattr(request.state, _STATE_KEY)
    creds = _credentials(request)
    actor: Actor | None = None
    if creds is not None:
        kind, value = creds
        if kind == "bearer":
            actor, sid = identity.decode_access_claims(value)
            if sid is not None and not await run_in_threadpool(_session_live, request, actor.id, sid):
                raise Unauthorized(Msg("the session has ended (signed out, revoked or account disabled); sign in again"))
        else:
            _refuse_key(await run_in_threadpool(_api_key, request, value))
    setattr(request.state, _STATE_KEY, actor)
    return actor


# Declared for OpenAPI (the docs' "Authorize" button); the credentials are read in _resolve.
_bearer_scheme = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/login")
_api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key of an Open311 client or a device")


async def current_actor(request: Request, _bearer: Any = Depends(_bearer_scheme)) -> Actor:
    """The caller, from a Bearer token; 401 problem when missing or invalid (or its session has
    ended), 403 for an API key (keys only reach `api_key_actor` routes)."""
    actor = await _resolve(request)
    if actor is None:
        raise Unauthorized(Msg("sign in: send 'Authorization: Bearer <access token>'"))
    return actor


async def optional_actor(request: Request, _bearer: Any = Depends(_bearer_scheme)) -> Actor | None:
    """The caller, or None when no credentials are sent (invalid credentials are still 401)."""
    return await _resolve(request)


def require_roles(*roles: str) -> Callable[..., Actor]:
    """A dependency that returns the caller when it has one of `roles`, else 403."""
    wanted = frozenset(roles)

    def _dependency(actor: Actor = Depends(current_actor)) -> Actor:
        if not actor.roles & wanted:
            raise Forbidden(Msg("this needs one of the roles: {wanted}", wanted=', '.join(sorted(wanted))))
        return actor

    _dependency.__name__ = "require_" + "_or_".join(sorted(wanted))
    return _dependency


async def metrics_reader(request: Request, _bearer: Any = Depends(_bearer_scheme)) -> None:
    """Who may read /metrics: a scraper sending `Authorization: Bearer <TWONETS_METRICS_TOKEN>`
    (when that is set), or an administrator's access token. Anyone else: 401, or 403."""
    token = settings().metrics_token
    creds = _credentials(request)
    if token and creds is not None and creds[0] == "bearer" and hmac.compare_digest(creds[1].encode(), token.encode()):
        return
    actor = await _resolve(request)
    if actor is None:
        raise Unauthorized(Msg("send 'Authorization: Bearer <TWONETS_METRICS_TOKEN>' or an administrator's access token"))
    if not actor.has("administrator"):
        raise Forbidden(Msg("metrics are for administrators and the configured scraper"))


def api_key_actor(kind: str) -> Callable[..., Actor]:
    """A dependency for API-key clients of one kind ('open311' or 'device'). Accepts the key in
    X-API-Key, 'Authorization: ApiKey …' or an `api_key` query parameter (GeoReport v2)."""

    def _dependency(request: Request, _key: Any = Depends(_api_key_scheme)) -> Actor:
        creds = _credentials(request)
        raw = creds[1] if creds and creds[0] == "api_key" else request.query_params.get("api_key")
        if not raw:
            raise Unauthorized(Msg("send an API key"))
        return _api_key(request, raw, kind)

    return _dependency


# --- routes -------------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1", tags=["identity"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=400)


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=1, max_length=400)


@router.post("/auth/login")
def login(body: LoginIn, request: Request, session: Session = Depends(get_session)):
    """Sign in with a password: a short-lived access token and a refresh token."""
    try:
        pair = identity.login(session, body.username, body.password, ip=client_ip(request))
    except identity.Throttled as exc:
        resp = problem(429, exc.title, exc.detail, retry_after=exc.retry_after, locale=locale_of(request))
        resp.headers["Retry-After"] = str(exc.retry_after)
        return resp
    except Unauthorized as exc:
        session.commit()  # keep the failure count even though the login fails
        resp = problem(401, exc.title, exc.detail, locale=locale_of(request))
        resp.headers["WWW-Authenticate"] = 'Bearer realm="twonets"'
        return resp
    return JSONResponse(pair.as_dict(), headers=NO_STORE)


@router.post("/auth/refresh")
def refresh(body: RefreshIn, request: Request, session: Session = Depends(get_session)):
    """Swap a refresh token for a new pair (the old one is spent; reusing it signs out)."""
    try:
        pair = identity.refresh(session, body.refresh_token)
    except Unauthorized as exc:
        session.commit()  # a reuse revokes the family: keep that
        return problem(401, exc.title, exc.detail, locale=locale_of(request))
    return JSONResponse(pair.as_dict(), headers=NO_STORE)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, body: RefreshIn | None = None, _bearer: Any = Depends(_bearer_scheme),
           session: Session = Depends(get_session)) -> Response:
    """End the session named by the refresh token in the body, or else by the access token sent:
    its refresh tokens and its access tokens stop working at once."""
    if body is not None:
        identity.logout(session, body.refresh_token)
        return Response(status_code=204)
    creds = _credentials(request)
    if creds is None or creds[0] != "bearer":
        raise Unauthorized(Msg("send the session's refresh token in the body, or its access token as 'Authorization: Bearer …'"))
    _, sid = identity.decode_access_claims(creds[1])
    if sid is None:
        raise Unauthorized(Msg("this access token belongs to no session; there is nothing to sign out"))
    identity.logout(session, sid=sid)
    return Response(status_code=204)


@router.get("/auth/me")
def me(actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    return {
        "sub": actor.id,
        "roles": sorted(actor.roles),
        "department": actor.department,
        "street": actor.street,
        "grid": actor.grid,
    }


@router.get("/auth/jwks")
def jwks() -> dict[str, Any]:
    """Public keys that verify access tokens (JWKS)."""
    return identity.jwks()


# --- users --------------------------------------------------------------------------------


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=3, max_length=80)
    password: str | None = Field(default=None, max_length=400)
    roles: list[str] = Field(min_length=1)
    department: str | None = Field(default=None, max_length=40)
    street: str | None = Field(default=None, max_length=40)
    grid: str | None = Field(default=None, max_length=40)
    subject_id: str | None = Field(default=None, max_length=80)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str | None = Field(default=None, max_length=400)
    roles: list[str] | None = None
    department: str | None = Field(default=None, max_length=40)
    street: str | None = Field(default=None, max_length=40)
    grid: str | None = Field(default=None, max_length=40)
    subject_id: str | None = Field(default=None, max_length=80)
    active: bool | None = None


admin_only = require_roles("administrator")


@router.post("/users", status_code=201)
def create_user(
    body: UserIn, request: Request, actor: Actor = Depends(admin_only), session: Session = Depends(get_session)
):
    return idempotent(
        session,
        request,
        "users.create",
        lambda: (201, identity.create_user(session, actor, **body.model_dump()).as_dict()),
    )


@router.get("/users")
def list_users(
    role: str | None = None,
    department: str | None = None,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = None,
    actor: Actor = Depends(admin_only),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    users, nxt = identity.list_users(session, actor, role=role, department=department, limit=limit, cursor=cursor)
    return {"items": [u.as_dict() for u in users], "next": nxt}


@router.get("/users/{user_id}")
def get_user(user_id: str, actor: Actor = Depends(current_actor), session: Session = Depends(get_session)) -> dict[str, Any]:
    if actor.id != user_id and not actor.has("administrator"):
        raise Forbidden(Msg("you may see only your own account"))
    return identity.get_user(session, user_id).as_dict()


@router.patch("/users/{user_id}")
def patch_user(
    user_id: str, body: UserPatch, actor: Actor = Depends(admin_only), session: Session = Depends(get_session)
) -> dict[str, Any]:
    return identity.update_user(session, actor, user_id, **body.model_dump(exclude_unset=True)).as_dict()


# --- API keys -----------------------------------------------------------------------------


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(pattern="^(open311|device)$")
    name: str = Field(min_length=1, max_length=200)
    department: str | None = Field(default=None, max_length=40)


@router.post("/api-keys", status_code=201)
def create_api_key(body: ApiKeyIn, actor: Actor = Depends(admin_only), session: Session = Depends(get_session)):
    key, raw = identity.create_api_key(session, actor, kind=body.kind, name=body.name, department=body.department)
    return JSONResponse({**key.as_dict(), "key": raw}, status_code=201, headers=NO_STORE)


@router.get("/api-keys")
def list_api_keys(
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = None,
    actor: Actor = Depends(admin_only),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    keys, nxt = identity.list_api_keys(session, actor, limit=limit, cursor=cursor)
    return {"items": [k.as_dict() for k in keys], "next": nxt}


@router.post("/api-keys/{key_id}/revoke")
def revoke_api_key(key_id: str, actor: Actor = Depends(admin_only), session: Session = Depends(get_session)) -> dict[str, Any]:
    return identity.revoke_api_key(session, actor, key_id).as_dict()
