"""What every page handler needs: the signed-in actor with a role check, and checked forms."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.db import unit_of_work
from twonets.core.errors import Forbidden, Unauthorized
from twonets.core.i18n import Msg
from twonets.web import session


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per page request (the app's session factory), like the API's."""
    with unit_of_work(sessions=request.app.state.sessions) as session:
        yield session


def staff(request: Request, roles: frozenset[str]) -> Actor:
    """The signed-in actor if one of `roles`; Unauthorized (→ sign-in page) or Forbidden (→ 403 page)."""
    actor = session.actor(request)
    if actor is None:
        raise Unauthorized(Msg("sign in"))
    if not actor.roles & roles:
        raise Forbidden(Msg("this page is not for your role"))
    return actor


async def form(request: Request) -> dict[str, str]:
    """The posted form after its CSRF token is checked (403 page when it does not match)."""
    await session.verify_csrf(request)
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}
