"""One gate for the input of every request, before any handler, query or store sees it.

Installed once as an application-wide dependency (create_app), so it runs for every route — the
API, Open311 and the web pages — ahead of the route's own dependencies, and its refusal is an
`InvalidInput` answered in the route's error format (problem details; Open311's error list; a
friendly page). It refuses:

- a NUL byte (U+0000) in the path, a query parameter (name or value), a form field or any JSON
  string or field name: no text needs one, and PostgreSQL cannot store one (it answered 500);
- `NaN`, `Infinity`, `-Infinity` in a JSON body: they are not JSON (RFC 8259), PostgreSQL refuses
  them and SQLite stored them as invalid JSON;
- JSON nested deeper than `MAX_DEPTH` levels (a form nested 900 levels deep broke serialization).

Each error names its field as validation errors do (`form.address`, `0.note`, the query
parameter's name, `path`) and never echoes the offending text. The checks cost a substring
search on an ordinary body; a body is parsed a second time only when one of them may apply.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request

from twonets.core.errors import InvalidInput

MAX_DEPTH = 32
NUL = "\x00"
_NUL_MESSAGE = "contains a NUL byte (U+0000)"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonlines")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_PAIR = re.compile(rb"\[\]|\{\}")


class _NonFinite:
    """What NaN / Infinity parse to, so that the walk can name where they were."""


_NON_FINITE = _NonFinite()


def _printable(name: str) -> str:
    return name.replace(NUL, "\\0")[:80]


def _json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether a JSON text nests deeper than `limit`: its brackets (outside strings) lose their
    innermost pairs once per level, at C speed; what is left after `limit` rounds is deeper
    (or malformed, which the parser then says)."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return False
        brackets = _PAIR.sub(b"", brackets)
    if not brackets:
        return False
    try:
        json.loads(raw)
    except RecursionError:
        return True
    except ValueError:
        return False  # malformed: the parser's error says where
    return True


def _path(parts: tuple) -> str:
    return ".".join(str(p) for p in parts) or "body"


def json_errors(raw: bytes, *, max_depth: int = MAX_DEPTH) -> list[dict[str, str]]:
    """The errors of a JSON body (empty when it is fine, or malformed: that is the parser's to say)."""
    suspect = b"\\u0000" in raw or b"NaN" in raw or b"Infinity" in raw
    if raw.count(b"[") + raw.count(b"{") > max_depth and _json_depth_exceeds(raw, max_depth):
        return [{"field": "body", "message": f"nested deeper than {max_depth} levels"}]
    if not suspect:
        return []
    try:
        doc = json.loads(raw, parse_constant=lambda _: _NON_FINITE)
    except (ValueError, RecursionError):
        return []
    errors: list[dict[str, str]] = []
    stack: list[tuple[tuple, Any]] = [((), doc)]
    while stack and len(errors) < 20:
        at, node = stack.pop()
        if node is _NON_FINITE:
            errors.append({"field": _path(at), "message": "not a number: NaN and Infinity are not JSON"})
        elif isinstance(node, str):
            if NUL in node:
                errors.append({"field": _path(at), "message": _NUL_MESSAGE})
        elif isinstance(node, dict):
            for key, value in node.items():
                if NUL in key:
                    errors.append({"field": _path(at), "message": f"a field name {_NUL_MESSAGE}"})
                else:
                    stack.append(((*at, key), value))
        elif isinstance(node, list):
            stack.extend(((*at, i), value) for i, value in enumerate(node))
    return sorted(errors, key=lambda e: e["field"])


async def check_input(request: Request) -> None:
    """The application-wide dependency (see the module)."""
    errors: list[dict[str, str]] = []
    if NUL in request.scope.get("path", ""):
        errors.append({"field": "path", "message": _NUL_MESSAGE})
    for name, value in request.query_params.multi_items():
        if NUL in name or NUL in value:
            errors.append({"field": _printable(name), "message": _NUL_MESSAGE})
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if ctype in _FORM_TYPES:  # parsed once and kept (FastAPI may have parsed it already)
            form = await request.form()
            errors.extend({"field": _printable(name), "message": _NUL_MESSAGE} for name, value in form.multi_items()
                          if NUL in name or (isinstance(value, str) and NUL in value))
        else:
            raw = await request.body()  # read once and kept: the route reads the same bytes
            if ctype in _NDJSON_TYPES:
                for i, line in enumerate(raw.splitlines()):
                    errors.extend({**e, "field": f"{i}" + ("" if e["field"] == "body" else f".{e['field']}")}
                                  for e in json_errors(line))
            elif raw and (ctype in ("", "application/json") or ctype.endswith("+json")):
                errors.extend(json_errors(raw))
    if errors:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        raise InvalidInput(f"the request is not valid: {detail}", errors=errors)
