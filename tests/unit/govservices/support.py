"""Shared helpers of the services tests: a small seeded district, users and tokens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.data.support import data_env  # noqa: F401
from twonets.core.actor import SYSTEM, Actor
from twonets.core.db import session_factory
from twonets.data import identity
from twonets.demo.govservices import PERSONA_COMPANY, PERSONAS, seed_services

PERSONS, COMPANIES = 120, 12
COMPANY = PERSONA_COMPANY["credit_code"]


def pid(name: str) -> str:
    return PERSONAS[name]["person_id"]


def seeded(engine, at: datetime | None = None):
    seed_services(engine, 7, persons=PERSONS, companies=COMPANIES, at=at)
    return engine


def user(engine, username: str, roles: list[str], **kw) -> Actor:
    with session_factory(engine)() as s:
        u = identity.create_user(s, SYSTEM, username=username, password=None, roles=roles, **kw)
        s.commit()
    return u.actor()


def citizen(engine, persona: str) -> Actor:
    return user(engine, f"c.{persona}", ["citizen"], subject_id=pid(persona))


def company_agent(engine, credit_code: str = COMPANY) -> Actor:
    return user(engine, f"agent.{credit_code}", ["company_agent"], subject_id=credit_code)


def staff(role: str, department: str, id: str | None = None) -> Actor:
    return Actor(id=id or f"{role}.{department}", roles=frozenset({role}), department=department)


def bearer(actor: Actor) -> dict[str, str]:
    token, _ = identity.issue_access_token(actor)
    return {"Authorization": f"Bearer {token}"}


def local(y, m, d, hh=10, mm=0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@pytest.fixture
def svc_env(data_env):
    yield data_env
