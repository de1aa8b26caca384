"""Bad input through HTTP is a 4xx a person can act on, never a 500, on SQLite and PostgreSQL
(issue 11 item 9): dates at the ends of the calendar, a NUL byte in any string parameter or
body field, NaN/Infinity in a JSON body, forms nested hundreds of levels deep or megabytes big.
SQLite never stores invalid JSON."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.districts import seed_tiny_district
from tests.sensing_support import CASES, register
from tests.sensing_support import seed as seed_sensing
from tests.unit.data.support import ADMIN, bearer, data_env  # noqa: F401
from tests.unit.govservices.support import citizen, seeded
from twonets.api.app import create_app
from twonets.core.actor import Actor
from twonets.core.db import session_factory
from twonets.data import identity

pytestmark = pytest.mark.usefixtures("data_env")
DISPATCHER = Actor(id="desk-1", roles=frozenset({"dispatcher"}), department="dispatch")
FIRST, LAST = "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"
NUL = "a\x00b"


@pytest.fixture
def client(engine):
    seeded(engine)
    with session_factory(engine)() as s:
        seed_tiny_district(s)
        seed_sensing(s)
        thing = register(s, CASES[0])["fire"]
        _, device = identity.create_api_key(s, ADMIN, kind="device", name="gateway 1")
        _, o311 = identity.create_api_key(s, ADMIN, kind="open311", name="app")
        s.commit()
    c = TestClient(create_app(engine), raise_server_exceptions=False)  # a 500 answers as a 500, to be counted
    c.engine, c.thing, c.device, c.o311 = engine, thing, {"X-API-Key": device}, o311
    c.citizen = bearer(citizen(engine, "elderly_local"))
    return c


def _acted_on(r, *, open311: bool = False) -> None:
    """A 2xx, or a 4xx in the route's error format, never a 5xx."""
    assert r.status_code < 500, (r.request.method, str(r.request.url), r.status_code, r.text[:300])
    if r.status_code >= 400:
        if open311:
            assert isinstance(r.json(), list) and r.json()[0]["description"], r.text
        else:
            assert r.headers["content-type"].startswith("application/problem+json"), r.text
            assert isinstance(r.json()["detail"], str) and r.json()["status"] == r.status_code


# --- dates at the ends of the calendar ---------------------------------------------------------


@pytest.mark.parametrize("at", [FIRST, LAST])
def test_dates_at_the_ends_of_the_calendar_are_answered(client, at):
    staff, admin, day = bearer(DISPATCHER), bearer(ADMIN), at[:10]
    for params in ({"created_from": at}, {"created_to": at}, {"created_from": at, "created_to": at}):
        _acted_on(client.get("/api/v1/orders", params=params, headers=staff))
    for params in ({"from": day}, {"to": day}, {"from": day, "to": day}):
        _acted_on(client.get("/api/v1/kpi", params=params, headers=staff))
    for params in ({"since": day}, {"until": day}, {"since": day, "until": day}):
        _acted_on(client.get("/api/v1/services/stats", params=params, headers=admin))
    for params in ({"start_date": at}, {"end_date": at}, {"start_date": at, "end_date": at}):
        _acted_on(client.get("/open311/v2/requests.json", params=params), open311=True)
    for params in ({"from": at}, {"to": at}, {"from": at, "to": at}):
        _acted_on(client.get(f"/api/v1/things/{client.thing}/readings", params=params, headers=staff))
    r = client.post("/api/v1/readings", headers=client.device,
                    json=[{"thing_id": client.thing, "ts": at, "values": {"temperature_c": 21.5}}])
    _acted_on(r)
    assert r.status_code != 200 or r.json()["quarantined"] == 1, r.text  # a reading out of time is quarantined
    r = client.post("/api/v1/sharing/requests", headers=admin, json={
        "dataset": "population", "purpose": "核验居住证申请", "valid_from": at, "valid_until": at})
    _acted_on(r)


def test_a_date_out_of_range_names_its_field(client):
    r = client.get("/api/v1/orders", params={"created_from": FIRST}, headers=bearer(DISPATCHER))
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["created_from"], r.text
    r = client.get("/api/v1/kpi", params={"to": LAST[:10]}, headers=bearer(DISPATCHER))
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["to"], r.text
    r = client.get("/api/v1/services/stats", params={"until": FIRST[:10]}, headers=bearer(ADMIN))
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["until"], r.text


# --- NUL bytes ---------------------------------------------------------------------------------


