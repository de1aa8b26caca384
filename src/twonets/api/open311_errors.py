"""GeoReport v2 errors: every failure on the Open311 routes answered as the spec's error list, in the route's format."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from twonets.api.open311_format import _fmt_of, _xml
from twonets.core.errors import DomainError
from twonets.core.logging import get_logger

log = get_logger("twonets.open311")


class Open311Error(Exception):
    """An error answered as the spec's error list."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


def error_response(fmt: str, status: int, descriptions: list[str]) -> Response:
    items = [{"code": status, "description": d} for d in descriptions]
    if fmt == "xml":
        return Response(_xml("errors", "error", items), status_code=status, media_type="application/xml")
    return JSONResponse(items, status_code=status)


def _domain_status(exc: DomainError) -> int:
    return 400 if exc.status == 422 else exc.status


def _describe_domain(exc: DomainError) -> str:
    fields = [f"{e.get('field')}: {e.get('message')}" for e in exc.errors if isinstance(e, dict) and e.get("field")]
    return exc.detail + (f" ({'; '.join(fields)})" if fields else "")


class Open311Route(APIRoute):
    """Answers every error on these routes as a GeoReport v2 error list, in the route's format."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            fmt = _fmt_of(request)
            try:
                return await handler(request)
            except Open311Error as exc:
                return error_response(fmt, exc.status, [exc.description])
            except DomainError as exc:
                return error_response(fmt, _domain_status(exc), [_describe_domain(exc)])
            except RequestValidationError as exc:
                descriptions = [
                    f"{'.'.join(str(p) for p in e.get('loc', ()) if p not in ('query', 'path', 'body'))}: "
                    f"{e.get('msg', 'invalid')}"
                    for e in exc.errors()
                ]
                return error_response(fmt, 400, descriptions or ["The request is not valid."])
            except StarletteHTTPException as exc:
                return error_response(fmt, exc.status_code, [str(exc.detail)])
            except Exception as exc:  # a 500 is always a bug: log it, answer in the spec's shape
                log.error("unhandled error", route=self.path, error=type(exc).__name__, exc_info=exc)
                return error_response(fmt, 500, ["An unexpected error occurred; it has been logged."])

        return route_handler
