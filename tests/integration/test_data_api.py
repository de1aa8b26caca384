"""The data foundation through its HTTP API: login, catalogue, open data, sharing, access,
who-used-my-data, audit, security headers and throttling."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from fastapi import Depends, FastAPI, Response

from tests.unit.data.support import ADMIN, GONGAN_OFFICER, MINZHENG_HANDLER, bearer, client_for, data_env, seed  # noqa: F401
from twonets.core.calendar import utcnow
from twonets.core.db import session_factory
from twonets.data import identity

pytestmark = pytest.mark.usefixtures("data_env")
PW = "correct horse battery"


def _until(days=30) -> str:
    return (utcnow() + timedelta(days=days)).isoformat()


def _make_user(engine, username, roles, **kw):
    with session_factory(engine)() as s:
        u = identity.create_user(s, ADMIN, username=username, password=PW, roles=roles, **kw)
        s.commit()
        return u


def test_full_flow(engine):
    seed(engine)
    _make_user(engine, "citizen.zhang", ["citizen"], subject_id="P1")
    c = client_for(engine)

    # a handler of minzheng asks gongan for population data
    mz = bearer(MINZHENG_HANDLER)
    r = c.post("/api/v1/sharing/requests", headers={**mz, "Idempotency-Key": "k1"}, json={
        "dataset": "population", "fields": ["person_id", "name", "id_number"], "purpose": "低保资格核验 subsidy check",
        "valid_until": _until(),
    })
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "pending" and req["id"].startswith("SR-")
    first_body = r.request.content
    again = c.post("/api/v1/sharing/requests", headers={**mz, "Idempotency-Key": "k1", "content-type": "application/json"},
                   content=first_body)
    assert again.json()["id"] == req["id"] and again.headers.get("Idempotent-Replay") == "true"
    other = c.post("/api/v1/sharing/requests", headers={**mz, "Idempotency-Key": "k1"}, json={
        "dataset": "population", "purpose": "whatever", "valid_until": _until(),
    })
    assert other.status_code == 422  # the same key for another request (tests/integration/test_idempotency.py)

    # no grant yet: the read is refused
    body = {"dataset": "population", "purpose": "低保资格核验 subsidy check", "subject_ids": ["P1"], "matter": "MT-DB-01"}
    assert c.post("/api/v1/access/read", headers=mz, json=body).status_code == 403

    # the owner approves
    go = bearer(GONGAN_OFFICER)
    incoming = c.get("/api/v1/sharing/requests?direction=incoming&status=pending", headers=go).json()
    assert [x["id"] for x in incoming["items"]] == [req["id"]] and incoming["next"] is None
    r = c.post(f"/api/v1/sharing/requests/{req['id']}/approve", headers=go, json={"reason": "statutory basis"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    grant_id = r.json()["grant_id"]
    assert c.get(f"/api/v1/sharing/grants/{grant_id}", headers=mz).json()["active"] is True
    assert c.post(f"/api/v1/sharing/requests/{req['id']}/approve", headers=go, json={}).status_code == 409

    # the read is masked and minimised
    r = c.post("/api/v1/access/read", headers=mz, json=body)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items == [{"key": "P1", "subject_id": "P1", "data": {"person_id": "P1", "name": "张**", "id_number": "3101**********1234"}}]
    assert c.post("/api/v1/access/read", headers=mz, json={**body, "fields": ["phone"]}).status_code == 403
    assert c.post("/api/v1/access/read", headers=mz, json={**body, "unmasked": True}).status_code == 403

    # the citizen signs in and sees who used the data
    r = c.post("/api/v1/auth/login", json={"username": "citizen.zhang", "password": PW})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    citizen = {"Authorization": f"Bearer {r.json()['access_token']}"}
    mine = c.get("/api/v1/my-data/accesses", headers=citizen).json()
    assert [(a["department"], a["purpose"], a["matter"], a["dataset"]) for a in mine["items"]] == [
        ("minzheng", "低保资格核验 subsidy check", "MT-DB-01", "population")
    ]

    # the administrator verifies the audit chain
    adm = bearer(ADMIN)
    v = c.get("/api/v1/audit/verify", headers=adm).json()
    assert v["ok"] and v["entries"] >= 5
    log = c.get("/api/v1/audit?kind=access&limit=1", headers=adm).json()
    assert log["items"][0]["action"] == "read" and log["items"][0]["data"]["matter"] == "MT-DB-01"
    cp = c.post("/api/v1/audit/checkpoints", headers=adm)
    assert cp.status_code == 201 and cp.json()["seq"] >= 5


def test_login_refresh_me_and_logout(engine):
    _make_user(engine, "li.officer", ["data_officer"], department="gongan")
    c = client_for(engine)
    bad = c.post("/api/v1/auth/login", json={"username": "li.officer", "password": "nope nope nope"})
    assert bad.status_code == 401 and bad.headers["content-type"].startswith("application/problem+json")
    pair = c.post("/api/v1/auth/login", json={"username": "li.officer", "password": PW}).json()
    me = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"}).json()
    assert me["roles"] == ["data_officer"] and me["department"] == "gongan"
    new = c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert new.status_code == 200
    assert c.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    assert c.post("/api/v1/auth/refresh", json={"refresh_token": new.json()["refresh_token"]}).status_code == 401  # family revoked
    third = c.post("/api/v1/auth/login", json={"username": "li.officer", "password": PW}).json()
    assert c.post("/api/v1/auth/logout", json={"refresh_token": third["refresh_token"]}).status_code == 204
    assert c.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}).status_code == 401
    jwks = c.get("/api/v1/auth/jwks").json()
    assert jwks["keys"][0]["crv"] == "Ed25519"


def test_login_is_throttled_with_retry_after(engine):
    _make_user(engine, "target", ["citizen"])
    c = client_for(engine)
    for _ in range(identity.PAIR_MAX_FAILURES):
        assert c.post("/api/v1/auth/login", json={"username": "target", "password": "guess guess"}).status_code == 401
    r = c.post("/api/v1/auth/login", json={"username": "target", "password": PW})
    assert r.status_code == 429
    assert 0 < int(r.headers["Retry-After"]) <= 300
    assert r.json()["retry_after"] == int(r.headers["Retry-After"])


def test_missing_and_bad_tokens_are_401_problems(engine):
    c = client_for(engine)
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}, {"X-API-Key": "tnk_x_y"}):
        r = c.get("/api/v1/sharing/requests", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["content-type"].startswith("application/problem+json")


def test_security_headers(engine):
    c = client_for(engine)
    for path in ("/api/v1/catalogue", "/api/v1/nothing-here", "/docs"):
        r = c.get(path)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    # The docs page needs its inline script; nothing else may run one, and nothing comes from a CDN.
    assert "'unsafe-inline'" in c.get("/docs").headers["content-security-policy"]
    assert "'unsafe-inline'" not in c.get("/api/v1/catalogue").headers["content-security-policy"]
    assert "https:" not in c.get("/docs").headers["content-security-policy"]


def test_catalogue_search_dcat_and_csv(engine):
    seed(engine)
    c = client_for(engine)
    with session_factory(engine)() as s:
        from twonets.data import catalogue

        catalogue.upsert_records(s, GONGAN_OFFICER.__class__(id="so", roles=frozenset({"data_officer"}), department="shichang"),
                                 "legal_persons", [
            {"key": "C2", "data": {"credit_code": "B2", "company_name": "乙公司", "legal_representative": "王五",
                                   "contact_phone": "13700000000", "registered_address": "上海市黄浦区河南中路88号",
                                   "industry": "retail"}},
            {"key": "C1", "data": {"credit_code": "A1", "company_name": "甲, \"公司\"", "industry": "software"}},
        ])
        s.commit()
    anon = c.get("/api/v1/catalogue").json()
    assert {d["code"] for d in anon["items"]} == {"legal_persons", "spatial"}
    staff = c.get("/api/v1/catalogue?q=population", headers=bearer(MINZHENG_HANDLER)).json()
    assert [d["code"] for d in staff["items"]] == ["population"]
    pop = staff["items"][0]
    fields = {f["name"]: f["sensitivity"] for f in pop["fields"]}
    assert fields["id_number"] == "sensitive_personal" and fields["name"] == "personal" and pop["stale"] is False
    page = c.get("/api/v1/catalogue?limit=2", headers=bearer(MINZHENG_HANDLER)).json()
    assert len(page["items"]) == 2 and page["next"]
    page2 = c.get(f"/api/v1/catalogue?limit=2&cursor={page['next']}", headers=bearer(MINZHENG_HANDLER)).json()
    assert page2["items"][0]["code"] > page["items"][-1]["code"]
    assert c.get("/api/v1/catalogue/population").status_code == 404  # not open: hidden from the public
    assert c.get("/api/v1/catalogue?limit=0").status_code == 422

    doc = c.get("/api/v1/catalogue.jsonld")
    assert doc.headers["content-type"].startswith("application/ld+json")
    assert {d["dct:identifier"] for d in doc.json()["dcat:dataset"]} == {"legal_persons", "spatial"}

    r = c.get("/api/v1/catalogue/legal_persons/download.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["credit_code", "company_name", "registered_address", "industry", "established_on", "status"]
    assert rows[1] == ["A1", '甲, "公司"', "", "software", "", ""]
    assert rows[2] == ["B2", "乙公司", "上海市黄浦区", "retail", "", ""]
    assert "王五" not in r.text and "13700000000" not in r.text
    pq = c.get("/api/v1/catalogue/legal_persons/download.parquet")
    assert pq.status_code == 200 and pq.headers["content-type"] == "application/vnd.apache.parquet"
    import polars as pl

    frame = pl.read_parquet(io.BytesIO(pq.content))
    assert frame.columns == rows[0]
    assert [["" if v is None else v for v in r] for r in frame.rows()] == rows[1:]
    assert c.get("/api/v1/catalogue/population/download.parquet").status_code == 404
    assert c.get("/api/v1/catalogue/population/download.csv").status_code == 404
    assert c.get("/api/v1/catalogue/nope/download.csv").status_code == 404


def test_catalogue_writes_and_validation(engine):
    c = client_for(engine)
    go = bearer(GONGAN_OFFICER)
    spec = {"code": "parking", "name_zh": "停车", "name_en": "Parking", "owner_department": "gongan",
            "fields": [{"name": "lot", "sensitivity": "public"}, {"name": "plate", "sensitivity": "personal", "mask": "partial"}]}
    r = c.post("/api/v1/catalogue", headers=go, json=spec)
    assert r.status_code == 201 and r.json()["fields"][1]["mask"] == "partial"
    assert c.post("/api/v1/catalogue", headers=go, json=spec).status_code == 409
    bad = c.post("/api/v1/catalogue", headers=go, json={**spec, "code": "Bad Code!", "fields": []})
    assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} >= {"code", "fields"}
    r = c.patch("/api/v1/catalogue/parking", headers=go, json={"open_data": True})
    assert r.status_code == 200 and r.json()["open_data"] is True
    r = c.post("/api/v1/catalogue/parking/records", headers=go, json={"records": [{"key": "1", "data": {"lot": "A", "plate": "沪A12345"}}]})
    assert r.json() == {"written": 1}
    r = c.post("/api/v1/catalogue/parking/records", headers=go, json={"records": [{"key": "2", "data": {"colour": "red"}}]})
    assert r.status_code == 422
    assert c.get("/api/v1/catalogue/parking/download.csv").text.splitlines() == ["lot", "A"]


def test_users_and_api_keys_admin(engine):
    c = client_for(engine)
    adm = bearer(ADMIN)
    r = c.post("/api/v1/users", headers=adm, json={"username": "wang.dispatch", "password": PW, "roles": ["dispatcher"], "department": "dispatch"})
    assert r.status_code == 201 and "password" not in r.text and "password_hash" not in r.text
    uid = r.json()["id"]
    assert c.post("/api/v1/users", headers=adm, json={"username": "x", "roles": ["citizen"]}).status_code == 422
    assert c.patch(f"/api/v1/users/{uid}", headers=adm, json={"roles": ["dispatcher", "reviewer"]}).json()["roles"] == ["dispatcher", "reviewer"]
    assert [u["username"] for u in c.get("/api/v1/users?role=reviewer", headers=adm).json()["items"]] == ["wang.dispatch"]
    assert c.get("/api/v1/users/USR-20000101-000001", headers=adm).status_code == 404
    k = c.post("/api/v1/api-keys", headers=adm, json={"kind": "device", "name": "gateway-7", "department": "shuju"})
    assert k.status_code == 201
    raw = k.json()["key"]
    assert raw not in c.get("/api/v1/api-keys", headers=adm).text
    me = c.get("/api/v1/auth/me", headers={"X-API-Key": raw, "Accept-Language": "en"})  # a key is no person: only its own routes
    assert me.status_code == 403 and "device key only posts readings" in me.json()["detail"]
    assert c.post("/api/v1/readings", headers={"X-API-Key": raw}, json=[]).status_code == 200
    assert c.post(f"/api/v1/api-keys/{k.json()['id']}/revoke", headers=adm).status_code == 200
    assert c.get("/api/v1/auth/me", headers={"X-API-Key": raw}).status_code == 401


def test_bad_input_is_a_problem_never_a_500(engine):
    seed(engine)
    c = client_for(engine)
    mz = bearer(MINZHENG_HANDLER)
    cases = [
        ("POST", "/api/v1/sharing/requests", {"dataset": "population", "purpose": "check", "valid_until": "2030-01-01T00:00:00"}, 422),
        ("POST", "/api/v1/sharing/requests", {"dataset": "population", "purpose": "check things", "valid_until": "not a date"}, 422),
        ("POST", "/api/v1/sharing/requests", {"dataset": "nope", "purpose": "check things", "valid_until": _until()}, 404),
        ("POST", "/api/v1/sharing/requests", {"dataset": "applications", "purpose": "check things", "valid_until": _until()}, 409),
        ("POST", "/api/v1/sharing/requests", {"dataset": "population", "purpose": "check things", "valid_until": _until(), "x": 1}, 422),
        ("POST", "/api/v1/access/read", {"dataset": "population", "purpose": "check things"}, 422),
        ("POST", "/api/v1/access/read", {"dataset": "population", "purpose": "check things", "subject_ids": ["P1"] * 201}, 422),
        ("POST", "/api/v1/access/read", {"dataset": "population", "purpose": "check things", "filters": {"nope": "1"}}, 422),
        ("POST", "/api/v1/access/read", {"dataset": "population", "purpose": "check things", "filters": {"a": {"b": 1}}}, 422),
        ("POST", "/api/v1/sharing/requests/SR-20990101-000001/approve", {}, 404),
        ("POST", "/api/v1/sharing/requests/SR-20990101-000001/refuse", {}, 422),
        ("GET", "/api/v1/sharing/requests?status=bogus", None, 422),
        ("GET", "/api/v1/audit?cursor=-1", None, 403),
        ("POST", "/api/v1/auth/login", {"username": "", "password": ""}, 422),
        ("POST", "/api/v1/auth/refresh", {}, 422),
    ]
    for method, path, body, status in cases:
        r = c.request(method, path, headers=mz, json=body)
        assert r.status_code == status, (path, body, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = c.request("POST", "/api/v1/sharing/requests", headers={**mz, "content-type": "application/json"}, content=b"{not json")
    assert r.status_code == 422


def test_openapi_declares_the_security_schemes(engine):
    doc = client_for(engine).get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer" and schemes["APIKeyHeader"]["name"] == "X-API-Key"
    assert "/api/v1/access/read" in doc["paths"] and "/api/v1/catalogue.jsonld" in doc["paths"]


def test_csrf_double_submit_helper():
    from fastapi.testclient import TestClient

    from twonets.api import problems
    from twonets.api.security import CSRF_COOKIE, issue_csrf_token, verify_csrf

    app = FastAPI()
    problems.install(app)

    @app.get("/form")
    def form(response: Response):
        return {"token": issue_csrf_token(response, secure=False)}

    @app.post("/form", dependencies=[Depends(verify_csrf)])
    def submit():
        return {"ok": True}

    c = TestClient(app)
    token = c.get("/form").json()["token"]
    assert c.cookies.get(CSRF_COOKIE) == token
    assert c.post("/form", data={"csrf_token": token}).status_code == 200
    assert c.post("/form", headers={"X-CSRF-Token": token}).status_code == 200
    assert c.post("/form", data={"csrf_token": "forged"}).status_code == 403
    assert c.post("/form").status_code == 403
    c.cookies.clear()
    assert c.post("/form", headers={"X-CSRF-Token": token}).status_code == 403


def test_a_stale_dataset_is_flagged_until_its_owner_reports_an_update(engine):
    seed(engine)
    c = client_for(engine)
    guihua = bearer(GONGAN_OFFICER.__class__(id="gh", roles=frozenset({"data_officer"}), department="guihua"))
    stale = c.get("/api/v1/catalogue?stale=true&limit=200", headers=guihua).json()["items"]
    assert "spatial" in {d["code"] for d in stale}
    r = c.post("/api/v1/catalogue/spatial/updated", headers=guihua)
    assert r.status_code == 200 and r.json()["stale"] is False and r.json()["last_updated_at"]
    assert c.get("/api/v1/catalogue/spatial").json()["stale"] is False


def test_a_read_must_state_a_granted_purpose(engine):
    """Issue 12 item 5: a grant for one purpose does not serve a read for another; the refusal is audited."""
    seed(engine)
    c = client_for(engine)
    mz, go = bearer(MINZHENG_HANDLER), bearer(GONGAN_OFFICER)
    granted = "核验敬老卡持有人享受公园优惠（依据《上海市老年人权益保障条例》）"
    req = c.post("/api/v1/sharing/requests", headers=mz, json={
        "dataset": "population", "fields": ["person_id", "name"], "purpose": granted, "valid_until": _until()}).json()
    assert c.post(f"/api/v1/sharing/requests/{req['id']}/approve", headers=go, json={"reason": "ok"}).status_code == 200
    read = {"dataset": "population", "subject_ids": ["P1"]}
    r = c.post("/api/v1/access/read", headers=mz, json={**read, "purpose": "随便看看"})
    assert r.status_code == 403 and "随便看看" in r.json()["detail"] and "核验敬老卡" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "purpose"
    log = c.get("/api/v1/audit?kind=access&limit=1", headers=bearer(ADMIN)).json()["items"][0]
    assert log["action"] == "read.refused" and log["data"]["purpose"] == "随便看看"
    assert log["data"]["reason"] == "purpose not granted"
    # the granted purpose with the particulars of the case, spacing and punctuation aside
    ok = c.post("/api/v1/access/read", headers=mz, json={**read, "purpose": "核验敬老卡持有人享受公园优惠 (依据 《上海市老年人权益保障条例》 ): 东门入园"})
    assert ok.status_code == 200, ok.text
    # or the legal basis the grant names
    ok = c.post("/api/v1/access/read", headers=mz, json={**read, "purpose": "依据《上海市老年人权益保障条例》核对优待资格"})
    assert ok.status_code == 200, ok.text
    assert c.post("/api/v1/access/read", headers=mz, json={**read, "purpose": "核验低保资格"}).status_code == 403


def test_a_two_character_chinese_purpose_is_enough_to_ask_and_read(engine):
    """Issue 12 item 9: `核验` states a purpose for a share request and a read; punctuation does not."""
    seed(engine)
    c = client_for(engine)
    mz, go = bearer(MINZHENG_HANDLER), bearer(GONGAN_OFFICER)
    ask = {"dataset": "population", "fields": ["person_id"], "valid_until": _until()}
    r = c.post("/api/v1/sharing/requests", headers=mz, json={**ask, "purpose": "。。。。"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "purpose"
    r = c.post("/api/v1/sharing/requests", headers=mz, json={**ask, "purpose": "核验"})
    assert r.status_code == 201, r.text
    assert c.post(f"/api/v1/sharing/requests/{r.json()['id']}/approve", headers=go, json={"reason": "ok"}).status_code == 200
    r = c.post("/api/v1/access/read", headers=mz, json={"dataset": "population", "subject_ids": ["P1"], "purpose": "核验"})
    assert r.status_code == 200, r.text
