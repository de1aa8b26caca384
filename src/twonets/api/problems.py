"""RFC 9457 problem details for every error, so no bad input ever becomes a 500.

Every text a person reads — title, detail, each `errors[].message` — is said in the language the
request's `Accept-Language` prefers (Chinese by default, or English: `twonets.core.i18n`), and the
response names it in `Content-Language`. Field paths, codes and states stay as they are."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from twonets.core import i18n
from twonets.core.errors import DomainError
from twonets.core.i18n import N_, Msg
from twonets.core.logging import get_logger
from twonets.core.validation_messages import message as validation_message

PROBLEM = "application/problem+json"
log = get_logger("twonets.api")
# Starlette's own details (unknown route, wrong method …), as catalogue entries
HTTP_TITLES = {404: N_("Not found"), 405: N_("Method not allowed"), 401: N_("Unauthorized"), 403: N_("Forbidden"),
               400: N_("Bad request"), 413: N_("Content too large"), 415: N_("Unsupported media type"),
               429: N_("Too many requests")}
HTTP_DETAILS = (N_("Not Found"), N_("Method Not Allowed"), N_("Unauthorized"), N_("Forbidden"), N_("Bad Request"),
                N_("Not authenticated"))


def locale_of(request: Request | None) -> str:
    """The reader's language: the request's `Accept-Language`, else Chinese."""
    return i18n.negotiate(request.headers.get("accept-language") if request is not None else None)


def problem(status: int, title: str, detail: str, *, errors: list | None = None, locale: str | None = None,
            **extra: Any) -> JSONResponse:
    locale = locale or i18n.DEFAULT
    body: dict[str, Any] = {"type": "about:blank", "title": i18n.translate(title, locale), "status": status,
                            "detail": i18n.translate(detail, locale)}
    if errors:
        body["errors"] = [{**e, "message": i18n.translate(e["message"], locale)} if "message" in e else e for e in errors]
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers={"Content-Language": i18n.TAGS[locale]})


def _field_path(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def _error(e: dict) -> dict[str, str]:
    loc = tuple(e.get("loc", ()))
    if e.get("type") == "json_invalid":
        # Pydantic puts the character position where a field name would be: name the body instead.
        at = loc[-1] if len(loc) > 1 and isinstance(loc[-1], int) else None
        reason = (e.get("ctx") or {}).get("error")
        if at is not None and reason:
            message = Msg("malformed JSON at character {at} ({reason})", at=at, reason=reason)
        elif at is not None:
            message = Msg("malformed JSON at character {at}", at=at)
        else:
            message = Msg("malformed JSON ({reason})", reason=reason) if reason else Msg("malformed JSON")
        return {"field": "body", "message": message}
    return {"field": _field_path(loc), "message": validation_message(e)}


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    return [_error(e) for e in exc.errors()]


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        return problem(exc.status, exc.title, exc.detail, errors=exc.errors, locale=locale_of(request), **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        locale = locale_of(request)
        errors = [{**e, "message": i18n.translate(e["message"], locale)} for e in validation_errors(exc)]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, Msg("Invalid input"), detail or Msg("The request is not valid."), errors=errors, locale=locale)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return problem(exc.status_code, HTTP_TITLES.get(exc.status_code, N_("Error")), str(exc.detail),
                       locale=locale_of(request))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception):  # a 500 is always a bug: log it, say so plainly
        log.error("unhandled error", error=type(exc).__name__, exc_info=exc)
        return problem(500, Msg("Internal error"), Msg("An unexpected error occurred; it has been logged."),
                       locale=locale_of(request))
