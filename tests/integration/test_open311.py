"""Open311 GeoReport v2 through HTTP: services, service definitions, requests, tokens, errors."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from twonets.api.app import create_app
from twonets.city import orders
from twonets.city.models import OrderCreate
from twonets.city.tables import reporter as reporter_t
from twonets.core.actor import SYSTEM
from twonets.core.calendar import utcnow
from twonets.core.db import unit_of_work
from twonets.data import identity

BASE = "/open311/v2"
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}


@pytest.fixture
def client(engine):
    with unit_of_work(engine) as session:
        orders.sync_reference(session)
        _, key = identity.create_api_key(session, SYSTEM, kind="open311", name="城市服务 app")
        revoked, revoked_key = identity.create_api_key(session, SYSTEM, kind="open311", name="old app")
        identity.revoke_api_key(session, SYSTEM, revoked.id)
        _, device_key = identity.create_api_key(session, SYSTEM, kind="device", name="sensor gateway")
    with TestClient(create_app(engine), raise_server_exceptions=False) as c:
        c.engine = engine
        c.key, c.revoked_key, c.device_key = key, revoked_key, device_key
        yield c


def submit(client, fmt="json", **fields):
    form = {"api_key": client.key, "service_code": "exposed_garbage", "lat": "31.2304", "long": "121.4737",
            "description": "路边有垃圾堆放"}
    form.update(fields)
    form = {k: v for k, v in form.items() if v is not None}
    return client.post(f"{BASE}/requests.{fmt}", data=form)


def created_id(client, **fields) -> str:
    r = submit(client, **fields)
    assert r.status_code == 200, r.text
    return r.json()[0]["service_request_id"]


def xml_errors(r) -> list[tuple[str, str]]:
    root = ET.fromstring(r.content)
    assert root.tag == "errors"
    return [(e.findtext("code"), e.findtext("description")) for e in root.findall("error")]


# --- services -----------------------------------------------------------------------------


def test_services_json_and_xml(client):
    r = client.get(f"{BASE}/services.json")
    assert r.status_code == 200
    items = r.json()
    by_code = {s["service_code"]: s for s in items}
    assert len(by_code) == len(items) > 10
    garbage = by_code["exposed_garbage"]
    assert set(garbage) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    assert garbage["service_name"] == "暴露垃圾"
    assert "Exposed garbage" in garbage["description"]
    assert garbage["group"] == "市容环境"
    assert garbage["metadata"] is True
    assert garbage["type"] == "realtime"

    en = {s["service_code"]: s for s in client.get(f"{BASE}/services.json", params={"lang": "en"}).json()}
    assert en["exposed_garbage"]["service_name"] == "Exposed garbage"
    assert en["exposed_garbage"]["group"] == "City appearance"

    r = client.get(f"{BASE}/services.xml")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "services"
    xml_by_code = {s.findtext("service_code"): s for s in root.findall("service")}
    assert set(xml_by_code) == set(by_code)
    assert xml_by_code["exposed_garbage"].findtext("service_name") == "暴露垃圾"
    assert xml_by_code["exposed_garbage"].findtext("metadata") == "true"
    assert xml_by_code["exposed_garbage"].findtext("group") == "市容环境"


def test_service_definition(client):
    r = client.get(f"{BASE}/services/exposed_garbage.json")
    assert r.status_code == 200
    body = r.json()
    assert body["service_code"] == "exposed_garbage"
    attrs = {a["code"]: a for a in body["attributes"]}
    sev = attrs["severity"]
    assert sev["datatype"] == "singlevaluelist" and sev["variable"] is True and sev["required"] is False
    assert {v["key"] for v in sev["values"]} == {"normal", "urgent"}
    assert set(sev) == {"variable", "code", "datatype", "required", "datatype_description", "order",
                        "description", "values"}
    assert attrs["photo_ref"]["datatype"] == "string"
    assert [a["order"] for a in body["attributes"]] == sorted(a["order"] for a in body["attributes"])

    root = ET.fromstring(client.get(f"{BASE}/services/exposed_garbage.xml").content)
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "exposed_garbage"
    xml_attrs = root.find("attributes").findall("attribute")
    assert [a.findtext("code") for a in xml_attrs] == ["severity", "photo_ref"]
    keys = [v.findtext("key") for v in xml_attrs[0].find("values").findall("value")]
    assert keys == ["normal", "urgent"]

    r = client.get(f"{BASE}/services/no_such_thing.json")
    assert r.status_code == 404
    assert r.json()[0]["code"] == 404
    r = client.get(f"{BASE}/services/no_such_thing.xml")
    assert r.status_code == 404 and xml_errors(r)[0][0] == "404"


def test_unknown_format_is_a_spec_error(client):
    r = client.get(f"{BASE}/services.csv")
    assert r.status_code == 404
    assert r.json()[0]["code"] == 404


# --- creating -----------------------------------------------------------------------------


def test_post_creates_a_citizen_order_and_reads_it_back(client):
    r = submit(client, first_name="小明", last_name="王", phone="13812345678", email="w@example.org",
               account_id="acct-7", media_url="https://img.example/1.jpg",
               **{"attribute[severity]": "urgent", "attribute[photo_ref]": "obj/2.jpg"})
    assert r.status_code == 200, r.text
    [reply] = r.json()
    sid = reply["service_request_id"]
    assert sid.startswith("WO-")
    assert reply["account_id"] == "acct-7"
    assert reply["service_notice"]

    with unit_of_work(client.engine) as session:
        order = orders.get_order(session, SYSTEM, sid)
        assert (order.source, order.channel, order.category, order.severity) == ("citizen", "open311", "exposed_garbage", "urgent")
        assert order.photos == ["https://img.example/1.jpg", "obj/2.jpg"]
        assert order.timeline[0].actor.startswith("open311:")
        assert order.timeline[0].actor.startswith("open311:KEY-")
        assert client.key not in order.timeline[0].actor
        rep = session.execute(reporter_t.select()).one()
        assert (rep.name, rep.phone) == ("王小明", "13812345678")

    r = client.get(f"{BASE}/requests/{sid}.json")
    assert r.status_code == 200
    [req] = r.json()
    assert set(req) == REQUEST_FIELDS
    assert req["service_request_id"] == sid
    assert req["status"] == "open"
    assert req["service_code"] == "exposed_garbage"
    assert req["service_name"] == "暴露垃圾"
    assert req["lat"] == pytest.approx(31.2304) and req["long"] == pytest.approx(121.4737)
    assert req["description"] == "路边有垃圾堆放"
    assert req["media_url"] == "https://img.example/1.jpg"
    assert req["agency_responsible"]
    assert req["requested_datetime"].endswith("+08:00")
    assert req["status_notes"] is None  # automatic routing is not a note for the citizen
    assert "王" not in r.text and "13812345678" not in r.text  # reporter data never leaves

    r = client.get(f"{BASE}/requests/{sid}.xml")
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    assert root.tag == "service_requests"
    [el] = root.findall("request")
    assert el.findtext("service_request_id") == sid
    assert el.findtext("status") == "open"
    assert el.findtext("service_code") == "exposed_garbage"
    assert float(el.findtext("lat")) == pytest.approx(31.2304)
    assert float(el.findtext("long")) == pytest.approx(121.4737)
    assert el.findtext("description") == "路边有垃圾堆放"


def test_post_xml_and_address_only(client):
    r = submit(client, fmt="xml", lat=None, long=None, address_string="人民路 100 号 <东门> & 对面",
               service_code="streetlight_fault", description=None)
    assert r.status_code == 200, r.text
    root = ET.fromstring(r.content)
    sid = root.find("request").findtext("service_request_id")
    assert sid.startswith("WO-")
    [req] = client.get(f"{BASE}/requests/{sid}.json").json()
    assert req["address"] == "人民路 100 号 <东门> & 对面"
    assert req["lat"] is None and req["long"] is None
    assert req["description"] == "路灯故障"  # the spec makes description optional: the service name stands in
    el = ET.fromstring(client.get(f"{BASE}/requests/{sid}.xml").content).find("request")
    assert el.findtext("address") == "人民路 100 号 <东门> & 对面"


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("fields", "status", "needle"),
    [
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "no_such_service"}, 404, "service_code"),  # the spec lists 404
        ({"lat": "north"}, 400, "lat"),
        ({"lat": "95"}, 400, "lat"),
        ({"long": "nan"}, 400, "long"),
        ({"long": None}, 400, "lat and long"),
        ({"lat": None, "long": None}, 400, "location"),
        ({"attribute[severity]": "apocalyptic"}, 400, "severity"),
        ({"attribute[severity][]": ["normal", "urgent"]}, 400, "one value"),
        ({"attribute[colour": "red"}, 400, "attribute[colour"),
        ({"phone": "call me"}, 400, "phone"),
        ({"address_id": "NO-SUCH-GRID", "lat": None, "long": None}, 400, "grid"),
        ({"api_key": "wrong"}, 403, "api_key"),
        ({"api_key": "tnk_00000000_forged"}, 403, "api_key"),
        ({"api_key": None}, 403, "api_key"),
        ({"api_key": "revoked"}, 403, "api_key"),
        ({"api_key": "device"}, 403, "api_key"),
    ],
)
def test_post_errors(client, fmt, fields, status, needle):
    if fields.get("api_key") in ("revoked", "device"):
        fields = {**fields, "api_key": getattr(client, f"{fields['api_key']}_key")}
    r = submit(client, fmt=fmt, **fields)
    assert r.status_code == status, r.text
    if fmt == "json":
        errors = [(str(e["code"]), e["description"]) for e in r.json()]
    else:
        errors = xml_errors(r)
    assert errors and errors[0][0] == str(status)
    assert needle.lower() in errors[0][1].lower()


def test_post_must_be_form_encoded(client):
    r = client.post(f"{BASE}/requests.json", json={"api_key": client.key, "service_code": "exposed_garbage"})
    assert r.status_code == 400
    assert r.json()[0]["code"] == 400


def test_bad_key_is_checked_before_anything_else(client):
    r = submit(client, api_key="nope", service_code=None)
    assert r.status_code == 403


# --- reading ------------------------------------------------------------------------------


def _resolve(engine, sid: str, outcome: str) -> None:
    with unit_of_work(engine) as session:
        orders.transition(session, SYSTEM, sid, "accept")
        orders.transition(session, SYSTEM, sid, "resolve", outcome=outcome)


def test_request_filters(client):
    a = created_id(client, service_code="exposed_garbage")
    b = created_id(client, service_code="streetlight_fault", lat="31.30", long="121.50")
    c = created_id(client, service_code="road_damage", lat="31.10", long="121.30")
    _resolve(client.engine, b, "灯已修复")
    with unit_of_work(client.engine) as session:  # not a citizen request: never shown by Open311
        auto = orders.create_order(session, SYSTEM, OrderCreate(
            source="auto", channel="sensor", category="waterlogging", description="sensor alarm",
            lon=121.4, lat=31.2)).id

    def ids(**params):
        r = client.get(f"{BASE}/requests.json", params=params)
        assert r.status_code == 200, r.text
        return [x["service_request_id"] for x in r.json()]

    assert set(ids()) == {a, b, c}
    assert ids() == [c, b, a]  # newest first
    assert set(ids(status="open")) == {a, c}
    assert ids(status="closed") == [b]
    assert set(ids(status="open,closed")) == {a, b, c}
    assert ids(service_code="exposed_garbage") == [a]
    assert set(ids(service_code="exposed_garbage,road_damage")) == {a, c}
    assert ids(service_code="road_damage", status="closed") == []
    assert ids(service_request_id=f"{b},{a},{auto},WO-NOPE") == [b, a]
    assert ids(service_request_id=a, status="closed") == [a]  # the spec: ids override other filters

    now = utcnow()
    iso = lambda t: t.isoformat()  # noqa: E731
    assert set(ids(start_date=iso(now - timedelta(days=1)), end_date=iso(now + timedelta(days=1)))) == {a, b, c}
    assert ids(start_date=iso(now + timedelta(days=1))) == []
    assert ids(end_date=iso(now - timedelta(days=1))) == []
    assert set(ids(start_date=(now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"))) == {a, b, c}
    local = (now - timedelta(days=2)).astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M:%S")
    r = client.get(f"{BASE}/requests.json?start_date={local}+08:00")  # "+" unencoded: a space on arrival
    assert {x["service_request_id"] for x in r.json()} == {a, b, c}

    [closed] = client.get(f"{BASE}/requests.json", params={"status": "closed"}).json()
    assert closed["status_notes"] == "灯已修复"
    [one] = client.get(f"{BASE}/requests/{b}.json").json()
    assert one["status"] == "closed" and one["status_notes"] == "灯已修复"
    with unit_of_work(client.engine) as session:
        orders.transition(session, SYSTEM, c, "suspend", reason="等待道路封闭许可")
    [one] = client.get(f"{BASE}/requests/{c}.json").json()
    assert one["status"] == "open" and one["status_notes"] == "等待道路封闭许可"

    root = ET.fromstring(client.get(f"{BASE}/requests.xml", params={"status": "open"}).content)
    requests = {r.findtext("service_request_id"): r for r in root.findall("request")}
    assert set(requests) == {a, c}
    assert requests[c].findtext("status_notes") == "等待道路封闭许可"

    r = client.get(f"{BASE}/requests/{auto}.json")
    assert r.status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"status": "pending"},
        {"service_code": "nope"},
        {"start_date": "yesterday"},
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"},
        {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
    ],
)
def test_request_filter_errors(client, params):
    r = client.get(f"{BASE}/requests.json", params=params)
    assert r.status_code == 400
    assert r.json()[0]["code"] == 400
    r = client.get(f"{BASE}/requests.xml", params=params)
    assert r.status_code == 400 and xml_errors(r)[0][0] == "400"


def test_duplicate_reports_are_merged_and_stay_open(client):
    first = created_id(client)
    second = created_id(client, lat="31.23041")
    assert first != second
    [req] = client.get(f"{BASE}/requests/{second}.json").json()
    assert req["status"] == "open"
    assert first in req["service_notice"]


def test_tokens(client):
    sid = created_id(client)
    r = client.get(f"{BASE}/tokens/{sid}.json")
    assert r.status_code == 200
    assert r.json() == [{"service_request_id": sid, "token": sid}]
    root = ET.fromstring(client.get(f"{BASE}/tokens/{sid}.xml").content)
    assert root.find("request").findtext("service_request_id") == sid

    r = client.get(f"{BASE}/tokens/WO-19990101-000001.json")
    assert r.status_code == 404
    assert r.json()[0]["code"] == 404
    r = client.get(f"{BASE}/tokens/nope.xml")
    assert r.status_code == 404 and xml_errors(r)[0][0] == "404"


def test_unknown_request_is_a_spec_404(client):
    r = client.get(f"{BASE}/requests/WO-19990101-000001.json")
    assert r.status_code == 404
    [err] = r.json()
    assert err["code"] == 404 and "WO-19990101-000001" in err["description"]
    assert r.headers["content-type"].startswith("application/json")
    r = client.get(f"{BASE}/requests/WO-19990101-000001.xml")
    assert r.status_code == 404
    assert xml_errors(r)[0][0] == "404"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_retry_with_idempotency_key_creates_one_order(client, fmt):
    form = {"api_key": client.key, "service_code": "road_damage", "lat": "31.1", "long": "121.3",
            "description": "坑"}
    headers = {"Idempotency-Key": "retry-1"}
    first = client.post(f"{BASE}/requests.{fmt}", data=form, headers=headers)
    again = client.post(f"{BASE}/requests.{fmt}", data=form, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replay") == "true"
    assert first.content == again.content
    assert len(client.get(f"{BASE}/requests.json").json()) == 1
