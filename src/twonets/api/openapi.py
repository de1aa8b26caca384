"""The OpenAPI document says what each route really answers (issue 11 item 10, issue 15 item 9).

FastAPI declares a route's success response and a 422 whose schema (`HTTPValidationError`)
is not what twonets answers. This module completes the document from what the code does:

- every error is RFC 9457 problem details, `application/problem+json`, with the `Problem`
  schema the real bodies validate against (`detail` a string; `errors` the field paths);
- 422 on every route (the input gate, api/input_guard.py, reads every request), 400 where FastAPI
  parses a body (a body it cannot read at all); 401 and 403 where an identity dependency
  is in the route's dependency tree (a missing or ended session; a role or an API key of another
  kind); 404 where a path names a thing; 409 on writes (an illegal transition, a decision
  already taken, a duplicate); 429 on sign-in (throttling);
- the Open311 routes answer the GeoReport v2 error list instead, as JSON or XML, like their data;
- routes answering other media types (CSV, Parquet, GeoJSON, VC, DID documents, JSON-LD,
  images, Prometheus text) declare them at the route with `content(...)`.

`ROUTE_ERRORS` adds the statuses a route answers beyond those rules. A schemathesis run with the
response-conformance checks (tests/integration/test_api_schema.py) keeps this honest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

PROBLEM = "application/problem+json"
_REF = "#/components/schemas/"

SCHEMAS: dict[str, dict[str, Any]] = {
    "Problem": {
        "title": "Problem",
        "description": "RFC 9457 problem details. Extra members (e.g. `allowed`, `state`, `retry_after`) say more.",
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string", "description": "a URI naming the kind of problem (`about:blank`)"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string", "description": "what went wrong, for a person"},
            "errors": {"type": "array", "items": {"$ref": _REF + "FieldError"},
                       "description": "one entry per invalid field (422)"},
        },
        "additionalProperties": True,
    },
    "FieldError": {
        "title": "FieldError",
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string", "description": "the field's path: `form.address`, `0.ts`, a query parameter"},
            "message": {"type": "string"},
        },
    },
    "Open311Errors": {
        "title": "Open311Errors",
        "description": "GeoReport v2 errors (in XML: <errors><error><code/><description/></error></errors>)",
        "type": "array",
        "items": {
            "type": "object",
            "required": ["code", "description"],
            "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
        },
    },
}

REASONS = {
    400: "The body could not be read (malformed, or nested beyond what a parser follows).",
    401: "No identity, or an invalid or ended one: sign in (or send a valid API key).",
    403: "Signed in, but this role (or this kind of API key) may not do this.",
    404: "Not found, or not visible to the caller.",
    409: "Conflicts with the current state: the problem names the state now (and the actions allowed).",
    422: "Invalid input: `errors` names each field and why.",
    429: "Too many failed attempts: wait `retry_after` seconds.",
}

# Statuses a route answers beyond the rules in the module docstring, by (method, path).
ROUTE_ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST", "/api/v1/auth/login"): (401, 429),  # a wrong password; throttled
    ("POST", "/api/v1/auth/refresh"): (401,),  # an unknown, expired or reused refresh token
    ("POST", "/api/v1/auth/logout"): (401,),  # no session named
    ("GET", "/api/v1/audit/verify"): (409,),
    # a thing named in the query or body that does not exist
    ("GET", "/api/v1/locate"): (404,),  # a point outside the district
    ("POST", "/api/v1/access/read"): (404,),
    ("POST", "/api/v1/applications"): (404,),
    ("POST", "/api/v1/sharing/requests"): (404,),
    ("POST", "/api/v1/bundle-cases"): (404,),  # an unknown bundle
    ("GET", "/api/v1/peer/region"): (409,),
    ("POST", "/api/v1/peer/applications"): (401,),
    ("POST", "/api/v1/crossregion/applications"): (404,),  # an unknown region or matter
    ("POST", "/api/v1/crossregion/licences/verify"): (404,),  # an unknown issuing region  # a request not signed by a trusted peer  # a server started without --region
}
# Writes that change no shared state, so never conflict.
NO_CONFLICT = {("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/refresh"), ("POST", "/api/v1/auth/logout")}

_BINARY = {"type": "string", "format": "binary"}
_TEXT = {"type": "string"}


def content(*media_types: str, status: int = 200, description: str = "OK",
            schema: dict[str, Any] | None = None) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that answers `media_types` (e.g. JSON and CSV): JSON types get
    `schema` (any JSON when None), text types a string, the others binary."""

    def schema_of(media_type: str) -> dict[str, Any]:
        if media_type.endswith("json"):
            return schema or {}
        return _TEXT if media_type.startswith("text/") or media_type.endswith("xml") else _BINARY

    return {status: {"description": description, "content": {t: {"schema": schema_of(t)} for t in media_types}}}


def _calls(dependant) -> Iterator[Any]:
    for dep in dependant.dependencies:
        if dep.call is not None:
            yield dep.call
        yield from _calls(dep)


def _identity(route) -> str | None:
    """'required' when the route needs a caller, 'optional' when it takes one if sent, else None."""
    from twonets.api import auth

    found = None
    for call in _calls(route.dependant):
        if call in (auth.current_actor, auth.metrics_reader) or \
                getattr(call, "__qualname__", "").startswith(("require_roles.", "api_key_actor.")):
            return "required"
        if call is auth.optional_actor:
            found = "optional"
    return found


def _statuses(route, method: str) -> list[int]:
    found = {422}
    if route.body_field is not None:
        found.add(400)
    if _identity(route):
        found |= {401, 403}
    if "{" in route.path_format:
        found.add(404)
    if method != "GET" and (method, route.path_format) not in NO_CONFLICT:
        found.add(409)
    found |= set(ROUTE_ERRORS.get((method, route.path_format), ()))
    return sorted(found)


def _open311(op: dict[str, Any]) -> None:
    """Open311: data and errors in the format the path names (`.json` or `.xml`)."""
    errors = {"schema": {"$ref": _REF + "Open311Errors"}}
    for status, response in op["responses"].items():
        if str(status).startswith("2"):
            body = (response.get("content") or {}).get("application/json", {"schema": {}})
            response["content"] = {"application/json": body, "application/xml": {"schema": _TEXT}}
    op["responses"].pop("422", None)
    for status, reason in ((400, "Invalid request"), (403, "The API key is missing, invalid or of another kind"),
                           (404, "Unknown service, request or format")):
        op["responses"][str(status)] = {"description": reason,
                                        "content": {"application/json": errors, "application/xml": {"schema": _TEXT}}}


def document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                      tags=app.openapi_tags, servers=app.servers)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(SCHEMAS)
    problem = {PROBLEM: {"schema": {"$ref": _REF + "Problem"}}}
    for route in iter_route_contexts(app.routes):  # included routers' routes with their effective path
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods:
            op = doc["paths"].get(route.path_format, {}).get(method.lower())
            if op is None:
                continue
            if route.path_format.startswith("/open311/"):
                _open311(op)
                continue
            if _identity(route) != "required" and op.get("security"):
                op["security"] = [{}, *op["security"]]  # a caller if one is sent (sign-out: or a refresh token)
            for status in _statuses(route, method):
                op["responses"][str(status)] = {"description": REASONS[status], "content": problem}
            op["responses"] = dict(sorted(op["responses"].items()))
    return doc


def install(app: FastAPI) -> None:
    """Serve `document(app)` as /openapi.json (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
