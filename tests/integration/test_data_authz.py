"""Authorization matrix of the data-foundation routes: every route × every role (and a data
officer of an out-of-scope department) gets exactly the expected status. A deny is 401 (no
identity), 403, or 404 where existence must not leak; never a 500."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from tests.unit.data.support import ADMIN, actor, bearer, client_for, data_env, seed  # noqa: F401
from twonets.core.calendar import utcnow
from twonets.core.db import session_factory
from twonets.data import identity, sharing

pytestmark = pytest.mark.usefixtures("data_env")

# Who calls. Owner of `population` is gongan; the requester department is minzheng.
ROLES: dict[str, Any] = {
    "anonymous": None,
    "citizen": None,  # set from the user created in setup
    "company_agent": actor("company_agent", None, id="agent-1"),
    "grid_inspector": actor("grid_inspector", "jiedao", grid="G-001"),
    "dispatcher": actor("dispatcher", "dispatch"),
    "handler": actor("department_handler", "minzheng"),
    "reviewer": actor("reviewer", "minzheng"),
    "owner_officer": actor("data_officer", "gongan"),
    "other_officer": actor("data_officer", "shichang"),  # out-of-scope department
    "admin": ADMIN,
}
EVERYONE = list(ROLES)


def expect(default: int, **per_role: int) -> dict[str, int]:
    """Status per role: `default` for all signed-in roles unless named; anonymous gets 401
    unless named."""
    out = {r: default for r in EVERYONE}
    out["anonymous"] = 401
    out.update(per_role)
    return out


def _setup(engine) -> dict[str, str]:
    seed(engine)
    until = utcnow() + timedelta(days=30)
    mz = ROLES["handler"]
    go = ROLES["owner_officer"]
    with session_factory(engine)() as s:
        ids = {
            "approve": sharing.request_share(s, mz, "population", purpose="check eligibility", valid_until=until).id,
            "refuse": sharing.request_share(s, mz, "population", purpose="check eligibility", valid_until=until).id,
            "withdraw": sharing.request_share(s, mz, "population", purpose="check eligibility", valid_until=until).id,
        }
        g = sharing.request_share(s, mz, "population", purpose="check eligibility", valid_until=until, fields=["person_id", "name"])
        ids["grant"] = sharing.decide(s, go, g.id, approve=True, reason="ok").grant_id
        g2 = sharing.request_share(s, mz, "population", purpose="check eligibility", valid_until=until, fields=["person_id"])
        ids["grant2"] = sharing.decide(s, go, g2.id, approve=True, reason="ok").grant_id
        citizen = identity.create_user(s, ADMIN, username="citizen.p1", password="correct horse battery", roles=["citizen"], subject_id="P1")
        ids["citizen"] = citizen.id
        key, _raw = identity.create_api_key(s, ADMIN, kind="open311", name="app")
        ids["key"] = key.id
        s.commit()
    ROLES["citizen"] = citizen.actor()
    return ids


def routes(ids: dict[str, str]) -> list[tuple[str, str, Callable[[str], Any], dict[str, int]]]:
    """(method, path, body(role) or None, expected status per role)."""
    read = {"dataset": "population", "purpose": "check eligibility", "subject_ids": ["P1"]}
    staff = dict(grid_inspector=200, dispatcher=200, handler=200, reviewer=200, owner_officer=200, other_officer=200, admin=200)
    involved_or_404 = dict(citizen=404, company_agent=404, grid_inspector=404, dispatcher=404, other_officer=404)
    return [
        # catalogue and open data
        ("GET", "/api/v1/catalogue", None, expect(200, anonymous=200)),
        ("GET", "/api/v1/catalogue.jsonld", None, expect(200, anonymous=200)),
        ("GET", "/api/v1/catalogue/population", None, expect(200, anonymous=404, citizen=404, company_agent=404)),
        ("GET", "/api/v1/catalogue/legal_persons", None, expect(200, anonymous=200)),
        ("GET", "/api/v1/catalogue/legal_persons/download.csv", None, expect(200, anonymous=200)),
        ("GET", "/api/v1/catalogue/population/download.csv", None, expect(404, anonymous=404)),
        ("POST", "/api/v1/catalogue",
         lambda r: {"code": f"ds_{r}", "name_zh": "测", "name_en": "T", "owner_department": "gongan", "fields": [{"name": "a"}]},
         expect(403, owner_officer=201, admin=201)),
        ("PATCH", "/api/v1/catalogue/population", lambda r: {"description": f"by {r}"}, expect(403, owner_officer=200, admin=200)),
        ("POST", "/api/v1/catalogue/population/records", lambda r: {"records": [{"key": f"X-{r}", "data": {"name": "甲"}}]},
         expect(403, owner_officer=200)),
        ("POST", "/api/v1/catalogue/population/updated", None, expect(403, owner_officer=200)),
        # sharing
        ("POST", "/api/v1/sharing/requests",
         lambda r: {"dataset": "population", "purpose": "check eligibility", "valid_until": (utcnow() + timedelta(days=3)).isoformat()},
         expect(403, handler=201, other_officer=201, owner_officer=409)),
        ("GET", "/api/v1/sharing/requests", None, expect(403, **staff)),
        ("GET", f"/api/v1/sharing/requests/{ids['approve']}", None, expect(200, **involved_or_404)),
        ("POST", f"/api/v1/sharing/requests/{ids['approve']}/approve", lambda r: {"reason": "ok"},
         expect(403, owner_officer=200, **involved_or_404)),
        ("POST", f"/api/v1/sharing/requests/{ids['refuse']}/refuse", lambda r: {"reason": "not needed"},
         expect(403, owner_officer=200, **involved_or_404)),
        ("POST", f"/api/v1/sharing/requests/{ids['withdraw']}/withdraw", None, expect(403, handler=200, **involved_or_404)),
        ("GET", "/api/v1/sharing/grants", None, expect(403, **staff)),
        ("GET", f"/api/v1/sharing/grants/{ids['grant']}", None, expect(200, **involved_or_404)),
        ("POST", f"/api/v1/sharing/grants/{ids['grant2']}/revoke", lambda r: {"reason": "done"},
         expect(403, owner_officer=200, **involved_or_404)),
        # access and my data
        ("POST", "/api/v1/access/read", lambda r: read, expect(403, handler=200, reviewer=200, owner_officer=200)),
        ("GET", "/api/v1/my-data/accesses", None, expect(403, citizen=200)),
        # audit
        # data officers read the access entries of their department's datasets (item 4 of issue 12)
        ("GET", "/api/v1/audit", None, expect(403, admin=200, owner_officer=200, other_officer=200)),
        ("GET", "/api/v1/audit/verify", None, expect(403, admin=200)),
        ("POST", "/api/v1/audit/checkpoints", None, expect(403, admin=201)),
        # identity
        ("GET", "/api/v1/auth/me", None, expect(200)),
        ("GET", "/api/v1/auth/jwks", None, expect(200, anonymous=200)),
        ("POST", "/api/v1/users", lambda r: {"username": f"new.{r}", "password": "correct horse battery", "roles": ["citizen"]},
         expect(403, admin=201)),
        ("GET", "/api/v1/users", None, expect(403, admin=200)),
        ("GET", f"/api/v1/users/{ids['citizen']}", None, expect(403, admin=200, citizen=200)),
        ("PATCH", f"/api/v1/users/{ids['citizen']}", lambda r: {"street": "waitan"}, expect(403, admin=200)),
        ("POST", "/api/v1/api-keys", lambda r: {"kind": "device", "name": f"dev-{r}"}, expect(403, admin=201)),
        ("GET", "/api/v1/api-keys", None, expect(403, admin=200)),
        ("POST", f"/api/v1/api-keys/{ids['key']}/revoke", None, expect(403, admin=200)),
    ]


def test_authorization_matrix(engine):
    ids = _setup(engine)
    c = client_for(engine)
    headers = {name: (bearer(a) if a is not None else {}) for name, a in ROLES.items()}
    wrong: list[str] = []
    cells = 0
    for method, path, body, expected in routes(ids):
        assert set(expected) == set(EVERYONE), path
        for role in EVERYONE:
            kw: dict[str, Any] = {"headers": headers[role]}
            if body is not None:
                kw["json"] = body(role)
            r = c.request(method, path, **kw)
            cells += 1
            if r.status_code != expected[role]:
                wrong.append(f"{method} {path} as {role}: {r.status_code} (expected {expected[role]}) {r.text[:120]}")
            if r.status_code >= 400:
                assert r.headers["content-type"].startswith("application/problem+json"), (method, path, role)
    assert cells >= 300
    assert wrong == [], "\n".join(wrong)
