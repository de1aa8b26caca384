"""API keys carry only the rights of their kind, over HTTP (issue 11.3).

A `device` key posts readings; an `open311` key posts and reads Open311 requests. Neither is
staff, whatever department the key was issued for: every other route of the app answers 401 or
403 to a key (or, on a public route, exactly what it answers to nobody at all). The matrix walks
the OpenAPI document, so a route added later is checked without being listed here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.unit.data.support import ADMIN, client_for, data_env  # noqa: F401
from tests.unit.govservices.support import bearer, citizen, seeded
from twonets.core.db import session_factory
from twonets.data import identity

pytestmark = pytest.mark.usefixtures("data_env")

# What each kind of key may reach (method, OpenAPI path): nothing else.
ALLOWED: dict[str, set[tuple[str, str]]] = {
    "device": {("POST", "/api/v1/readings")},
    "open311": {
        ("GET", "/open311/v2/services.{fmt}"),
        ("GET", "/open311/v2/services/{service_code}.{fmt}"),
        ("GET", "/open311/v2/requests.{fmt}"),
        ("POST", "/open311/v2/requests.{fmt}"),
        ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"),
        ("GET", "/open311/v2/tokens/{token}.{fmt}"),
    },
}
PATH_VALUES = {"fmt": "json", "kind": "png", "action": "accept", "service_code": "exposed_garbage"}
DENIED = (401, 403)


def _keys(engine, department: str | None = "minzheng") -> dict[str, str]:
    with session_factory(engine)() as s:
        out = {kind: identity.create_api_key(s, ADMIN, kind=kind, name=f"{kind} of {department}", department=department)[1]
               for kind in ("device", "open311")}
        s.commit()
    return out


def _operations(client) -> list[tuple[str, str]]:
    doc = client.get("/openapi.json").json()
    return [(m.upper(), p) for p, ops in doc["paths"].items() for m in ops if m in ("get", "post", "put", "patch", "delete")]


def _call(client, method: str, path: str, headers: dict[str, str], form_key: str | None = None):
    url = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "X-1"), path)
    kw: dict[str, Any] = {"headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        if path.startswith("/open311/"):
            kw["data"] = {"api_key": form_key or "", "service_code": "exposed_garbage", "lat": "31.2304",
                          "long": "121.4737", "description": "路边有垃圾堆放"}
        else:
            kw["json"] = {}
    return client.request(method, url, **kw)


def test_every_route_answers_a_key_only_with_the_rights_of_its_kind(engine):
    seeded(engine)
    keys = _keys(engine)
    c = client_for(engine)
    ops = _operations(c)
    assert len(ops) > 90 and ("POST", "/api/v1/readings") in ops
    wrong: list[str] = []
    for kind, raw in keys.items():
        for method, path in ops:
            r = _call(c, method, path, {"X-API-Key": raw}, form_key=raw)
            if (method, path) in ALLOWED[kind]:
                if r.status_code in DENIED or r.status_code >= 500:
                    wrong.append(f"{kind} {method} {path}: {r.status_code} (its own route) {r.text[:100]}")
                continue
            if r.status_code in DENIED:
                continue
            anonymous = _call(c, method, path, {})  # a public route: the key may add nothing
            if anonymous.status_code in DENIED or anonymous.status_code != r.status_code:
                wrong.append(f"{kind} {method} {path}: {r.status_code} (anonymous {anonymous.status_code}) {r.text[:100]}")
    assert wrong == []


def test_a_department_device_key_reads_no_applications_licences_or_kpis(engine):
    """The finding: a device key of 民政 read applications (names, unmasked ID numbers) and
    licences with their credential, with no audit entry; keys read /api/v1/kpi."""
    seeded(engine)
    keys = _keys(engine, "minzheng")
    c = client_for(engine)
    wang = bearer(citizen(engine, "elderly_local"))
    app = c.post("/api/v1/applications", headers=wang, json={"matter": "MINZHENG-001", "consent": True, "submit": True})
    assert app.status_code == 201, app.text
    app_id, lic_id = app.json()["id"], app.json()["licence"]
    for kind, raw in keys.items():
        for how in ({"X-API-Key": raw}, {"Authorization": f"ApiKey {raw}"}):
            for path in ("/api/v1/applications", f"/api/v1/applications/{app_id}", f"/api/v1/applications/{app_id}/events",
                         f"/api/v1/licences/{lic_id}", f"/api/v1/licences/{lic_id}/credential.json",
                         "/api/v1/services/queue", "/api/v1/kpi", "/api/v1/orders", "/api/v1/auth/me"):
                r = c.get(path, headers=how)
                assert r.status_code == 403, (kind, path, r.status_code, r.text[:200])
                assert r.headers["content-type"].startswith("application/problem+json")
                assert "310" not in r.text  # no ID number in the refusal either


def test_a_key_still_does_what_its_kind_is_for(engine):
    keys = _keys(engine, None)
    c = client_for(engine)
    r = c.post("/api/v1/readings", headers={"X-API-Key": keys["device"]}, json=[])
    assert r.status_code == 200, r.text
    assert c.post("/api/v1/readings", headers={"X-API-Key": keys["open311"]}, json=[]).status_code == 403
    bad = c.get("/api/v1/kpi", headers={"X-API-Key": "tnk_nope_nope"})
    assert bad.status_code == 401  # an invalid key is still "who are you?", not "not here"
