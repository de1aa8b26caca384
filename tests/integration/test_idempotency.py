"""Idempotency keys are bound to the caller, the request and its body, over HTTP (issue 11.4).

A key is scoped by who sends it and by method + path: another caller reusing it gets their own
result, never someone else's reply. The same caller sending the same key with a different body
gets a 422 problem saying so, and nothing is created.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.districts import cell_center, seed_tiny_district
from twonets.api.app import create_app
from twonets.core.actor import SYSTEM, Actor
from twonets.core.db import session_factory, unit_of_work
from twonets.data import identity

DESK = Actor(id="desk-1", roles=frozenset({"dispatcher"}), department="dispatch")
CITIZEN = Actor(id="citizen-1", roles=frozenset({"citizen"}))
LVHUA = Actor(id="h-lvhua", roles=frozenset({"department_handler"}), department="lvhua")
SHUIWU = Actor(id="h-shuiwu", roles=frozenset({"department_handler"}), department="shuiwu")


def bearer(actor: Actor) -> dict[str, str]:
    return {"Authorization": f"Bearer {identity.issue_access_token(actor)[0]}"}


def body(**kw):
    lon, lat = cell_center(0, 0)
    base = {"source": "citizen", "channel": "web", "category": "exposed_garbage", "description": "路边有垃圾",
            "lon": lon, "lat": lat, "reporter": {"name": "李四", "phone": "13900001111"}}
    base.update(kw)
    return base


@pytest.fixture
def c(engine):
    s = session_factory(engine)()
    seed_tiny_district(s)
    s.close()
    with TestClient(create_app(engine), raise_server_exceptions=False) as client:
        yield client


def _count(c) -> int:
    return len(c.get("/api/v1/orders", headers=bearer(DESK)).json()["items"])


def test_another_caller_reusing_a_key_gets_their_own_order(c):
    key = {"Idempotency-Key": "k-shared-1"}
    desk = c.post("/api/v1/orders", json=body(), headers={**bearer(DESK), **key})
    assert desk.status_code == 201
    mine = c.post("/api/v1/orders", json=body(description="小区门口垃圾满了"), headers={**bearer(CITIZEN), **key})
    assert mine.status_code == 201, mine.text
    assert "Idempotent-Replay" not in mine.headers
    assert mine.json()["id"] != desk.json()["id"] and mine.json()["description"] == "小区门口垃圾满了"
    assert _count(c) == 2
    again = c.post("/api/v1/orders", json=body(description="小区门口垃圾满了"), headers={**bearer(CITIZEN), **key})
    assert again.json()["id"] == mine.json()["id"] and again.headers.get("Idempotent-Replay") == "true"
    assert _count(c) == 2


def test_a_handler_replaying_another_departments_key_reads_nothing(c):
    order = c.post("/api/v1/orders", json=body(), headers=bearer(DESK)).json()  # → lvhua
    key = {"Idempotency-Key": "acc-7"}
    ok = c.post(f"/api/v1/orders/{order['id']}/accept", json={}, headers={**bearer(LVHUA), **key})
    assert ok.status_code == 200
    other = c.post(f"/api/v1/orders/{order['id']}/accept", json={}, headers={**bearer(SHUIWU), **key})
    assert other.status_code == 404, other.text  # the order stays hidden: no replay of lvhua's reply
    assert other.json()["status"] == 404 and "timeline" not in other.text and "李" not in other.text


def test_same_key_with_a_different_body_is_refused(c):
    key = {"Idempotency-Key": "k-2", **bearer(DESK)}
    first = c.post("/api/v1/orders", json=body(), headers=key)
    assert first.status_code == 201
    r = c.post("/api/v1/orders", json=body(description="另一件事：路灯不亮"), headers={**key, "Accept-Language": "en"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    assert "Idempotency-Key" in p["detail"] and "different" in p["detail"]
    assert _count(c) == 1
    same = c.post("/api/v1/orders", json=body(), headers=key)  # the original retry still replays
    assert same.status_code == 201 and same.json()["id"] == first.json()["id"]
    # The same key on another route is another request, not a conflict.
    moved = c.post(f"/api/v1/orders/{first.json()['id']}/accept", json={}, headers=key)
    assert moved.status_code == 200 and "Idempotent-Replay" not in moved.headers


def test_open311_keys_are_scoped_per_client(engine, c):
    with unit_of_work(engine) as s:
        _, app_a = identity.create_api_key(s, SYSTEM, kind="open311", name="app A")
        _, app_b = identity.create_api_key(s, SYSTEM, kind="open311", name="app B")
    lon, lat = cell_center(0, 0)
    form = {"service_code": "exposed_garbage", "lat": str(lat), "long": str(lon), "description": "路边有垃圾堆放"}
    key = {"Idempotency-Key": "retry-1"}
    a = c.post("/open311/v2/requests.json", data={**form, "api_key": app_a}, headers=key)
    b = c.post("/open311/v2/requests.json", data={**form, "api_key": app_b}, headers=key)
    assert a.status_code == b.status_code == 200
    assert a.json()[0]["service_request_id"] != b.json()[0]["service_request_id"]
    changed = c.post("/open311/v2/requests.json", data={**form, "api_key": app_a, "description": "井盖丢了"}, headers=key)
    assert changed.status_code == 400 and "Idempotency-Key" in changed.text  # Open311: its error list, 400
