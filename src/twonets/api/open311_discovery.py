"""GeoReport v2 Service Discovery: which Open311 endpoints this server offers, in JSON or XML.

Served at ``/open311/discovery.{json,xml}`` (where the spec's clients look) and, for clients
that look beside the services (``three``), at ``/open311/v2/discovery.{json,xml}``. The
``changeset`` is the date this document (and the endpoint it describes) last changed: move it
when the Open311 face changes. ``url`` is absolute, from the server's public base URL.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from twonets.api.open311_errors import Open311Error, Open311Route
from twonets.api.open311_format import FORMATS, PREFIX, _text
from twonets.core.config import settings

CHANGESET = "2026-12-01T00:00:00+08:00"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CONTACT = "区大数据中心（城市运行中心）/ District data bureau (operation center), twonets"
KEY_SERVICE = ("API keys for Open311 clients are issued by the district data bureau "
               "(twonets users api-key --kind open311).")
MEDIA_TYPES = {"xml": "text/xml", "json": "application/json"}

router = APIRouter(tags=["open311"], route_class=Open311Route)


def document(base: str) -> dict[str, Any]:
    return {
        "changeset": CHANGESET,
        "contact": CONTACT,
        "key_service": KEY_SERVICE,
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": f"{base}{PREFIX}",
            "changeset": CHANGESET,
            "type": "production",
            "formats": [MEDIA_TYPES[f] for f in ("xml", "json")],
        }],
    }


def _xml(doc: dict[str, Any]) -> bytes:
    root = ET.Element("discovery")
    for key in ("changeset", "contact", "key_service"):
        ET.SubElement(root, key).text = _text(doc[key])
    endpoints = ET.SubElement(root, "endpoints")
    for ep in doc["endpoints"]:
        el = ET.SubElement(endpoints, "endpoint")
        for key in ("specification", "url", "changeset", "type"):
            ET.SubElement(el, key).text = _text(ep[key])
        formats = ET.SubElement(el, "formats")
        for media_type in ep["formats"]:
            ET.SubElement(formats, "format").text = media_type
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _discovery(request: Request, fmt: str) -> Response:
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise Open311Error(404, f"Unknown format {fmt!r}; use .json or .xml.")
    doc = document(settings().public_base_url)
    if fmt == "xml":
        return Response(_xml(doc), media_type="application/xml")
    return JSONResponse(doc)


@router.get("/open311/discovery.{fmt}", summary="Service Discovery: the Open311 endpoints of this server")
def discovery(request: Request, fmt: str) -> Response:
    return _discovery(request, fmt)


@router.get(f"{PREFIX}/discovery.{{fmt}}", include_in_schema=False)
def discovery_beside_services(request: Request, fmt: str) -> Response:
    return _discovery(request, fmt)
