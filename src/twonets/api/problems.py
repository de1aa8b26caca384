"""RFC 9457 problem details for every error, so no bad input ever becomes a 500."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException

from twonets.core.errors import DomainError
from twonets.core.logging import get_logger

PROBLEM = "application/problem+json"
log = get_logger("twonets.api")


def problem(status: int, title: str, detail: str, *, errors: list | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _field_path(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def _error(e: dict) -> dict[str, str]:
    loc = tuple(e.get("loc", ()))
    if e.get("type") == "json_invalid":
        # Pydantic puts the character position where a field name would be: name the body instead.
        at = loc[-1] if len(loc) > 1 and isinstance(loc[-1], int) else None
        reason = (e.get("ctx") or {}).get("error")
        message = "malformed JSON" + (f" at character {at}" if at is not None else "") + (f" ({reason})" if reason else "")
        return {"field": "body", "message": message}
    return {"field": _field_path(loc), "message": e.get("msg", "invalid")}


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    return [_error(e) for e in exc.errors()]


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods of every route whose path matches `path` (a path may be served by several)."""
    found: set[str] = set()
    for route in iter_route_contexts(app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            found |= set(getattr(route, "methods", None) or ())
    return sorted(found)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError):
        return problem(exc.status, exc.title, exc.detail, errors=exc.errors, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError):
        errors = validation_errors(exc)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, "Invalid input", detail or "The request is not valid.", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized", 403: "Forbidden"}
        response = problem(exc.status_code, titles.get(exc.status_code, "Error"), str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:  # every method the path takes, not only those of its first route (RFC 9110)
            response.headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        return response

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception):  # a 500 is always a bug: log it, say so plainly
        log.error("unhandled error", error=type(exc).__name__, exc_info=exc)
        return problem(500, "Internal error", "An unexpected error occurred; it has been logged.")
