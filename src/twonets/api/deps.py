"""Request-scoped dependencies: the unit of work, and Idempotency-Key replay."""

from __future__ import annotations

import json
from typing import Any, AsyncIterator, Callable

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from twonets.core.calendar import utcnow
from twonets.core.db import unit_of_work
from twonets.core.tables import idempotency_record


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request: committed when the handler returns, rolled back on error.

    async so that opening and closing it costs no thread hop (a Session connects lazily, in the
    handler's thread); the commit runs on the event loop, which is short for one request's writes."""
    with unit_of_work(sessions=request.app.state.sessions) as session:
        yield session


def idempotent(
    session: Session, request: Request, scope: str, produce: Callable[[], tuple[int, Any]]
) -> JSONResponse:
    """Run `produce` once per Idempotency-Key; a retry with the same key gets the stored reply."""
    key = request.headers.get("Idempotency-Key")
    if not key:
        status, body = produce()
        return JSONResponse(body, status_code=status)
    row = session.execute(
        select(idempotency_record).where(idempotency_record.c.key == key, idempotency_record.c.scope == scope)
    ).first()
    if row is not None:
        return JSONResponse(json.loads(row.body), status_code=row.status, headers={"Idempotent-Replay": "true"})
    status, body = produce()
    try:
        with session.begin_nested():
            session.execute(
                insert(idempotency_record).values(
                    key=key, scope=scope, status=status, body=json.dumps(body, default=str), created_at=utcnow()
                )
            )
    except IntegrityError:  # a concurrent retry won the race: answer as it did
        session.rollback()
        row = session.execute(
            select(idempotency_record).where(idempotency_record.c.key == key, idempotency_record.c.scope == scope)
        ).one()
        return JSONResponse(json.loads(row.body), status_code=row.status, headers={"Idempotent-Replay": "true"})
    return JSONResponse(body, status_code=status)

