"""Rendering a page: the Jinja2 environment, the context every template gets, navigation by role."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from twonets.core.actor import Actor
from twonets.web import i18n, labels, session
from twonets.web.labels import N_

TEMPLATES = Path(__file__).parent / "templates"
env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)

# (path, label msgid, roles that see it). The portal, workbench and hall add their lines here.
NAV = [
    ("/console", N_("Operation center"), {"dispatcher", "administrator"}),
    ("/console/board", N_("Dispatch board"), {"dispatcher", "administrator", "department_handler", "grid_inspector"}),
]
CONSOLE_ROLES = frozenset({"dispatcher", "administrator"})
BOARD_ROLES = frozenset({"dispatcher", "administrator", "department_handler", "grid_inspector"})


def nav_for(actor: Actor | None) -> list[tuple[str, str]]:
    if actor is None:
        return []
    return [(path, label) for path, label, roles in NAV if actor.roles & roles]


def home_for(actor: Actor) -> str:
    """Where a user lands after signing in."""
    items = nav_for(actor)
    return items[0][0] if items else "/"


def locale_of(request: Request) -> str:
    return i18n.pick(request.cookies.get(i18n.COOKIE))


def context(request: Request, **extra: Any) -> dict[str, Any]:
    locale = locale_of(request)
    t = i18n.translations(locale)
    actor = session.actor(request)
    return {
        "request": request, "_": t.gettext, "ngettext": t.ngettext, "fmt": i18n.Formats(locale),
        "locale": locale, "html_lang": i18n.HTML_LANG[locale], "actor": actor, "username": session.username(request), "nav": nav_for(actor),
        "csrf": session.csrf_token(request), "labels": labels, "path": request.url.path,
        "here": request.url.path + (("?" + request.url.query) if request.url.query else ""),
        **extra,
    }


def page(request: Request, template: str, status: int = 200, **extra: Any) -> HTMLResponse:
    html = env.get_template(template).render(context(request, **extra))
    response = HTMLResponse(html, status_code=status,
                            headers={"Cache-Control": "no-store", "Content-Language": i18n.HTML_LANG[locale_of(request)]})
    return session.apply_cookies(request, response)


def redirect(request: Request, to: str, status: int = 303) -> RedirectResponse:
    return session.apply_cookies(request, RedirectResponse(to, status_code=status))  # type: ignore[return-value]


def to_signin(request: Request) -> RedirectResponse:
    here = request.url.path + (("?" + request.url.query) if request.url.query else "")
    return redirect(request, "/signin?next=" + quote(here, safe=""))


def safe_next(raw: str | None) -> str | None:
    """Only a path on this site (no //host, no scheme) may be a place to go back to."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return None
