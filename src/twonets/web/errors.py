"""Errors on web pages become friendly pages (or, for HTMX requests, a message in the page's
flash area); API paths keep their RFC 9457 problem details. The API's own handlers stay the
ones installed by api/problems.py: the web's wrap them and hand over whatever is not a page."""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from twonets.core import i18n
from twonets.core.errors import DomainError, Unauthorized
from twonets.web import render
from twonets.web.labels import N_

WEB_PREFIXES = ("/console", "/portal", "/signin", "/signout", "/lang")
NOT_PAGES = ("/console/data/", "/console/stream")

TITLES = {  # status → (title msgid, explanation msgid)
    403: (N_("You may not open this page"), N_("Your role does not include this. Ask an administrator if you need it.")),
    404: (N_("Page not found"), N_("There is nothing here, or it is not visible to you.")),
    409: (N_("This cannot be done now"), N_("Someone may have changed it meanwhile. Reload the page and try again.")),
}
DEFAULT = (N_("Something is not right"), N_("The request could not be completed."))


def is_page(request: Request) -> bool:
    path = request.url.path
    return path.startswith(WEB_PREFIXES) and not path.startswith(NOT_PAGES)


def error_page(request: Request, status: int, detail: str | None = None):
    if isinstance(status, int) and status == 401:
        return render.to_signin(request)
    title, explain = TITLES.get(status, DEFAULT)
    detail = i18n.translate(detail, render.locale_of(request))  # the service's message, in the page's language
    if status == 422 or status == 400:
        title = N_("Please check what you entered")
    if request.headers.get("hx-request"):
        response = render.page(request, "partials/flash.html", status=status, title=title, detail=detail)
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    # A 403/404 says it in the reader's words; the service's detail would only repeat it.
    detail = None if status in (403, 404) else detail
    return render.page(request, "error.html", status=status, title=title, explain=explain, detail=detail,
                       code=status)


def install(app: FastAPI) -> None:
    domain_api = app.exception_handlers[DomainError]
    http_api = app.exception_handlers[StarletteHTTPException]

    async def _domain(request: Request, exc: DomainError):
        if not is_page(request):
            return await domain_api(request, exc)
        if isinstance(exc, Unauthorized):
            return render.to_signin(request)
        return error_page(request, exc.status, exc.detail)

    async def _http(request: Request, exc: StarletteHTTPException):
        if not is_page(request):
            return await http_api(request, exc)
        return error_page(request, exc.status_code, None)

    app.add_exception_handler(DomainError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
