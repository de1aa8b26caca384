"""Sharing decisions under concurrency, through HTTP on SQLite and PostgreSQL.

One decision per request: parallel approvals of one request produce one grant, the losers get
409. Revoking ends every grant the request produced, and a read after revocation is refused.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from tests.unit.data.support import GONGAN_OFFICER, MINZHENG_HANDLER, bearer, client_for, data_env, seed  # noqa: F401
from twonets.core.calendar import utcnow
from twonets.core.db import session_factory
from twonets.data.tables import data_grant, data_share_request

pytestmark = pytest.mark.usefixtures("data_env")
PARALLEL = 20
REQUESTS = 5
READ = {"dataset": "population", "purpose": "低保资格核验 subsidy check", "subject_ids": ["P1"]}


def _request(c) -> str:
    r = c.post("/api/v1/sharing/requests", headers=bearer(MINZHENG_HANDLER), json={
        "dataset": "population", "fields": ["person_id", "name"], "purpose": "低保资格核验 subsidy check",
        "valid_until": (utcnow() + timedelta(days=30)).isoformat(),
    })
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending"
    return r.json()["id"]


def _parallel(engine, n: int, call) -> list[int]:
    """`call(client)` from n threads at once (one client each); the status codes."""
    clients = [client_for(engine) for _ in range(n)]
    start = threading.Barrier(n)
    codes: list[int] = []
    errors: list[BaseException] = []

    def run(c) -> None:
        try:
            start.wait()
            codes.append(call(c).status_code)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return sorted(codes)


def _count(engine, stmt) -> int:
    with session_factory(engine)() as s:
        return s.execute(stmt).scalar_one()


def test_parallel_approvals_make_one_grant_and_revocation_ends_it(engine):
    seed(engine)
    c = client_for(engine)
    owner = bearer(GONGAN_OFFICER)
    ids = [_request(c) for _ in range(REQUESTS)]
    for rid in ids:
        codes = _parallel(engine, PARALLEL, lambda cl: cl.post(
            f"/api/v1/sharing/requests/{rid}/approve", headers=owner, json={"reason": "statutory basis"}))
        assert codes == [200] + [409] * (PARALLEL - 1)
    assert _count(engine, select(func.count()).select_from(data_grant)) == REQUESTS
    assert c.post("/api/v1/access/read", headers=bearer(MINZHENG_HANDLER), json=READ).status_code == 200

    # the owner revokes each request (half by the request, half by its grant), racing too
    for i, rid in enumerate(ids):
        if i % 2:
            path = f"/api/v1/sharing/requests/{rid}/revoke"
        else:
            path = f"/api/v1/sharing/grants/{c.get(f'/api/v1/sharing/requests/{rid}', headers=owner).json()['grant_id']}/revoke"
        codes = _parallel(engine, PARALLEL // 2, lambda cl: cl.post(path, headers=owner, json={"reason": "purpose fulfilled"}))
        assert codes == [200] + [409] * (PARALLEL // 2 - 1)
        assert c.get(f"/api/v1/sharing/requests/{rid}", headers=owner).json()["status"] == "revoked"
    active = c.get("/api/v1/sharing/grants?active=true", headers=owner).json()
    assert active["items"] == []
    assert _count(engine, select(func.count()).select_from(data_grant).where(data_grant.c.revoked_at.is_(None))) == 0
    r = c.post("/api/v1/access/read", headers=bearer(MINZHENG_HANDLER), json=READ)
    assert r.status_code == 403, r.text


def test_revoking_a_request_ends_every_grant_it_produced(engine):
    """The schema itself refuses a second grant for a request; revoking the request ends its
    grant, and neither the request nor the grant can be revoked twice."""
    seed(engine)
    c = client_for(engine)
    owner = bearer(GONGAN_OFFICER)
    rid = _request(c)
    r = c.post(f"/api/v1/sharing/requests/{rid}/approve", headers=owner, json={"reason": "statutory basis"})
    assert r.status_code == 200
    # a second decision on the same request is refused by the schema itself
    with session_factory(engine)() as s:
        row = s.execute(select(data_grant)).one()
        values = {k: v for k, v in row._mapping.items() if k != "id"} | {"public_id": "GR-DUPLICATE"}
        from sqlalchemy.exc import IntegrityError

        with pytest.raises(IntegrityError):
            s.execute(insert(data_grant).values(**values))
        s.rollback()
    assert c.post(f"/api/v1/sharing/requests/{rid}/revoke", headers=owner, json={"reason": "purpose fulfilled"}).status_code == 200
    assert c.post(f"/api/v1/sharing/requests/{rid}/revoke", headers=owner, json={"reason": "again"}).status_code == 409
    assert c.post(f"/api/v1/sharing/grants/{r.json()['grant_id']}/revoke", headers=owner,
                  json={"reason": "again"}).status_code == 409
    assert c.post("/api/v1/access/read", headers=bearer(MINZHENG_HANDLER), json=READ).status_code == 403
    assert _count(engine, select(func.count()).select_from(data_share_request).where(
        data_share_request.c.status == "revoked")) == 1


def test_only_the_owner_revokes_a_request(engine):
    seed(engine)
    c = client_for(engine)
    rid = _request(c)
    assert c.post(f"/api/v1/sharing/requests/{rid}/approve", headers=bearer(GONGAN_OFFICER), json={}).status_code == 200
    r = c.post(f"/api/v1/sharing/requests/{rid}/revoke", headers=bearer(MINZHENG_HANDLER), json={"reason": "mine"})
    assert r.status_code == 403
    pending = _request(c)
    r = c.post(f"/api/v1/sharing/requests/{pending}/revoke", headers=bearer(GONGAN_OFFICER), json={"reason": "no"})
    assert r.status_code == 409  # a pending request is refused, not revoked


def test_migration_ends_the_duplicate_grants_races_left(tmp_path):
    """A database from before 0006 with three grants for one revoked request (one of them
    revoked): after the upgrade, one grant is left and it is revoked."""
    from sqlalchemy import text

    from twonets.core import db as core_db

    url = f"sqlite:///{tmp_path / 'old.db'}"
    core_db.upgrade(url, "0003_sensing")
    core_db.upgrade(url, "0003_services")
    eng = core_db.make_engine(url)
    at = "2026-11-01 00:00:00.000000"
    with eng.begin() as conn:
        conn.execute(text(
            "INSERT INTO data_dataset (id, code, name_zh, name_en, owner_department, description, kind, keywords, "
            "update_frequency, sharing_class, open_data, created_at, updated_at) VALUES "
            "(1, 'population', '人口', 'population', 'gongan', '', 'registry', '[]', 'daily', 'conditional', 0, :at, :at)"
        ), {"at": at})
        conn.execute(text(
            "INSERT INTO data_share_request (id, public_id, dataset_id, department, requested_by, fields, unmasked, purpose, "
            "valid_from, valid_until, status, created_at) VALUES "
            "(1, 'SR-1', 1, 'minzheng', 'x', '[]', 0, 'check', :at, '2027-01-01 00:00:00.000000', 'revoked', :at)"
        ), {"at": at})
        for i, revoked in ((1, None), (2, at), (3, None)):
            conn.execute(text(
                "INSERT INTO data_grant (id, public_id, request_id, dataset_id, department, fields, unmasked, purpose, "
                "valid_from, expires_at, revoked_at, created_at) VALUES "
                "(:i, :p, 1, 1, 'minzheng', '[]', 0, 'check', :at, '2027-01-01 00:00:00.000000', :r, :at)"
            ), {"i": i, "p": f"GR-{i}", "at": at, "r": revoked})
    eng.dispose()
    core_db.upgrade(url)
    eng = core_db.make_engine(url)
    with eng.connect() as conn:
        rows = conn.execute(select(data_grant.c.public_id, data_grant.c.revoked_at)).all()
    eng.dispose()
    assert [r.public_id for r in rows] == ["GR-1"] and rows[0].revoked_at is not None
