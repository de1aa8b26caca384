"""The web pages (server-rendered Jinja2 + HTMX), served by `twonets serve` beside the API.

An adapter like the API: pages call the same service functions (city, govservices, data) under
the same roles and scopes, never the API over HTTP. Wire once in create_app:

    from twonets import web
    web.install(app)

Layout: `render` (templates, navigation by role), `session` (cookie sign-in, CSRF), `i18n`
(catalogs, formats), `errors` (friendly 403/404), `pages/*` (one router per screen family).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    from twonets.web import errors
    from twonets.web.pages import auth, board, console, portal, portal_apply, portal_me, portal_report

    errors.install(app)
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    for router in (auth.router, console.router, board.router, portal.router, portal_apply.router, portal_report.router,
                   portal_me.router):
        app.include_router(router)
