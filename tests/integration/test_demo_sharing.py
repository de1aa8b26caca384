"""Issue 12 item 4: data sharing can be completed with the demo accounts alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from twonets.api.app import create_app
from twonets.bootstrap import sync_definitions
from twonets.core.calendar import utcnow
from twonets.core.db import unit_of_work
from twonets.demo.accounts import DEMO_PASSWORD, DEMO_USERS, seed_demo_users


@pytest.fixture
def demo(sqlite_engine):
    with unit_of_work(sqlite_engine) as s:
        sync_definitions(s)
        seed_demo_users(s)
    with TestClient(create_app(sqlite_engine), raise_server_exceptions=False) as c:
        yield c


def login(c: TestClient, username: str) -> dict[str, str]:
    r = c.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_a_share_request_is_decided_by_the_owners_demo_officer(demo):
    c = demo
    admin = login(c, "admin")
    owners = {d["owner_department"] for d in c.get("/api/v1/catalogue", params={"limit": 200}, headers=admin).json()["items"]}
    officers = {u.get("department") for u in DEMO_USERS if "data_officer" in u["roles"]}
    assert owners and owners <= officers, owners - officers

    asker = login(c, "officer.minzheng")
    r = c.post("/api/v1/sharing/requests", headers=asker, json={
        "dataset": "population", "fields": ["person_id", "name"], "purpose": "低保资格核验",
        "valid_until": (utcnow() + timedelta(days=30)).isoformat()})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    # the administrator sees every request, but does not decide
    assert rid in [x["id"] for x in c.get("/api/v1/sharing/requests", headers=admin).json()["items"]]
    assert c.get(f"/api/v1/sharing/requests/{rid}", headers=admin).status_code == 200
    assert c.post(f"/api/v1/sharing/requests/{rid}/approve", headers=admin, json={}).status_code == 403
    gongan = login(c, "officer.gongan")
    assert [x["id"] for x in c.get("/api/v1/sharing/requests", params={"direction": "incoming"}, headers=gongan).json()["items"]] == [rid]
    r = c.post(f"/api/v1/sharing/requests/{rid}/approve", headers=gongan, json={"reason": "依法共享"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = c.post("/api/v1/access/read", headers=asker, json={"dataset": "population", "subject_ids": ["P900001"],
                                                           "purpose": "低保资格核验 P900001"})
    assert r.status_code == 200, r.text

    # the owner's data officer reads the audit entries of the use of its data, and no others
    log = c.get("/api/v1/audit", headers=gongan)
    assert log.status_code == 200, log.text
    items = log.json()["items"]
    assert items and {e["kind"] for e in items} == {"access"} and {e["subject"] for e in items} == {"population"}
    assert items[0]["action"] == "read" and items[0]["data"]["department"] == "minzheng"
    assert c.get("/api/v1/audit", params={"kind": "auth"}, headers=gongan).json()["items"] == []
    shuju = login(c, "officer")
    assert all(e["subject"] != "population" for e in c.get("/api/v1/audit", headers=shuju).json()["items"])
    assert c.get("/api/v1/audit/verify", headers=gongan).status_code == 403
    assert c.get("/api/v1/audit", headers=login(c, "desk")).status_code == 403
