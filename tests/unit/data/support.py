"""Shared fixtures and helpers of the data-foundation tests (unit and integration)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.config import settings
from twonets.core.db import session_factory

RECORDS = [
    {
        "key": "P1",
        "subject_id": "P1",
        "data": {
            "person_id": "P1",
            "name": "张三丰",
            "id_number": "310101199001011234",
            "phone": "13812345678",
            "address": "上海市黄浦区南京东路100号5室",
            "birth_date": "1990-01-01",
            "street": "nanjingdong",
            "household_type": "local",
        },
    },
    {
        "key": "P2",
        "subject_id": "P2",
        "data": {
            "person_id": "P2",
            "name": "李四",
            "id_number": "31010119850505432X",
            "phone": "13900001111",
            "address": "上海市黄浦区外滩街道中山东一路1号",
            "birth_date": "1985-05-05",
            "street": "waitan",
            "household_type": "resident",
        },
    },
]


def actor(role: str, department: str | None = None, id: str | None = None, **kw) -> Actor:
    return Actor(id=id or f"{role}-{department or 'none'}", roles=frozenset({role}), department=department, **kw)


GONGAN_OFFICER = actor("data_officer", "gongan")
MINZHENG_HANDLER = actor("department_handler", "minzheng")
MINZHENG_OFFICER = actor("data_officer", "minzheng")
SHICHANG_OFFICER = actor("data_officer", "shichang")
ADMIN = actor("administrator", None, id="admin-1")


@pytest.fixture
def data_env(tmp_path, monkeypatch):
    """A key directory of the test's own, cheap argon2, fresh settings."""
    from twonets.data import identity

    monkeypatch.setenv("TWONETS_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.delenv("TWONETS_JWT_SECRET", raising=False)
    settings.cache_clear()
    monkeypatch.setattr(identity, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(identity, "_DUMMY_HASH", None)
    yield tmp_path / "keys"
    settings.cache_clear()


def seed(engine, *, records=True) -> None:
    """The catalogue from its definitions, and two people in the population registry."""
    from twonets.data import catalogue

    with session_factory(engine)() as s:
        catalogue.sync_definitions(s)
        if records:
            catalogue.upsert_records(s, GONGAN_OFFICER, "population", RECORDS)
        s.commit()


def grant(engine, requester=MINZHENG_HANDLER, dataset="population", fields=None, unmasked=False, days=30):
    """Request and approve a grant; returns the request."""
    from twonets.data import sharing

    with session_factory(engine)() as s:
        req = sharing.request_share(
            s, requester, dataset, purpose="subsidy eligibility check", valid_until=utcnow() + timedelta(days=days),
            fields=fields, unmasked=unmasked,
        )
        if req.status == "pending":
            owner = actor("data_officer", req.owner_department)
            req = sharing.decide(s, owner, req.id, approve=True, reason="lawful basis: subsidy rules")
        s.commit()
        return req


def bearer(a: Actor) -> dict[str, str]:
    from twonets.data import identity

    token, _ = identity.issue_access_token(a)
    return {"Authorization": f"Bearer {token}"}


def client_for(engine):
    from fastapi.testclient import TestClient

    from twonets.api.app import create_app
    from twonets.api.security import install_security

    app = create_app(engine)
    install_security(app)
    return TestClient(app)
