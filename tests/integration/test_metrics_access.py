"""/metrics is not anonymous (issue 11.7): a scraper with TWONETS_METRICS_TOKEN, or an
administrator's access token; nobody else, over HTTP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.unit.data.support import ADMIN, bearer, data_env  # noqa: F401
from twonets.api.app import create_app
from twonets.core.actor import Actor
from twonets.core.config import settings
from twonets.core.db import session_factory
from twonets.data import identity

pytestmark = pytest.mark.usefixtures("data_env")
SCRAPER = "scrape-3b7c1f2e9d0a4c8e"


@pytest.fixture
def c(engine, monkeypatch):
    monkeypatch.setenv("TWONETS_METRICS_TOKEN", SCRAPER)
    settings.cache_clear()
    with TestClient(create_app(engine)) as client:
        yield client


def test_metrics_with_the_scraper_token(c):
    c.get("/api/v1/departments")
    r = c.get("/metrics", headers={"Authorization": f"Bearer {SCRAPER}"})
    assert r.status_code == 200 and "twonets_http_requests_total" in r.text
    assert 'route="/api/v1/departments"' in r.text


def test_metrics_with_an_administrators_token(c):
    r = c.get("/metrics", headers=bearer(ADMIN))
    assert r.status_code == 200 and "twonets_http_requests_total" in r.text


def test_metrics_refuse_everyone_else(engine, c):
    r = c.get("/metrics")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert "twonets_http" not in r.text
    assert c.get("/metrics", headers={"Authorization": f"Bearer {SCRAPER}x"}).status_code == 401
    assert c.get("/metrics", headers={"Authorization": f"Basic {SCRAPER}"}).status_code == 401
    desk = Actor(id="desk-1", roles=frozenset({"dispatcher"}), department="dispatch")
    assert c.get("/metrics", headers=bearer(desk)).status_code == 403
    with session_factory(engine)() as s:
        _, device = identity.create_api_key(s, ADMIN, kind="device", name="gw")
        s.commit()
    assert c.get("/metrics", headers={"X-API-Key": device}).status_code == 403


def test_without_a_scraper_token_only_administrators(engine, monkeypatch):
    monkeypatch.delenv("TWONETS_METRICS_TOKEN", raising=False)
    settings.cache_clear()
    with TestClient(create_app(engine)) as c:
        assert c.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401
        assert c.get("/metrics", headers=bearer(ADMIN)).status_code == 200
