"""Racing the same action on an application through HTTP: one winner, the rest 409, never 500.

Applications use the same optimistic version check as work orders; before, the loser's event
row hit the unique (application, seq) key first: a 500 on both databases.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from tests.unit.data.support import data_env  # noqa: F401
from tests.unit.govservices.support import bearer, citizen, seeded
from twonets.api.app import create_app
from twonets.api.security import install_security

pytestmark = pytest.mark.usefixtures("data_env")
THREADS = 6
ROUNDS = 8


def _client(engine) -> TestClient:
    """The app as served, answering a 500 as a 500 (not raising it in the test) so it can be counted."""
    app = create_app(engine)
    install_security(app)
    return TestClient(app, raise_server_exceptions=False)


def test_racing_withdrawals_have_one_winner_and_409s(engine):
    seeded(engine)
    c = _client(engine)
    wang = bearer(citizen(engine, "elderly_local"))
    outcomes: Counter = Counter()
    for _ in range(ROUNDS):
        r = c.post("/api/v1/applications", headers=wang, json={"matter": "MINZHENG-001", "consent": True})
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        barrier = threading.Barrier(THREADS)
        replies: list = [None] * THREADS

        def go(i: int) -> None:
            barrier.wait()
            replies[i] = c.post(f"/api/v1/applications/{app_id}/withdraw", headers=wang, json={"reason": "不办了"})

        threads = [threading.Thread(target=go, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = Counter(x.status_code for x in replies)
        outcomes.update(codes)
        assert codes[200] == 1 and codes[409] == THREADS - 1, (codes, [x.text for x in replies if x.status_code != 200][:2])
        events = c.get(f"/api/v1/applications/{app_id}/events", headers=wang).json()["items"]
        assert [e["action"] for e in events] == ["create", "withdraw"]
    assert outcomes == {200: ROUNDS, 409: ROUNDS * (THREADS - 1)}
