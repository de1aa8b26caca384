"""Web pages over HTTP (no browser): sign-in and sessions, CSRF, friendly error pages, and that
the API keeps its problem details beside them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.districts import seed_tiny_district
from twonets.api.app import create_app
from twonets.core.actor import SYSTEM
from twonets.core.db import session_factory
from twonets.data import identity

PASSWORD = "correct-horse-42"


@pytest.fixture
def web(engine):
    s = session_factory(engine)()
    seed_tiny_district(s)
    identity.create_user(s, SYSTEM, username="desk", password=PASSWORD, roles=["dispatcher"], department="dispatch")
    identity.create_user(s, SYSTEM, username="resident", password=PASSWORD, roles=["citizen"], subject_id="P1")
    s.commit()
    s.close()
    with TestClient(create_app(engine), raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def csrf(client: TestClient) -> str:
    page = client.get("/signin")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD, next: str = ""):
    return client.post("/signin", data={"csrf_token": csrf(client), "username": username, "password": password,
                                        "next": next})


def test_pages_send_anonymous_users_to_sign_in_and_back(web):
    r = web.get("/console/board?status=created")
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Fconsole%2Fboard%3Fstatus%3Dcreated"
    r = sign_in(web, "desk", next="/console/board?status=created")
    assert r.status_code == 303 and r.headers["location"] == "/console/board?status=created"
    cookies = [h for k, h in r.headers.multi_items() if k == "set-cookie"]
    session = next(c for c in cookies if c.startswith("twonets_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session.replace("Lax", "lax")
    assert web.get("/console/board").status_code == 200


def test_wrong_password_shows_the_form_again_without_a_session(web):
    r = sign_in(web, "desk", "wrong-password-1")
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    assert "twonets_session" not in web.cookies


def test_a_form_without_its_csrf_token_is_refused_with_a_page(web):
    r = web.post("/signin", data={"username": "desk", "password": PASSWORD})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "twonets_session" not in web.cookies


def test_next_never_leaves_the_site(web):
    r = sign_in(web, "desk", next="//evil.example/console")
    assert r.headers["location"] == "/console"


def test_roles_without_a_page_get_a_403_page_and_unknown_pages_a_404_page(web):
    sign_in(web, "resident")
    r = web.get("/console")
    assert r.status_code == 403 and "您无权打开此页面" in r.text
    r = web.get("/console/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")


def test_the_api_keeps_problem_details(web):
    sign_in(web, "desk")
    r = web.get("/api/v1/orders/WO-NOPE")  # the session cookie is not an API credential
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    r = web.get("/api/v1/no-such-route")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_an_expired_access_cookie_is_renewed_with_the_refresh_cookie_and_sign_out_ends_it(web):
    sign_in(web, "desk")
    web.cookies.set("twonets_session", "expired-or-forged")
    r = web.get("/console")
    assert r.status_code == 200 and "twonets_session=" in r.headers.get("set-cookie", "")
    refresh = web.cookies.get("twonets_refresh")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    assert web.post("/signout", data={"csrf_token": token}).status_code == 303
    web.cookies.set("twonets_session", "expired-or-forged")
    web.cookies.set("twonets_refresh", refresh)  # a stolen copy of the refresh cookie is spent
    assert web.get("/console").status_code == 303


def test_the_language_switch_is_kept_in_a_cookie(web):
    r = web.post("/lang", data={"csrf_token": csrf(web), "lang": "en", "next": "/signin"})
    assert r.status_code == 303 and r.headers["location"] == "/signin"
    page = web.get("/signin")
    assert '<html lang="en">' in page.text and "Sign in" in page.text
    web.post("/lang", data={"csrf_token": csrf(web), "lang": "xx", "next": "/signin"})
    assert '<html lang="zh-CN">' in web.get("/signin").text


def test_a_copied_access_cookie_stops_working_at_sign_out(web):
    """The page session checks the token's session like the API: signing out ends a copy at once."""
    sign_in(web, "desk")
    access = web.cookies.get("twonets_session")
    page = web.get("/console")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert web.post("/signout", data={"csrf_token": token}).status_code == 303
    web.cookies.set("twonets_session", access)  # someone kept a copy of the cookie
    assert web.get("/console").status_code == 303
