"""Racing the same transition through HTTP: exactly one winner, every loser a 409, never a 500.

Issue 11 found that on SQLite the loser of a racing transition got a 500 (31 of 1,000): the
write path now checks the order's version (`UPDATE … WHERE event_count = :expected`) on both
databases, and a loser is told the state it lost to.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from tests.districts import cell_center, seed_tiny_district
from twonets.api.app import create_app
from twonets.core.actor import Actor
from twonets.core.db import session_factory
from twonets.data.identity import issue_access_token

DESK = Actor(id="desk-1", roles=frozenset({"dispatcher"}))
THREADS = 8
ORDERS = 25


@pytest.fixture
def api(engine):
    s = session_factory(engine)()
    seed_tiny_district(s)
    s.close()
    with TestClient(create_app(engine), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {issue_access_token(DESK)[0]}"
        yield client


def _race(api: TestClient, path: str, body: dict) -> list:
    barrier = threading.Barrier(THREADS)
    replies: list = [None] * THREADS

    def go(i: int) -> None:
        barrier.wait()
        replies[i] = api.post(path, json=body)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


def test_racing_the_same_transition_has_one_winner_and_409s(api):
    lon, lat = cell_center(0, 0)
    lon, lat = lon - 0.004, lat - 0.004  # a 5 × 5 lattice inside the tiny district, 350 m apart (no duplicates)
    outcomes: Counter = Counter()
    for n in range(ORDERS):
        r = api.post("/api/v1/orders", json={"source": "citizen", "channel": "web", "category": "exposed_garbage",
                                             "description": f"路边有垃圾 {n}", "lon": lon + (n % 5) * 0.0035, "lat": lat + (n // 5) * 0.0035})
        assert r.status_code == 201, r.text
        oid = r.json()["id"]
        replies = _race(api, f"/api/v1/orders/{oid}/accept", {})
        codes = Counter(x.status_code for x in replies)
        outcomes.update(codes)
        assert codes[200] == 1 and codes[409] == THREADS - 1, (oid, codes, [x.text for x in replies if x.status_code >= 500][:1])
        for x in replies:
            if x.status_code == 409:
                assert x.headers["content-type"].startswith("application/problem+json")
                assert "accepted" in x.json()["detail"]  # the loser learns the state it lost to
        got = api.get(f"/api/v1/orders/{oid}").json()
        assert [e["action"] for e in got["timeline"]] == ["create", "dispatch", "accept"]
    assert outcomes == {200: ORDERS, 409: ORDERS * (THREADS - 1)}
