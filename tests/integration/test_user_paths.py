"""Issue 12: small rules that tripped normal use of the HTTP API, and the browser pages that exist."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.districts import seed_tiny_district
from tests.integration.test_orders_api import DESK, bearer, body
from twonets.api.app import create_app
from twonets.core.db import session_factory


@pytest.fixture
def anonymous(sqlite_engine):
    s = session_factory(sqlite_engine)()
    seed_tiny_district(s)
    s.close()
    with TestClient(create_app(sqlite_engine), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api(anonymous):
    anonymous.headers.update(bearer(DESK))
    return anonymous


def test_an_action_with_nothing_to_say_needs_no_body(api):
    oid = api.post("/api/v1/orders", json=body()).json()["id"]
    r = api.post(f"/api/v1/orders/{oid}/accept")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"
    r = api.post(f"/api/v1/orders/{oid}/escalate")  # no body: one level up
    assert r.status_code == 200 and r.json()["escalation_level"] == 1, r.text
    # An action that needs a field still names it (a 422, not a body-missing error).
    r = api.post(f"/api/v1/orders/{oid}/return")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason", r.text


def test_malformed_json_names_the_character_not_a_field(api):
    r = api.post("/api/v1/orders", content=b'{"source": "citizen", oops}',
                 headers={"Content-Type": "application/json", "Accept-Language": "en"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    assert p["errors"][0]["field"] == "body"
    assert "malformed JSON at character 22" in p["errors"][0]["message"]
    assert "malformed JSON at character 22" in p["detail"]
    assert {"type", "title", "status", "detail"} <= set(p)


def test_escalating_below_the_current_level_reads_as_a_sentence(api):
    oid = api.post("/api/v1/orders", json=body()).json()["id"]
    r = api.post(f"/api/v1/orders/{oid}/escalate", json={"level": 3})
    assert r.status_code == 200, r.text
    r = api.post(f"/api/v1/orders/{oid}/escalate", json={"level": 1}, headers={"Accept-Language": "en"})
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert detail.startswith("The order is at escalation level 3; escalate to a higher level"), detail
    assert "is the highest" in detail and "an order that is" not in detail


def _asset_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href|spec-url)=["\']([^"\']+)["\']', html) + re.findall(r'url: ["\']([^"\']+)["\']', html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_docs_load_every_asset_from_the_server_itself(anonymous, page):
    r = anonymous.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "cdn.jsdelivr.net" not in html and "fonts.googleapis" not in html and "tiangolo.com" not in html
    scripts = re.findall(r'<script[^>]+src=["\']([^"\']+)["\']', html)
    styles = re.findall(r'<link[^>]+href=["\']([^"\']+)["\']', html)
    assert scripts, html
    urls = set(_asset_urls(html))
    assert all(u.startswith("/") for u in urls), urls  # nothing from another host
    for url in urls:
        got = anonymous.get(url)
        assert got.status_code == 200 and got.content, url
    for url in scripts:
        assert "javascript" in anonymous.get(url).headers["content-type"], url
    for url in styles:
        if url.endswith(".css"):
            assert anonymous.get(url).headers["content-type"].startswith("text/css"), url
    assert anonymous.get("/docs/assets/../../../etc/passwd").status_code == 404
    assert anonymous.get("/docs/assets/core.py").status_code == 404


def test_the_landing_page_is_styled_under_its_own_csp_and_its_links_open_without_a_token(anonymous):
    r = anonymous.get("/")
    assert r.status_code == 200 and "一网统管" in r.text and "Run the city" in r.text
    csp = r.headers["content-security-policy"]
    assert "style-src 'self'" in csp and "unsafe-inline" not in csp
    html = r.text
    # The CSP refuses inline styles, so the page must have none; its style comes from this server.
    assert "<style" not in html and " style=" not in html
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert sheets
    for url in sheets:
        got = anonymous.get(url)
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/css") and "body" in got.text
    links = re.findall(r'<a href="([^"]+)"', html)
    assert "/docs" in links and len(links) >= 5
    for url in links:
        got = anonymous.get(url.replace("&amp;", "&"))
        assert got.status_code == 200, (url, got.status_code, got.text[:200])
    assert "sign" in html.lower() and "/api/v1/auth/login" in html
