"""An access token lives no longer than its session, over HTTP (issues 11.5 and 12.7).

Logout, a revoked refresh family (a spent refresh token reused) and deactivating the account
each end the access tokens already handed out, at once: the next request is 401.
"""

from __future__ import annotations

import pytest

from tests.unit.data.support import ADMIN, bearer, client_for, data_env  # noqa: F401
from twonets.core.db import session_factory
from twonets.data import identity

pytestmark = pytest.mark.usefixtures("data_env")
PW = "correct horse battery staple"


def _user(engine, username="desk", roles=("dispatcher",), department="dispatch"):
    with session_factory(engine)() as s:
        u = identity.create_user(s, ADMIN, username=username, password=PW, roles=list(roles), department=department)
        s.commit()
    return u


def _login(c, username="desk") -> tuple[dict[str, str], str]:
    r = c.post("/api/v1/auth/login", json={"username": username, "password": PW})
    assert r.status_code == 200, r.text
    pair = r.json()
    return {"Authorization": f"Bearer {pair['access_token']}"}, pair["refresh_token"]


def test_logout_ends_the_access_token_at_once(engine):
    _user(engine)
    c = client_for(engine)
    me, refresh = _login(c)
    other, _ = _login(c)  # a second session of the same account (another device)
    assert c.get("/api/v1/auth/me", headers=me).status_code == 200
    assert c.post("/api/v1/auth/logout", json={"refresh_token": refresh}).status_code == 204
    r = c.get("/api/v1/auth/me", headers=me)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert c.get("/api/v1/orders", headers=me).status_code == 401
    assert c.get("/api/v1/auth/me", headers=other).status_code == 200  # only that session ended


def test_logout_with_the_access_token_alone(engine):
    _user(engine)
    c = client_for(engine)
    me, refresh = _login(c)
    assert c.post("/api/v1/auth/logout", headers=me).status_code == 204
    assert c.get("/api/v1/auth/me", headers=me).status_code == 401
    assert c.post("/api/v1/auth/refresh", json={"refresh_token": refresh}).status_code == 401
    assert c.post("/api/v1/auth/logout").status_code == 401  # nothing to sign out


def test_a_revoked_refresh_family_ends_its_access_tokens(engine):
    _user(engine)
    c = client_for(engine)
    me, refresh = _login(c)
    rotated = c.post("/api/v1/auth/refresh", json={"refresh_token": refresh}).json()
    newer = {"Authorization": f"Bearer {rotated['access_token']}"}
    assert c.get("/api/v1/auth/me", headers=me).status_code == 200
    assert c.get("/api/v1/auth/me", headers=newer).status_code == 200
    # The spent token comes back (a thief or a confused client): the whole family is revoked.
    assert c.post("/api/v1/auth/refresh", json={"refresh_token": refresh}).status_code == 401
    assert c.get("/api/v1/auth/me", headers=me).status_code == 401
    assert c.get("/api/v1/auth/me", headers=newer).status_code == 401


def test_deactivating_or_changing_an_account_ends_its_access_tokens(engine):
    desk = _user(engine)
    _user(engine, "lvhua", ("department_handler",), "lvhua")
    c = client_for(engine)
    admin = bearer(ADMIN)
    me, _ = _login(c)
    handler, _ = _login(c, "lvhua")
    assert c.get("/api/v1/orders", headers=me).status_code == 200
    assert c.patch(f"/api/v1/users/{desk.id}", headers=admin, json={"active": False}).status_code == 200
    assert c.get("/api/v1/orders", headers=me).status_code == 401
    assert c.get("/api/v1/auth/me", headers=me).status_code == 401
    r = c.post("/api/v1/auth/login", json={"username": "desk", "password": PW})
    assert r.status_code == 401
    # A role change too: the token's roles are stale, so its session ends.
    lv = identity_user(engine, "lvhua")
    assert c.patch(f"/api/v1/users/{lv}", headers=admin, json={"roles": ["citizen"]}).status_code == 200
    assert c.get("/api/v1/auth/me", headers=handler).status_code == 401


def identity_user(engine, username: str) -> str:
    with session_factory(engine)() as s:
        return identity.user_by_username(s, username).id
