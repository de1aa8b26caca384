"""The OpenAPI document is valid (openapi-spec-validator, an independent validator) and says what
the routes really answer (issue 11 item 10, issue 15 item 9): every real response below — errors
401/403/404/409/422/429 and the routes' other media types — has its status and media type
declared, and a JSON body validates against the declared schema (the real 422, problem details
with `detail` a string and `errors` with field paths, among them)."""

from __future__ import annotations

import re

import jsonschema
import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from tests.districts import cell_center, seed_tiny_district
from tests.unit.data.support import ADMIN, bearer, data_env, seed  # noqa: F401
from twonets.api.app import create_app
from twonets.core.actor import Actor
from twonets.core.db import session_factory
from twonets.data import identity

pytestmark = pytest.mark.usefixtures("data_env")
DESK = Actor(id="desk-1", roles=frozenset({"dispatcher"}), department="dispatch")
PW = "correct horse battery"


@pytest.fixture
def live(sqlite_engine):
    seed(sqlite_engine)
    with session_factory(sqlite_engine)() as s:
        seed_tiny_district(s)
        identity.create_user(s, ADMIN, username="citizen.li", password=PW, roles=["citizen"], subject_id="P1")
        s.commit()
    app = create_app(sqlite_engine)
    client = TestClient(app, raise_server_exceptions=False)
    return client, client.get("/openapi.json").json()


def _operation(doc: dict, method: str, path: str) -> dict:
    for template, ops in sorted(doc["paths"].items(), key=lambda t: "{" in t[0]):  # fixed paths first
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in ops:
            return ops[method.lower()]
    raise AssertionError(f"{method} {path} is not in the document")


def _conforms(doc: dict, r) -> None:
    """The response's status and media type are declared, and a JSON body matches its schema."""
    op = _operation(doc, r.request.method, r.request.url.path)
    declared = op["responses"].get(str(r.status_code))
    assert declared is not None, f"{r.request.method} {r.request.url.path}: {r.status_code} undeclared ({sorted(op['responses'])})"
    media_type = r.headers.get("content-type", "").split(";")[0].strip()
    content = declared.get("content") or {}
    if r.status_code == 204:
        return
    assert media_type in content, f"{r.request.url.path} {r.status_code}: {media_type} undeclared ({sorted(content)})"
    schema = content[media_type].get("schema")
    if schema and media_type.endswith("json"):
        jsonschema.validate(r.json(), {**schema, "components": doc["components"]},
                            cls=jsonschema.Draft202012Validator)


def test_the_document_passes_an_independent_openapi_validator(live):
    _, doc = live
    validate(doc)
    assert doc["openapi"].startswith("3.")
    assert "HTTPValidationError" not in str(doc)  # the 422 FastAPI would declare is not what twonets answers


def test_error_responses_are_declared_problem_details(live):
    client, doc = live
    staff, citizen = bearer(DESK), _login(client)
    answers = [
        client.get("/api/v1/orders", params={"limit": 0}, headers=staff),  # 422: query
        client.post("/api/v1/orders", json={"source": "citizen"}, headers=staff),  # 422: body
        client.get("/api/v1/orders"),  # 401
        client.get("/api/v1/kpi", headers=citizen),  # 403
        client.get("/api/v1/orders/WO-20260101-999999", headers=staff),  # 404
        client.post("/api/v1/orders/WO-20260101-999999/accept", headers=staff),  # 404 on a write
        client.get("/api/v1/matters", params={"q": "a\x00b"}),  # 422 from the input gate
    ]
    lon, lat = cell_center(0, 0)
    order = client.post("/api/v1/orders", headers=staff, json={
        "source": "citizen", "channel": "web", "category": "exposed_garbage", "description": "路边有垃圾",
        "lon": lon, "lat": lat, "reporter": {"name": "李四", "phone": "13900001111"}})
    answers += [order, client.post(f"/api/v1/orders/{order.json()['id']}/close", json={}, headers=staff)]  # 201, 409
    for _ in range(6):
        answers.append(client.post("/api/v1/auth/login", json={"username": "citizen.li", "password": "wrong password"}))
    statuses = [r.status_code for r in answers]
    assert {401, 403, 404, 409, 422, 429} <= set(statuses), statuses
    for r in answers:
        _conforms(doc, r)
        if r.status_code >= 400:
            assert r.headers["content-type"].startswith("application/problem+json")
    invalid = answers[0].json()
    assert isinstance(invalid["detail"], str) and invalid["errors"][0]["field"] == "limit"


def _login(client) -> dict[str, str]:
    r = client.post("/api/v1/auth/login", json={"username": "citizen.li", "password": PW})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_other_media_types_are_declared(live):
    client, doc = live
    staff, admin = bearer(DESK), bearer(ADMIN)
    answers = {
        "text/csv": client.get("/api/v1/kpi", params={"format": "csv"}, headers=staff),
        "text/plain": client.get("/metrics", headers=admin),
        "application/geo+json": client.get("/api/v1/areas", params={"level": "grid"}),
        "application/ld+json": client.get("/api/v1/catalogue.jsonld"),
        "application/vnd.apache.parquet": client.get("/api/v1/catalogue/spatial/download.parquet"),
        "application/did+ld+json": client.get("/.well-known/did.json"),
        "application/xml": client.get("/open311/v2/services.xml"),
    }
    answers["text/csv "] = client.get("/api/v1/catalogue/spatial/download.csv")
    for expected, r in answers.items():
        assert r.status_code == 200, (expected, r.request.url.path, r.text[:200])
        assert r.headers["content-type"].startswith(expected.strip()), (r.request.url.path, r.headers["content-type"])
        _conforms(doc, r)
    r = client.get("/open311/v2/requests/WO-none.xml")  # an Open311 error, in the format of the path
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/xml")
    _conforms(doc, r)


def test_a_method_the_route_does_not_take_is_a_405_naming_the_allowed_ones(live):
    client, doc = live
    r = client.delete("/api/v1/kpi")
    assert r.status_code == 405 and r.headers["allow"] == "GET", (r.status_code, dict(r.headers))
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "delete" not in doc["paths"]["/api/v1/kpi"]
    r = client.delete("/api/v1/orders")  # two routes serve the path: both their methods are named
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST", dict(r.headers)
    r = client.put("/open311/v2/services.json")
    assert r.status_code == 405 and r.headers["allow"] == "GET" and isinstance(r.json(), list), r.text
