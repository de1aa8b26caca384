"""Request-scoped dependencies: the unit of work, and Idempotency-Key replay."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from twonets.core.calendar import utcnow
from twonets.core.db import unit_of_work
from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg
from twonets.core.tables import idempotency_record


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request: committed when the handler returns, rolled back on error.

    async so that opening and closing it costs no thread hop (a Session connects lazily, in the
    handler's thread); the commit runs on the event loop, which is short for one request's writes."""
    with unit_of_work(sessions=request.app.state.sessions) as session:
        yield session


# Where the auth dependencies keep the resolved caller on request.state (api/auth.py).
ACTOR_STATE = "twonets_actor"
_DIGEST_STATE = "twonets_body_digest"
_MAX_SCOPE = 200  # the column's width; longer scopes are stored as their hash


class BodyFingerprint:
    """Pure ASGI middleware: for a request that carries an Idempotency-Key, hashes the body as
    the app reads it (nothing is buffered), so `idempotent` can tell a retry from a new request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not any(k == b"idempotency-key" for k, _ in scope.get("headers", ())):
            await self.app(scope, receive, send)
            return
        digest = hashlib.sha256(scope.get("query_string", b"") + b"\0")
        scope.setdefault("state", {})[_DIGEST_STATE] = digest

        async def _receive():
            message = await receive()
            if message["type"] == "http.request":
                digest.update(message.get("body", b""))
            return message

        await self.app(scope, _receive, send)


def _scope_of(request: Request, scope: str) -> str:
    """Who asks and what: the caller (the signed-in actor, or the named client in `scope`),
    the method and the path. Another caller's key, or the same key on another route, is another
    request."""
    actor = getattr(request.state, ACTOR_STATE, None)
    caller = actor.id if actor is not None else "-"
    full = f"{caller}|{request.method} {request.url.path}|{scope}"
    return full if len(full) <= _MAX_SCOPE else "sha256:" + hashlib.sha256(full.encode()).hexdigest()


def _fingerprint(request: Request) -> str | None:
    digest = request.scope.get("state", {}).get(_DIGEST_STATE)
    return digest.hexdigest() if digest is not None else None


def _replay(row, key: str, fingerprint: str | None, request: Request) -> JSONResponse:
    if row.fingerprint is not None and fingerprint is not None and row.fingerprint != fingerprint:
        raise InvalidInput(
            Msg("Idempotency-Key {key!r} was already used for {method} {path} with a different request body; a retry sends the same body, a new request needs a new key", key=key, method=request.method, path=request.url.path),
            errors=[{"field": "Idempotency-Key", "message": Msg("reused with a different request body")}],
        )
    return JSONResponse(json.loads(row.body), status_code=row.status, headers={"Idempotent-Replay": "true"})


def idempotent(
    session: Session, request: Request, scope: str, produce: Callable[[], tuple[int, Any]]
) -> JSONResponse:
    """Run `produce` once per Idempotency-Key; a retry with the same key gets the stored reply.

    Rules: a key is scoped by caller + method + path (+ `scope`, which names an API client where
    there is no signed-in actor); within that scope the same key with a different body (or
    query) is refused with 422 and nothing runs. Needs BodyFingerprint installed (create_app)."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        status, body = produce()
        return JSONResponse(body, status_code=status)
    if len(key) > 200:
        raise InvalidInput(Msg("an Idempotency-Key has at most 200 characters"),
                           errors=[{"field": "Idempotency-Key", "message": Msg("at most 200 characters")}])
    scope = _scope_of(request, scope)
    fingerprint = _fingerprint(request)
    where = (idempotency_record.c.key == key, idempotency_record.c.scope == scope)
    row = session.execute(select(idempotency_record).where(*where)).first()
    if row is not None:
        return _replay(row, key, fingerprint, request)
    status, body = produce()
    try:
        with session.begin_nested():
            session.execute(
                insert(idempotency_record).values(
                    key=key, scope=scope, fingerprint=fingerprint, status=status,
                    body=json.dumps(body, default=str), created_at=utcnow(),
                )
            )
    except IntegrityError:  # a concurrent retry won the race: answer as it did
        session.rollback()
        row = session.execute(select(idempotency_record).where(*where)).one()
        return _replay(row, key, fingerprint, request)
    return JSONResponse(body, status_code=status)
