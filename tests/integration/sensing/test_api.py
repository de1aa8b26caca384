"""City sensing over HTTP: gateways post readings with device keys (JSON or NDJSON), staff read
things, history and alarms with bearer tokens, tags are pushed, and the SSE feed carries
alarms and order changes."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.sensing_support import seed
from tests.unit.data.support import data_env  # noqa: F401
from twonets.api.app import create_app
from twonets.core.actor import SYSTEM, Actor
from twonets.core.calendar import utcnow
from twonets.core.db import session_factory
from twonets.data import identity

pytestmark = pytest.mark.usefixtures("data_env")
DISPATCHER = Actor(id="desk-1", roles=frozenset({"dispatcher"}), department="dispatch")
HANDLER = Actor(id="h-1", roles=frozenset({"department_handler"}), department="lvhua")


def bearer(actor: Actor) -> dict[str, str]:
    return {"Authorization": f"Bearer {identity.issue_access_token(actor)[0]}"}


@pytest.fixture
def api(engine):
    with session_factory(engine)() as s:
        seed(s)
        _, raw = identity.create_api_key(s, SYSTEM, kind="device", name="gateway 1")
        _, o311 = identity.create_api_key(s, SYSTEM, kind="open311", name="app")
        s.commit()
    client = TestClient(create_app(engine))
    admin = bearer(Actor(id="admin", roles=frozenset({"administrator"})))
    r = client.post("/api/v1/things", headers=admin, json=[
        {"thing_id": "bin-1", "type": "waste_bin", "name": "Bin 1", "lon": 121.475, "lat": 31.225},
        {"thing_id": "nm-1", "type": "noise_meter", "name": "Site noise", "lon": 121.485, "lat": 31.235,
         "subjects": [{"kind": "place", "ref": "SITE-9"}]},
    ])
    assert r.status_code == 201, r.text
    return client, {"X-API-Key": raw}, {"X-API-Key": o311}


def test_readings_things_history_alarms(api):
    client, device, other_key = api
    now = utcnow().replace(microsecond=0)
    body = [{"thing_id": "bin-1", "ts": (now - timedelta(minutes=10 - i)).isoformat(), "values": {"fill_pct": 50 + 5 * i}}
            for i in range(10)] + [{"thing_id": "bin-1", "ts": now.isoformat(), "attribute": "fill_pct", "value": 101}]
    r = client.post("/api/v1/readings", json=body, headers=device)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["stored"], got["quarantined"], got["fired"]) == (10, 1, 1) and got["reasons"] == {"out_of_range": 1}
    nd = "\n".join(json.dumps({"thing_id": "bin-1", "ts": (now - timedelta(minutes=20 + i)).isoformat(),
                               "attribute": "fill_pct", "value": 10}) for i in range(3))
    r = client.post("/api/v1/readings", content=nd, headers={**device, "Content-Type": "application/x-ndjson"})
    assert r.json()["stored"] == 3
    r = client.post("/api/v1/readings", content=b"{oops", headers=device)
    assert r.status_code == 200 and r.json()["reasons"] == {"malformed_json": 1}

    assert client.post("/api/v1/readings", json=body).status_code == 401
    assert client.post("/api/v1/readings", json=body, headers=other_key).status_code == 403
    staff = bearer(DISPATCHER)
    assert client.get("/api/v1/things", headers=device).status_code in (401, 403)

    r = client.get("/api/v1/things?limit=1", headers=staff)
    page = r.json()
    assert r.status_code == 200 and len(page["items"]) == 1 and page["next"]
    r2 = client.get(f"/api/v1/things?limit=1&cursor={page['next']}", headers=staff).json()
    assert {page["items"][0]["id"], r2["items"][0]["id"]} == {"bin-1", "nm-1"}
    thing = client.get("/api/v1/things/bin-1", headers=staff).json()
    assert thing["latest"]["fill_pct"]["value"] == 95 and thing["grid_code"]
    assert client.get("/api/v1/things/ghost", headers=staff).status_code == 404

    frm = (now - timedelta(hours=1)).isoformat()
    r = client.get("/api/v1/things/bin-1/readings", params={"from": frm, "agg": "raw", "limit": 5}, headers=staff)
    assert r.status_code == 200 and len(r.json()["items"]) == 5 and r.json()["next"]
    r = client.get("/api/v1/things/bin-1/readings", params={"from": frm, "agg": "hour"}, headers=staff)
    assert sum(i["count"] for i in r.json()["items"]) == 13
    r = client.get("/api/v1/things/bin-1/readings", params={"from": "2026-11-28T00:00:00"}, headers=staff)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")

    alarms = client.get("/api/v1/alarms?status=active", headers=staff).json()["items"]
    assert [(a["detector"], a["thing_id"]) for a in alarms] == [("bin_overflowing", "bin-1")]
    order = client.get(f"/api/v1/orders/{alarms[0]['order_id']}", headers=staff).json()
    assert (order["source"], order["channel"], order["category"]) == ("auto", "sensor", "overflowing_bin")
    assert client.get("/api/v1/detectors", headers=staff).json()["items"][0]["name_en"]
    assert len(client.get("/api/v1/thing-types", headers=staff).json()["items"]) >= 12
    q = client.get("/api/v1/readings/quarantine", headers=staff).json()
    assert q["quarantined"] == 2 and q["reasons"] == {"out_of_range": 1, "malformed_json": 1}
    assert [i["reason"] for i in q["items"]] == ["malformed_json", "out_of_range"] and q["items"][1]["thing_id"] == "bin-1"
    q = client.get("/api/v1/readings/quarantine?reason=out_of_range", headers=staff).json()
    assert len(q["items"]) == 1 and "101" in q["items"][0]["detail"]


def test_tags_and_a_tagged_detector(api):
    client, device, _ = api
    staff = bearer(DISPATCHER)
    night = utcnow().replace(hour=15, minute=0, second=0, microsecond=0) - timedelta(days=1)  # 23:00 local
    reading = [{"thing_id": "nm-1", "ts": night.isoformat(), "attribute": "laeq_db", "value": 70}]
    assert client.post("/api/v1/readings", json=reading, headers=device).json()["fired"] == 0  # no tag yet
    r = client.post("/api/v1/tags", headers=bearer(Actor(id="zj", roles=frozenset({"department_handler"}), department="zhujian")),
                    json=[{"tag": "construction_site", "subject_kind": "place", "subject_ref": "SITE-9",
                           "valid_from": (night - timedelta(days=10)).isoformat()}])
    assert r.status_code == 200 and r.json() == {"created": 1, "updated": 0}
    reading[0]["ts"] = (night + timedelta(minutes=1)).isoformat()
    assert client.post("/api/v1/readings", json=reading, headers=device).json()["fired"] == 1
    assert client.get("/api/v1/tags?subject_ref=SITE-9", headers=staff).json()["items"][0]["tag"] == "construction_site"
    r = client.post("/api/v1/tags", headers=staff, json=[{"tag": "Bad Tag", "subject_kind": "place", "subject_ref": "x"}])
    assert r.status_code == 422
    r = client.post("/api/v1/tags", headers=bearer(HANDLER),
                    json=[{"tag": "school", "subject_kind": "place", "subject_ref": "x", "source_department": "jiaoyu"}])
    assert r.status_code == 403


def test_stream_carries_alarms_and_order_changes(api):
    client, device, _ = api
    now = utcnow().replace(microsecond=0)
    body = [{"thing_id": "bin-1", "ts": now.isoformat(), "attribute": "fill_pct", "value": 97}]

    def fire_later():
        time.sleep(0.5)
        client.post("/api/v1/readings", json=body, headers=device)

    threading.Thread(target=fire_later, daemon=True).start()
    seen = []
    with client.stream("GET", "/api/v1/stream?max_events=3&timeout_s=10", headers=bearer(DISPATCHER)) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("event: "):
                seen.append(line[7:])
    assert "alarm" in seen and "order" in seen
    r = client.get("/api/v1/stream?topics=nothing", headers=bearer(DISPATCHER))
    assert r.status_code == 422
