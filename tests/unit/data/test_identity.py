from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select

from tests.unit.data.support import ADMIN, actor
from twonets.core.calendar import utcnow
from twonets.core.config import settings
from twonets.core.db import session_factory
from twonets.core.errors import Conflict, Forbidden, InvalidInput, Unauthorized
from twonets.data import audit, identity
from twonets.data.tables import data_api_key, data_user

PW = "correct horse battery"


def _user(engine, username="li.handler", roles=("department_handler",), department="minzheng", **kw):
    with session_factory(engine)() as s:
        u = identity.create_user(s, ADMIN, username=username, password=PW, roles=list(roles), department=department, **kw)
        s.commit()
        return u


def test_passwords_are_argon2_hashed(engine):
    u = _user(engine)
    with session_factory(engine)() as s:
        stored = s.execute(select(data_user.c.password_hash).where(data_user.c.public_id == u.id)).scalar_one()
    assert stored.startswith("$argon2id$") and PW not in stored
    assert u.id.startswith("USR-")


def test_user_rules(engine):
    with session_factory(engine)() as s:
        with pytest.raises(Forbidden):
            identity.create_user(s, actor("data_officer", "gongan"), username="x.y", password=PW, roles=["citizen"])
        with pytest.raises(InvalidInput):
            identity.create_user(s, ADMIN, username="x.y", password=PW, roles=["wizard"])
        with pytest.raises(InvalidInput):
            identity.create_user(s, ADMIN, username="x.y", password=PW, roles=["dispatcher"])  # staff need a department
        with pytest.raises(InvalidInput):
            identity.create_user(s, ADMIN, username="x.y", password="short", roles=["citizen"])
        with pytest.raises(InvalidInput):
            identity.create_user(s, ADMIN, username="a b", password=PW, roles=["citizen"])
        identity.create_user(s, ADMIN, username="x.y", password=PW, roles=["citizen"], subject_id="P1")
        with pytest.raises(Conflict):
            identity.create_user(s, ADMIN, username="x.y", password=PW, roles=["citizen"])


def test_login_issues_tokens_with_oidc_claims(engine):
    u = _user(engine, street="nanjingdong")
    with session_factory(engine)() as s:
        pair = identity.login(s, "li.handler", PW, ip="10.0.0.1")
        s.commit()
    key = identity.system_key()
    claims = jwt.decode(pair.access_token, key.public, algorithms=["EdDSA"], audience="twonets-api")
    assert claims["sub"] == u.id and claims["iss"] == "http://127.0.0.1:8000" and claims["roles"] == ["department_handler"]
    assert claims["department"] == "minzheng" and claims["street"] == "nanjingdong"
    assert claims["exp"] - claims["iat"] == 900 and claims["preferred_username"] == "li.handler"
    a = identity.decode_access_token(pair.access_token)
    assert (a.id, a.department, a.roles) == (u.id, "minzheng", frozenset({"department_handler"}))
    assert pair.refresh_token.startswith("rt_")


def test_wrong_password_and_unknown_user_are_unauthorized(engine):
    _user(engine)
    with session_factory(engine)() as s:
        with pytest.raises(Unauthorized):
            identity.login(s, "li.handler", "wrong password!")
        with pytest.raises(Unauthorized):
            identity.login(s, "nobody", PW)
        assert [e.action for e in audit.list_entries(s, kind="auth")] == ["login.fail", "login.fail"]


def test_login_throttling(engine):
    _user(engine)
    now = utcnow()
    with session_factory(engine)() as s:
        for _ in range(identity.PAIR_MAX_FAILURES):
            with pytest.raises(Unauthorized):
                identity.login(s, "li.handler", "guess guess guess", now=now)
        with pytest.raises(identity.Throttled) as err:
            identity.login(s, "li.handler", PW, now=now + timedelta(seconds=1))  # even the right password
        assert 0 < err.value.retry_after <= identity.LOCKOUT.total_seconds()
        assert err.value.status == 429
        pair = identity.login(s, "li.handler", PW, now=now + identity.LOCKOUT + timedelta(seconds=1))
        assert pair.access_token
        # success clears the count: a single failure afterwards does not lock
        with pytest.raises(Unauthorized):
            identity.login(s, "li.handler", "nope nope nope", now=now + identity.LOCKOUT + timedelta(seconds=2))
        identity.login(s, "li.handler", PW, now=now + identity.LOCKOUT + timedelta(seconds=3))


