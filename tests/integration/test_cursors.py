"""Every paginated listing takes the opaque cursor of core/pages.py: garbage and huge integers
are a 422 problem naming the field `cursor`, never a 500 (issue 11: `audit?cursor=99999999999999999999999`
and `my-data/accesses` answered 500), and `next` leads through the whole listing."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from tests.sensing_support import CASES, register
from tests.sensing_support import seed as seed_sensing
from tests.unit.data.support import ADMIN, bearer, data_env, seed  # noqa: F401
from twonets.api.app import create_app
from twonets.api.security import install_security
from twonets.core.actor import Actor
from twonets.core.db import session_factory
from twonets.data import audit, identity

pytestmark = pytest.mark.usefixtures("data_env")
PW = "correct horse battery"
DISPATCHER = Actor(id="desk-1", roles=frozenset({"dispatcher"}), department="dispatch")
HUGE = "99999999999999999999999"


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


BAD = [HUGE, "-1", "0", "%%%", "garbage!", "x" * 300, _b64("o:" + HUGE), _b64("au:" + HUGE), _b64("m:" + HUGE),
       _b64("a:" + HUGE), _b64("t:" + HUGE), _b64("r:not a time"), _b64("o:-5"), _b64("o:1e3"), _b64("zz:1")]


@pytest.fixture
def client(engine):
    seed(engine)
    with session_factory(engine)() as s:
        seed_sensing(s)
        thing = register(s, CASES[0])["fire"]
        identity.create_user(s, ADMIN, username="citizen.zhang", password=PW, roles=["citizen"], subject_id="P1")
        for i in range(3):
            audit.append(s, "admin", ADMIN, "test.entry", f"subject-{i}", {"i": i})
        s.commit()
    c = _client(engine)
    c.thing = thing
    return c


def _citizen(c) -> dict[str, str]:
    r = c.post("/api/v1/auth/login", json={"username": "citizen.zhang", "password": PW})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _client(engine) -> TestClient:
    """The app as served, answering a 500 as a 500 (not raising it in the test) so it can be counted."""
    app = create_app(engine)
    install_security(app)
    return TestClient(app, raise_server_exceptions=False)


def test_bad_cursors_are_422_problems_on_every_listing(client):
    staff, adm, citizen = bearer(DISPATCHER), bearer(ADMIN), _citizen(client)
    listings = [("/api/v1/audit", adm), ("/api/v1/my-data/accesses", citizen), ("/api/v1/orders", staff),
                ("/api/v1/alarms", staff), ("/api/v1/things", staff), ("/api/v1/tags", staff),
                ("/api/v1/readings/quarantine", staff), (f"/api/v1/things/{client.thing}/readings", staff)]
    for path, headers in listings:
        for cursor in BAD:
            r = client.get(path, params={"cursor": cursor}, headers=headers)
            assert r.status_code == 422, (path, cursor, r.status_code, r.text[:300])
            assert r.headers["content-type"].startswith("application/problem+json")
            assert any(e["field"].endswith("cursor") for e in r.json().get("errors", [])), (path, cursor, r.text)


def test_the_audit_log_pages_through_its_next_cursor(client):
    adm = bearer(ADMIN)
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/audit", params={"limit": 1, **({"cursor": cursor} if cursor else {})}, headers=adm)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [e["seq"] for e in body["items"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) >= 3