def test_a_nul_byte_in_any_string_is_a_422_naming_it(client):
    staff, admin = bearer(DISPATCHER), bearer(ADMIN)
    cases = [
        ("get", "/api/v1/orders", {"params": {"category": NUL}, "headers": staff}, "category"),
        ("get", "/api/v1/orders/WO-1%00", {"headers": staff}, "path"),
        ("get", "/api/v1/matters", {"params": {"q": NUL}}, "q"),
        ("get", "/api/v1/catalogue/pop%00ulation", {"headers": admin}, "path"),
        ("get", "/api/v1/kpi", {"params": {"department": NUL}, "headers": staff}, "department"),
        ("post", "/api/v1/auth/login", {"json": {"username": NUL, "password": "correct horse"}}, "username"),
        ("post", "/api/v1/orders", {"json": {"source": "citizen", "channel": "hotline", "category": "road_damage",
                                             "description": f"路面{NUL}坑洼", "lon": 121.475, "lat": 31.225},
                                    "headers": staff}, "description"),
        ("post", "/api/v1/applications", {"json": {"matter": "GONGAN-001", "consent": True, "form": {"address": NUL}},
                                          "headers": client.citizen}, "form.address"),
        ("post", "/api/v1/applications", {"json": {"matter": "GONGAN-001", "consent": True, "form": {NUL: "x"}},
                                          "headers": client.citizen}, "form"),
        ("post", "/api/v1/readings", {"json": [{"thing_id": client.thing, "ts": "2026-11-26T10:00:00+08:00",
                                               "values": {"temperature_c": 1}, "note": NUL}], "headers": client.device}, "0.note"),
    ]
    for method, path, kw, field in cases:
        r = getattr(client, method)(path, **kw)
        assert r.status_code == 422, (method, path, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in [e["field"] for e in r.json()["errors"]], (path, r.text)
        assert "\x00" not in r.text and "\\u0000" not in r.text  # the byte is named, never echoed


def test_a_nul_byte_on_open311_is_its_400_error_list(client):
    r = client.get("/open311/v2/requests.json", params={"service_code": NUL})
    assert r.status_code == 400 and "service_code" in r.json()[0]["description"], r.text
    r = client.post("/open311/v2/requests.json", data={"api_key": client.o311, "service_code": "road_damage",
                                                       "lat": "31.225", "long": "121.475", "description": NUL})
    assert r.status_code == 400 and "description" in r.json()[0]["description"], r.text


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul(client):
    r = client.post("/api/v1/applications", headers={**client.citizen, "content-type": "application/json"},
                    content=json.dumps({"matter": "GONGAN-001", "consent": True, "form": {"address": "C:\\u0000 路"}}))
    assert r.status_code == 201, r.text
    assert r.json()["form"]["address"] == "C:\\u0000 路"


# --- NaN / Infinity, depth and size ------------------------------------------------------------


def _start_with(address: str) -> str:
    """A start request whose form's address is the raw JSON text `address`."""
    return '{"matter": "GONGAN-001", "consent": true, "form": {"address": ' + address + "}}"


def _form_with(address: str) -> str:
    return '{"form": {"address": ' + address + "}}"


def _stored_forms_are_json(engine) -> None:
    with engine.connect() as conn:
        for (form,) in conn.execute(text("SELECT form FROM svc_application")):
            raw = form if isinstance(form, str) else json.dumps(form, allow_nan=False)

            def refuse(token):
                raise AssertionError(f"invalid JSON stored: {token}")

            json.loads(raw, parse_constant=refuse)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_in_a_form_are_a_422(client, token):
    body = _start_with(token)
    r = client.post("/api/v1/applications", headers={**client.citizen, "content-type": "application/json"}, content=body)
    assert r.status_code == 422 and "form.address" in [e["field"] for e in r.json()["errors"]], r.text
    started = client.post("/api/v1/applications", headers=client.citizen, json={"matter": "GONGAN-001", "consent": True})
    assert started.status_code == 201, started.text
    r = client.patch(f"/api/v1/applications/{started.json()['id']}", headers={**client.citizen, "content-type": "application/json"},
                     content=_form_with(token))
    assert r.status_code == 422, r.text
    _stored_forms_are_json(client.engine)


def test_the_domain_refuses_non_finite_numbers_in_a_form(engine):
    from twonets.core.errors import InvalidInput
    from twonets.govservices import applications

    seeded(engine)
    person = citizen(engine, "elderly_local")
    with session_factory(engine)() as s:
        app = applications.start(s, person, "GONGAN-001", consent=True)
        with pytest.raises(InvalidInput) as err:
            applications.update_form(s, person, app.id, {"address": float("nan")})
        assert err.value.errors[0]["field"] == "form.address"
        s.commit()
    _stored_forms_are_json(engine)


def _nested(depth: int, kind: str) -> str:
    return ("[" * depth + '"x"' + "]" * depth) if kind == "list" else ('{"n":' * depth + '"x"' + "}" * depth)


@pytest.mark.parametrize("kind", ["list", "object"])
def test_a_form_nested_900_levels_is_a_422(client, kind):
    headers = {**client.citizen, "content-type": "application/json"}
    deep = _nested(900, kind)
    r = client.post("/api/v1/applications", headers=headers, content=_start_with(deep))
    assert r.status_code == 422, r.text[:300]
    started = client.post("/api/v1/applications", headers=client.citizen, json={"matter": "GONGAN-001", "consent": True}).json()["id"]
    for method, path in (("patch", f"/api/v1/applications/{started}"), ("post", f"/api/v1/applications/{started}/submit")):
        r = client.request(method, path, headers=headers, content=_form_with(deep))
        assert r.status_code == 422, (path, r.text[:300])
    r = client.patch(f"/api/v1/applications/{started}", headers=headers, content=_form_with(_nested(20_000, kind)))
    assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith("application/problem+json"), r.text[:300]


def test_a_huge_form_is_a_short_422(client):
    started = client.post("/api/v1/applications", headers=client.citizen, json={"matter": "GONGAN-001", "consent": True}).json()["id"]
    many = {f"f{i}": "x" * 100 for i in range(10_000)}  # 1 MB
    r = client.patch(f"/api/v1/applications/{started}", headers=client.citizen, json={"form": many})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("form"), r.text[:300]
    assert len(r.content) < 4096  # the error does not echo the form


def test_a_time_is_written_out_never_a_bare_number(client):
    r = client.post("/api/v1/tags", headers=bearer(ADMIN), json=[
        {"tag": "elderly_alone", "subject_kind": "person", "subject_ref": "P1", "valid_from": 0}])
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("valid_from"), r.text


def test_a_flag_is_true_or_false_never_a_word_or_number(client):
    for value in ("yes", 1, "true"):
        r = client.post("/api/v1/catalogue", headers=bearer(ADMIN), json={
            "code": "test_flags", "name_zh": "测试", "name_en": "Test", "owner": "gongan", "open_data": value})
        assert r.status_code == 422 and "open_data" in [e["field"] for e in r.json()["errors"]], (value, r.text[:300])
