"""Sign in, sign out, and the language switch (a form on every page, kept in a cookie)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from twonets.core.errors import Unauthorized
from twonets.data import identity
from twonets.web import i18n, render, session
from twonets.web.labels import N_
from twonets.web.pages.common import form

router = APIRouter(include_in_schema=False)


@router.get("/signin")
def signin_page(request: Request, next: str | None = None):
    actor = session.actor(request)
    if actor is not None:
        return render.redirect(request, render.safe_next(next) or render.home_for(actor))
    return render.page(request, "signin.html", next=render.safe_next(next) or "", error=None, username="")


@router.post("/signin")
async def signin(request: Request):
    data = await form(request)
    username, password = data.get("username", "").strip(), data.get("password", "")
    target = render.safe_next(data.get("next"))
    try:
        actor = session.sign_in(request, username, password)
    except identity.Throttled:
        return render.page(request, "signin.html", status=429, next=target or "", username=username,
                           error=N_("Too many failed attempts. Wait a few minutes and try again."))
    except Unauthorized:
        return render.page(request, "signin.html", status=401, next=target or "", username=username,
                           error=N_("Wrong username or password."))
    return render.redirect(request, target or render.home_for(actor))


@router.post("/signout")
async def signout(request: Request):
    await form(request)
    session.sign_out(request)
    return render.redirect(request, "/signin")


@router.post("/lang")
async def switch_language(request: Request):
    data = await form(request)
    session.queue_cookie(request, i18n.COOKIE, i18n.pick(data.get("lang")), 365 * 86400)
    return render.redirect(request, render.safe_next(data.get("next")) or "/signin")
