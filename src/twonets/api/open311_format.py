"""The GeoReport v2 wire format: the path prefix, JSON or XML bodies, a request's format and language, times."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from twonets.core import calendar

PREFIX = "/open311/v2"
FORMATS = ("json", "xml")

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_ILLEGAL.sub("", str(value))


def _fill(parent: ET.Element, item: dict[str, Any]) -> None:
    for key, value in item.items():
        child = ET.SubElement(parent, key)
        if isinstance(value, list):  # nested lists: <attributes><attribute/>… and <values><value/>…
            singular = key[:-1] if key.endswith("s") else key
            for sub in value:
                _fill(ET.SubElement(child, singular), sub)
        else:
            child.text = _text(value)


def _xml(root_tag: str, item_tag: str | None, payload: list[dict[str, Any]] | dict[str, Any]) -> bytes:
    root = ET.Element(root_tag)
    if item_tag is None:
        assert isinstance(payload, dict)
        _fill(root, payload)
    else:
        for item in payload:
            _fill(ET.SubElement(root, item_tag), item)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _render(fmt: str, root_tag: str, item_tag: str | None, payload: Any, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(_xml(root_tag, item_tag, payload), status_code=status, media_type="application/xml")
    return JSONResponse(payload, status_code=status)


def _fmt_of(request: Request) -> str:
    return "xml" if request.url.path.lower().endswith(".xml") else "json"


def _lang(request: Request) -> str:
    lang = (request.query_params.get("lang") or "zh").lower()
    return "en" if lang.startswith("en") else "zh"


def _when(at: datetime | None) -> str | None:
    return None if at is None else calendar.to_local(at).isoformat(timespec="seconds")
