"""Open311 GeoReport v2 as real clients use it (issue 12, items 2 and 20–27), through HTTP:
the api_key in the query string, attributes the server does not define and the multi-value
form, Service Discovery, the spec's status codes and error list everywhere under the prefix,
media URLs a client can fetch, repeated parameters, and the date window."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.districts import cell_center, seed_tiny_district
from twonets.api.app import create_app
from twonets.city import orders
from twonets.city.models import OrderCreate
from twonets.core import config
from twonets.core.actor import SYSTEM
from twonets.core.calendar import utcnow
from twonets.core.db import session_factory, unit_of_work
from twonets.data import identity

BASE = "/open311/v2"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"


@pytest.fixture
def client(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("TWONETS_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.delenv("TWONETS_PUBLIC_BASE_URL", raising=False)
    config.settings.cache_clear()
    with unit_of_work(engine) as session:
        orders.sync_reference(session)
        _, key = identity.create_api_key(session, SYSTEM, kind="open311", name="城市服务 app")
    with TestClient(create_app(engine), raise_server_exceptions=False) as c:
        c.engine, c.key = engine, key
        yield c
    config.settings.cache_clear()


def submit(client, fmt="json", params=None, files=None, **fields):
    lon, lat = cell_center(0, 0)
    form = {"api_key": client.key, "service_code": "exposed_garbage", "lat": str(lat), "long": str(lon),
            "description": "路边有垃圾堆放"}
    form.update(fields)
    form = {k: v for k, v in form.items() if v is not None}
    return client.post(f"{BASE}/requests.{fmt}", data=form, params=params, files=files)


def created(client, **fields) -> str:
    r = submit(client, **fields)
    assert r.status_code == 200, r.text
    return r.json()[0]["service_request_id"]


def errors_of(r) -> list[tuple[str, str]]:
    if r.headers["content-type"].startswith("application/xml"):
        root = ET.fromstring(r.content)
        assert root.tag == "errors"
        return [(e.findtext("code"), e.findtext("description")) for e in root.findall("error")]
    assert r.headers["content-type"].startswith("application/json")
    return [(str(e["code"]), e["description"]) for e in r.json()]


def order_of(client, sid):
    with unit_of_work(client.engine) as session:
        return orders.get_order(session, SYSTEM, sid)


# --- 2. a location outside the district ---------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_point_outside_the_district_is_refused_with_the_error_list(client, fmt):
    with session_factory(client.engine)() as s:
        seed_tiny_district(s)
    r = submit(client, fmt=fmt, lat="39.90", long="116.40")  # Beijing
    assert r.status_code == 400, r.text
    [(code, description)] = errors_of(r)
    assert code == "400" and "outside the district" in description
    assert client.get(f"{BASE}/requests.json").json() == []
    # …unless an address or a grid of the district says where the problem is
    sid = created(client, lat="39.90", long="116.40", address_id="S02C001G01")
    assert order_of(client, sid).street_code == "S02"
    assert created(client, lat="39.90", long="116.40", address_string="人民路 100 号")


# --- 20. api_key in the query string (the open311 1.1 client) -----------------------------


def test_api_key_in_the_query_string_is_accepted(client):
    r = submit(client, params={"api_key": client.key, "jurisdiction_id": ""}, api_key=None)
    assert r.status_code == 200, r.text
    assert r.json()[0]["service_request_id"].startswith("WO-")
    r = submit(client, params={"api_key": "wrong"}, api_key=None)
    assert r.status_code == 403 and "api_key" in errors_of(r)[0][1]


# --- 21. attributes: unknown ones kept, the multi-value form parsed -----------------------


def test_unknown_attributes_are_kept_with_the_request(client):
    sid = created(client, **{"attribute[uprn]": "123", "attribute[colour][]": ["red", "blue"]})
    order = order_of(client, sid)
    assert order.description.startswith("路边有垃圾堆放")
    assert "colour=red, blue" in order.description and "uprn=123" in order.description


def test_multi_value_attributes_are_parsed(client):
    sid = created(client, **{"attribute[severity][]": "urgent", "attribute[photo_ref][]": ["obj/a.jpg", "obj/b.jpg"]})
    order = order_of(client, sid)
    assert order.severity == "urgent"
    assert order.photos == ["obj/a.jpg", "obj/b.jpg"]


# --- 22. Service Discovery ----------------------------------------------------------------


def test_service_discovery_json_and_xml(client):
    r = client.get("/open311/discovery.json")
    assert r.status_code == 200
    doc = r.json()
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(doc)
    [ep] = doc["endpoints"]
    assert ep["specification"] == "http://wiki.open311.org/GeoReport_v2"
    base = config.settings().public_base_url  # every URL the server issues starts there
    assert ep["url"] == f"{base}{BASE}" and ep["type"] == "production"
    assert ep["changeset"] and set(ep["formats"]) == {"text/xml", "application/json"}
    assert client.get(ep["url"].removeprefix(base) + "/services.json").status_code == 200

    r = client.get("/open311/discovery.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "discovery" and root.findtext("changeset") == doc["changeset"]
    assert root.findtext("contact") and root.findtext("key_service")
    [el] = root.find("endpoints").findall("endpoint")
    assert el.findtext("specification") == ep["specification"] and el.findtext("url") == ep["url"]
    assert el.findtext("type") == "production" and el.findtext("changeset")
    assert {f.text for f in el.find("formats").findall("format")} == {"text/xml", "application/json"}
    assert client.get(f"{BASE}/discovery.json").json() == doc  # where `three` looks for it


# --- 23. unknown service_code on POST is a 404 --------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_with_an_unknown_service_code_is_404(client, fmt):
    r = submit(client, fmt=fmt, service_code="no_such_service")
    assert r.status_code == 404
    [(code, description)] = errors_of(r)
    assert code == "404" and "no_such_service" in description


# --- 24. every path under the prefix answers the spec's error list -------------------------


@pytest.mark.parametrize(("method", "path", "status", "ctype"), [
    ("GET", f"{BASE}/nothing.xml", 404, "application/xml"),
    ("GET", f"{BASE}/nothing.json", 404, "application/json"),
    ("GET", f"{BASE}/requests/a/b/c.xml", 404, "application/xml"),
    ("GET", f"{BASE}/", 404, "application/json"),
    ("POST", f"{BASE}/services.xml", 405, "application/xml"),
    ("DELETE", f"{BASE}/requests.json", 405, "application/json"),
])
def test_unmatched_paths_answer_the_spec_error_list(client, method, path, status, ctype):
    r = client.request(method, path)
    assert r.status_code == status
    assert r.headers["content-type"].startswith(ctype)
    [(code, description)] = errors_of(r)
    assert code == str(status) and description


# --- 25. media_url: an absolute URL the client can fetch -----------------------------------


def test_uploaded_media_is_served_at_an_absolute_media_url(client):
    sid = created(client, files={"media": ("photo.jpg", JPEG, "image/jpeg")})
    [req] = client.get(f"{BASE}/requests/{sid}.json").json()
    url = req["media_url"]
    assert url.startswith(f"{config.settings().public_base_url}/media/open311/") and url.endswith(".jpg")
    got = client.get(url)
    assert got.status_code == 200 and got.content == JPEG
    assert got.headers["content-type"] == "image/jpeg"
    root = ET.fromstring(client.get(f"{BASE}/requests/{sid}.xml").content)
    assert root.find("request").findtext("media_url") == url

    r = submit(client, files={"media": ("x.jpg", b"<script>alert(1)</script>", "image/jpeg")})
    assert r.status_code == 400 and "image" in errors_of(r)[0][1]
    assert client.get("/media/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get("/media/open311/nothing.jpg").status_code == 404


def test_media_keys_become_urls_under_the_public_base_url(client, monkeypatch):
    sid = created(client, media_url="demo/photos/WO-1/1.jpg")
    [req] = client.get(f"{BASE}/requests/{sid}.json").json()
    assert req["media_url"] == f"{config.settings().public_base_url}/media/demo/photos/WO-1/1.jpg"
    monkeypatch.setenv("TWONETS_PUBLIC_BASE_URL", "https://city.example/")
    config.settings.cache_clear()
    [req] = client.get(f"{BASE}/requests/{sid}.json").json()
    assert req["media_url"] == "https://city.example/media/demo/photos/WO-1/1.jpg"
    outside = created(client, media_url="https://img.example/1.jpg", lat=str(cell_center(1, 1)[1]))
    assert client.get(f"{BASE}/requests/{outside}.json").json()[0]["media_url"] == "https://img.example/1.jpg"


# --- 26. repeated parameters are honoured -------------------------------------------------


def test_repeated_parameters_are_all_honoured(client):
    a = created(client, service_code="exposed_garbage")
    b = created(client, service_code="streetlight_fault")
    with unit_of_work(client.engine) as session:
        orders.transition(session, SYSTEM, b, "accept")
        orders.transition(session, SYSTEM, b, "resolve", outcome="灯已修复")

    def ids(query: str) -> set[str]:
        r = client.get(f"{BASE}/requests.json?{query}")
        assert r.status_code == 200, r.text
        return {x["service_request_id"] for x in r.json()}

    assert ids("status=open&status=closed") == {a, b}
    assert ids("status=closed") == {b}
    assert ids("service_code=exposed_garbage&service_code=streetlight_fault") == {a, b}
    assert ids("service_code=exposed_garbage&service_code=road_damage,streetlight_fault&status=open") == {a}
    assert ids(f"service_request_id={a}&service_request_id={b}") == {a, b}
    r = client.get(f"{BASE}/requests.json?start_date=2026-11-01T00:00:00Z&start_date=2026-11-02T00:00:00Z")
    assert r.status_code == 400 and "once" in errors_of(r)[0][1]


# --- 27. start_date alone searches up to now ----------------------------------------------


def test_start_date_alone_searches_up_to_now(client):
    now = utcnow()
    today = created(client)
    with unit_of_work(client.engine) as session:  # a request from 95 days ago
        lon, lat = cell_center(1, 1)
        old = orders.create_order(session, SYSTEM, OrderCreate(
            source="citizen", channel="open311", category="road_damage", description="坑", lon=lon, lat=lat),
            at=now - timedelta(days=95)).id

    def ids(**params) -> set[str]:
        r = client.get(f"{BASE}/requests.json", params=params)
        assert r.status_code == 200, r.text
        return {x["service_request_id"] for x in r.json()}

    assert ids(start_date=(now - timedelta(days=100)).strftime("%Y-%m-%dT%H:%M:%SZ")) == {today, old}
    assert ids(start_date=(now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")) == {today}
    assert ids() == {today}  # no dates: the most recent 90 days
    assert ids(end_date=(now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")) == {old}
    r = client.get(f"{BASE}/requests.json", params={"start_date": "2026-01-01T00:00:00Z",
                                                     "end_date": "2026-06-01T00:00:00Z"})
    assert r.status_code == 400  # both given: at most 90 days
