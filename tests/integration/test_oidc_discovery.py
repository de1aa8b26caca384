"""OIDC discovery read as a relying party reads it: PyJWT takes the JWKS named by
`/.well-known/openid-configuration` (fetched through the API) and verifies a login token whose
`iss` is the discovery issuer, the public base URL."""

from __future__ import annotations

from urllib.parse import urlsplit

import jwt
import pytest

from tests.unit.data.support import client_for, data_env  # noqa: F401
from twonets.core.actor import SYSTEM
from twonets.core.config import settings
from twonets.core.db import session_factory
from twonets.data import identity

pytestmark = pytest.mark.usefixtures("data_env")


def _get(client, url: str):
    """GET an absolute URL the server published, through the test client (path and query)."""
    parts = urlsplit(url)
    return client.get(parts.path + (f"?{parts.query}" if parts.query else ""))


@pytest.mark.parametrize("base", [None, "https://twonets.example.gov.cn"])
def test_login_token_verifies_from_the_discovery_jwks(sqlite_engine, monkeypatch, base):
    if base:
        monkeypatch.setenv("TWONETS_PUBLIC_BASE_URL", base)
        settings.cache_clear()
    expected = base or "http://127.0.0.1:8000"
    with session_factory(sqlite_engine)() as s:
        identity.create_user(s, SYSTEM, username="oidc.user", password="correct horse battery", roles=["administrator"])
        s.commit()
    c = client_for(sqlite_engine)
    conf = c.get("/.well-known/openid-configuration")
    assert conf.status_code == 200
    discovery = conf.json()
    assert discovery["issuer"] == expected and urlsplit(discovery["issuer"]).scheme in ("http", "https")
    assert discovery["jwks_uri"].startswith(expected + "/")
    token = c.post("/api/v1/auth/login", json={"username": "oidc.user", "password": "correct horse battery"}).json()["access_token"]

    jwks = jwt.PyJWKSet.from_dict(_get(c, discovery["jwks_uri"]).json())
    kid = jwt.get_unverified_header(token)["kid"]
    signing_key = next(k for k in jwks.keys if k.key_id == kid)
    claims = jwt.decode(token, signing_key.key, algorithms=discovery["id_token_signing_alg_values_supported"],
                        audience=settings().jwt_audience, issuer=discovery["issuer"])
    assert claims["iss"] == expected and claims["preferred_username"] == "oidc.user"
    # and the token still works against the API
    me = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["roles"] == ["administrator"]