def test_refresh_rotates_and_reuse_revokes_the_family(engine):
    _user(engine)
    with session_factory(engine)() as s:
        first = identity.login(s, "li.handler", PW)
        second = identity.refresh(s, first.refresh_token)
        assert second.refresh_token != first.refresh_token
        with pytest.raises(Unauthorized, match="already used"):
            identity.refresh(s, first.refresh_token)  # replay of a spent token
        with pytest.raises(Unauthorized):
            identity.refresh(s, second.refresh_token)  # the whole family is gone
        with pytest.raises(Unauthorized):
            identity.refresh(s, "rt_made_up")
        third = identity.login(s, "li.handler", PW)
        identity.logout(s, third.refresh_token)
        with pytest.raises(Unauthorized):
            identity.refresh(s, third.refresh_token)


def test_disabled_users_cannot_sign_in_or_refresh(engine):
    u = _user(engine)
    with session_factory(engine)() as s:
        pair = identity.login(s, "li.handler", PW)
        identity.update_user(s, ADMIN, u.id, active=False)
        with pytest.raises(Unauthorized):
            identity.refresh(s, pair.refresh_token)
        with pytest.raises(Unauthorized):
            identity.login(s, "li.handler", PW)
        with pytest.raises(Conflict):
            identity.update_user(s, actor("administrator", id=u.id), u.id, active=False)


def test_tokens_are_checked():
    a = actor("dispatcher", "dispatch")
    good, _ = identity.issue_access_token(a)
    assert identity.decode_access_token(good) == a
    expired, _ = identity.issue_access_token(a, now=utcnow() - timedelta(hours=1))
    with pytest.raises(Unauthorized, match="expired"):
        identity.decode_access_token(expired)
    head, body, sig = good.split(".")
    forged_body = jwt.utils.base64url_encode(b'{"sub":"admin","roles":["administrator"]}').decode()
    with pytest.raises(Unauthorized):
        identity.decode_access_token(f"{head}.{forged_body}.{sig}")
    other_aud = jwt.encode({"sub": "x", "aud": "elsewhere", "iss": "http://127.0.0.1:8000", "exp": 9999999999, "iat": 1, "typ": "access"},
                           identity.system_key().private, algorithm="EdDSA")
    with pytest.raises(Unauthorized):
        identity.decode_access_token(other_aud)
    none_alg = jwt.encode({"sub": "x", "roles": ["administrator"]}, None, algorithm="none")
    with pytest.raises(Unauthorized):
        identity.decode_access_token(none_alg)


def test_hs256_with_a_configured_secret(monkeypatch):
    monkeypatch.setenv("TWONETS_JWT_SECRET", "s" * 40)
    settings.cache_clear()
    token, _ = identity.issue_access_token(actor("reviewer", "minzheng"))
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert identity.decode_access_token(token).roles == {"reviewer"}
    assert identity.jwks() == {"keys": []}


def test_api_keys_store_only_a_hash(engine):
    with session_factory(engine)() as s:
        key, raw = identity.create_api_key(s, ADMIN, kind="open311", name="city app")
        stored = s.execute(select(data_api_key.c.key_hash)).scalar_one()
        assert raw.startswith("tnk_") and raw not in stored and stored != raw
        who = identity.authenticate_api_key(s, raw)
        assert who.id == f"key:{key.id}" and who.roles == {"open311_client"}
        with pytest.raises(Forbidden):
            identity.authenticate_api_key(s, raw, kind="device")
        with pytest.raises(Unauthorized):
            identity.authenticate_api_key(s, raw[:-1] + ("A" if raw[-1] != "A" else "B"))
        with pytest.raises(Unauthorized):
            identity.authenticate_api_key(s, "garbage")
        identity.revoke_api_key(s, ADMIN, key.id)
        with pytest.raises(Unauthorized):
            identity.authenticate_api_key(s, raw)
        with pytest.raises(Forbidden):
            identity.create_api_key(s, actor("data_officer", "gongan"), kind="device", name="x")
