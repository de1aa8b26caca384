"""`/metrics` carries the domain's families (issue 15.8), read with the Prometheus parser after
real actions over the API: orders created and closed by source, overdue now, readings ingested
and quarantined with the ingestion lag, alarms fired by detector, applications decided by
outcome, licences issued and revoked, audit entries. Counters are per process and shared by the
tests, so every check is a difference between a scrape before and one after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.districts import cell_center
from tests.sensing_support import seed as seed_sensing
from tests.unit.data.support import data_env  # noqa: F401
from tests.unit.govservices.support import bearer, citizen, seeded
from twonets.api.app import create_app
from twonets.city import orders
from twonets.city.models import OrderCreate
from twonets.core.actor import SYSTEM, Actor
from twonets.core.calendar import utcnow
from twonets.core.db import session_factory
from twonets.data import identity

pytestmark = pytest.mark.usefixtures("data_env")
ADMIN = Actor(id="admin", roles=frozenset({"administrator"}))
DESK = Actor(id="desk-1", roles=frozenset({"dispatcher"}), department="dispatch")


def scrape(c: TestClient) -> dict[str, dict[tuple, float]]:
    """{sample name: {sorted label items: value}} of every sample on /metrics."""
    r = c.get("/metrics", headers=bearer(ADMIN))
    assert r.status_code == 200
    out: dict[str, dict[tuple, float]] = {}
    families = list(text_string_to_metric_families(r.text))
    for family in families:
        out.setdefault(family.name, {})  # the family is there even before it has a sample
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def value(m: dict, name: str, **labels) -> float:
    return m.get(name, {}).get(tuple(sorted(labels.items())), 0.0)


def moved(before: dict, after: dict, name: str, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def client(engine):
    seeded(engine)
    with session_factory(engine)() as s:
        seed_sensing(s)
        _, device = identity.create_api_key(s, SYSTEM, kind="device", name="gateway 1")
        s.commit()
    with TestClient(create_app(engine)) as c:
        r = c.post("/api/v1/things", headers=bearer(ADMIN), json=[
            {"thing_id": "bin-1", "type": "waste_bin", "name": "Bin 1", "lon": 121.475, "lat": 31.225}])
        assert r.status_code == 201, r.text
        yield c, {"X-API-Key": device}


def test_every_domain_family_is_there_before_anything_happens(client):
    c, _ = client
    m = scrape(c)
    for family in ("twonets_orders_created", "twonets_orders_closed", "twonets_orders_overdue",
                   "twonets_readings_ingested", "twonets_readings_quarantined", "twonets_reading_ingestion_lag_seconds",
                   "twonets_alarms_fired", "twonets_applications_decided", "twonets_licences_issued",
                   "twonets_licences_revoked", "twonets_audit_entries"):
        assert family in m, family
    assert value(m, "twonets_audit_entries") >= 0 and value(m, "twonets_orders_overdue", source="citizen") == 0


def test_the_families_move_with_real_actions(engine, client):
    c, device = client
    desk = bearer(DESK)
    before = scrape(c)

    # Two citizen orders created, one taken to closed; one auto order comes from the alarm below.
    lon, lat = cell_center(0, 0)
    new = {"source": "citizen", "channel": "web", "category": "exposed_garbage", "description": "路边有垃圾",
           "lon": lon, "lat": lat, "reporter": {"name": "李四", "phone": "13900001111"}}
    ids = [c.post("/api/v1/orders", headers=desk, json=new).json()["id"] for _ in range(2)]
    oid = ids[0]
    for action, body in [("accept", {}), ("resolve", {"outcome": "cleaned"}),
                         ("callback", {"actually_resolved": True, "satisfaction": "satisfied"}), ("close", {})]:
        r = c.post(f"/api/v1/orders/{oid}/{action}", headers=desk, json=body)
        assert r.status_code == 200, (action, r.text)
    assert r.json()["status"] == "closed"
    # An order filed five days ago is past its deadline now (whether or not the timer has run).
    with session_factory(engine)() as s:
        orders.create_order(s, DESK, OrderCreate(**new), at=utcnow() - timedelta(days=5))
        s.commit()

    # Ten readings stored, one out of range quarantined, the full bin fires its detector.
    now = utcnow().replace(microsecond=0)
    readings = [{"thing_id": "bin-1", "ts": (now - timedelta(minutes=10 - i)).isoformat(), "values": {"fill_pct": 50 + 5 * i}}
                for i in range(10)] + [{"thing_id": "bin-1", "ts": now.isoformat(), "attribute": "fill_pct", "value": 101}]
    got = c.post("/api/v1/readings", json=readings, headers=device).json()
    assert (got["stored"], got["quarantined"], got["fired"]) == (10, 1, 1)
    alarm = c.get("/api/v1/alarms", headers=desk).json()["items"][0]

    # An instant application: decided (approved) and its licence issued at once; then revoked.
    wang = bearer(citizen(engine, "elderly_local"))
    app = c.post("/api/v1/applications", headers=wang, json={"matter": "MINZHENG-001", "consent": True, "submit": True}).json()
    assert app["state"] == "licence_issued", app
    r = c.post(f"/api/v1/licences/{app['licence']}/revoke", headers=bearer(ADMIN), json={"reason": "测试撤销"})
    assert r.status_code == 200, r.text

    after = scrape(c)
    assert moved(before, after, "twonets_orders_created_total", source="citizen") == 3
    assert moved(before, after, "twonets_orders_created_total", source="auto") == 1
    assert moved(before, after, "twonets_orders_closed_total", source="citizen") == 1
    assert moved(before, after, "twonets_orders_overdue", source="citizen") == 1
    assert moved(before, after, "twonets_readings_ingested_total", source="http") == 10
    assert moved(before, after, "twonets_readings_quarantined_total", source="http") == 1
    assert moved(before, after, "twonets_reading_ingestion_lag_seconds_count") == 1
    # the newest stored reading was measured a minute before `now`: the lag is at least that
    assert moved(before, after, "twonets_reading_ingestion_lag_seconds_sum") >= 60
    assert moved(before, after, "twonets_reading_ingestion_lag_seconds_bucket", le="30.0") == 0
    assert moved(before, after, "twonets_alarms_fired_total", detector=alarm["detector"]) == 1
    assert moved(before, after, "twonets_applications_decided_total", outcome="approved") == 1
    assert moved(before, after, "twonets_licences_issued_total") == 1
    assert moved(before, after, "twonets_licences_revoked_total") == 1
    # every decision and the revocation are audited: the chain grew by at least those
    assert moved(before, after, "twonets_audit_entries") >= 2


def test_a_rolled_back_batch_counts_nothing(engine, client):
    """Counters follow committed work only: the event of a batch that is rolled back is dropped."""
    from twonets.city.sensing import pipeline

    c, _ = client
    before = scrape(c)
    now = utcnow().replace(microsecond=0)
    msg = pipeline.Message(f'{{"thing_id": "bin-1", "ts": "{now.isoformat()}", "values": {{"fill_pct": 20}}}}')
    with session_factory(engine)() as s:
        result = pipeline.ingest(s, [msg], source="file")
        assert result.stored == 1
        s.rollback()
    after = scrape(c)
    assert moved(before, after, "twonets_readings_ingested_total", source="file") == 0
    with session_factory(engine)() as s:
        pipeline.ingest(s, [msg], source="file")
        s.commit()
    assert moved(before, scrape(c), "twonets_readings_ingested_total", source="file") == 1


def test_the_sensing_worker_serves_its_own_counters():
    """The worker is another process: its counters are served by its own endpoint (`--metrics-port`)."""
    import socket
    import urllib.request

    from twonets import metrics

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server, thread = metrics.serve(port)
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        server.shutdown()
        thread.join(5)
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"twonets_readings_ingested", "twonets_readings_quarantined", "twonets_reading_ingestion_lag_seconds",
            "twonets_alarms_fired"} <= names
