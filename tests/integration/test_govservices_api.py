"""The services (一网通办) through the HTTP API, on SQLite and PostgreSQL: catalogue search,
online instant application with zero uploads, licence verify and QR, form errors as problem
details naming the field, the review flow, authorization, stats."""

from __future__ import annotations

import base64

import pytest

from tests.unit.data.support import client_for, data_env  # noqa: F401
from tests.unit.govservices.support import bearer, citizen, company_agent, seeded, staff

pytestmark = pytest.mark.usefixtures("data_env")


def test_citizen_online_instant_zero_uploads_and_verify(engine):
    seeded(engine)
    c = client_for(engine)
    wang = bearer(citizen(engine, "elderly_local"))

    r = c.get("/api/v1/matters", params={"processing": "instant", "department": "minzheng", "limit": 2})
    assert r.status_code == 200
    page = r.json()
    assert [m["code"] for m in page["items"]] == ["MINZHENG-001", "MINZHENG-002"] and page["next"] == "MINZHENG-002"
    assert c.get("/api/v1/matters", params={"q": "敬老"}).json()["items"][0]["code"] == "MINZHENG-001"
    detail = c.get("/api/v1/matters/MINZHENG-001").json()
    assert detail["form"]["type"] == "object" and detail["guide"]["promised_days"] == 3
    assert {m["source"] for m in detail["guide"]["materials"]} == {"dataset"}

    r = c.post("/api/v1/applications", headers={**wang, "Idempotency-Key": "a1"}, json={"matter": "MINZHENG-001", "consent": True, "submit": True})
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["id"].startswith("AP-") and app["state"] == "licence_issued" and app["zero_submission"] is True
    assert app["prefilled"]["materials"]["id_card"]["from_government_data"] is True
    again = c.post("/api/v1/applications", headers={**wang, "Idempotency-Key": "a1"}, json={"matter": "MINZHENG-001", "consent": True, "submit": True})
    assert again.json()["id"] == app["id"] and again.headers.get("Idempotent-Replay") == "true"

    lic_id = app["licence"]
    assert lic_id.startswith("LIC-")
    v = c.get(f"/api/v1/licences/{lic_id}/verify").json()
    assert v["valid"] is True and v["checks"] == {"signature": "ok", "issuer": "ok", "expiry": "ok", "revocation": "ok"}
    cred = c.get(f"/api/v1/licences/{lic_id}/credential.json", headers=wang).json()
    cred["credentialSubject"]["holder_name"] = "李鬼"
    tampered = c.post("/api/v1/licences/verify", json=cred).json()
    assert tampered["valid"] is False and tampered["checks"]["signature"] == "fail"
    png = c.get(f"/api/v1/licences/{lic_id}/qr.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    svg = c.get(f"/api/v1/licences/{lic_id}/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    assert c.get(f"/api/v1/licences/{lic_id}", headers=bearer(citizen(engine, "minor"))).status_code == 404

    mine = c.get("/api/v1/applications", headers=wang).json()
    assert [a["id"] for a in mine["items"]] == [app["id"]]
    events = c.get(f"/api/v1/applications/{app['id']}/events", headers=wang).json()["items"]
    assert [e["action"] for e in events] == ["create", "submit", "decide", "issue"]
    replay = c.get(f"/api/v1/applications/{app['id']}/replay", headers=wang).json()
    assert replay["state_matches"] is True and replay["decision"]["same"] is True

    r = c.post(f"/api/v1/applications/{app['id']}/rating", headers=wang, json={"level": 5})
    assert r.status_code == 201 and r.json()["label_en"] == "very good"
    s = c.get("/api/v1/services/stats", params={"by": "matter"}).json()
    assert s["instant_share"] == 1.0 and s["zero_submission_share"] == 1.0 and s["ratings"]["5"] == 1
    assert s["groups"][0]["matter"] == "MINZHENG-001"


def test_form_error_is_a_problem_naming_the_field(engine):
    seeded(engine)
    c = client_for(engine)
    zhao = bearer(citizen(engine, "new_parent"))
    r = c.post("/api/v1/applications", headers=zhao, json={
        "matter": "SHICHANG-001", "consent": True, "submit": True, "form": {"business_name": "赵", "scope": "weapons"},
    })
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"form.business_name", "form.scope", "form.address"}
    r = c.post("/api/v1/applications", headers=zhao, json={"matter": "SHICHANG-001"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "consent"
    assert c.post("/api/v1/applications", headers=zhao, json={"matter": "NOPE-001", "consent": True}).status_code == 404
    assert c.post("/api/v1/applications", json={"matter": "SHICHANG-001", "consent": True}).status_code == 401


def test_review_flow_over_http(engine):
    seeded(engine)
    c = client_for(engine)
    agent = bearer(company_agent(engine))
    rev = bearer(staff("reviewer", "lvhua"))
    other = bearer(staff("reviewer", "shichang"))
    app = c.post("/api/v1/applications", headers=agent, json={
        "matter": "LVHUA-001", "consent": True, "form": {"address": "南京东路100号", "width_m": 4, "height_m": 1.2},
    }).json()
    r = c.post(f"/api/v1/applications/{app['id']}/submit", headers=agent, json={})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "materials.design"
    r = c.post(f"/api/v1/applications/{app['id']}/materials/business_licence", headers=agent,
               json={"filename": "x.pdf", "content_base64": base64.b64encode(b"x").decode()})
    assert r.status_code == 409  # from government data: never uploaded
    r = c.post(f"/api/v1/applications/{app['id']}/materials/design", headers=agent,
               json={"filename": "design.png", "content_base64": base64.b64encode(b"\x89PNG...").decode()})
    assert r.status_code == 200 and r.json()["upload_count"] == 1
    r = c.post(f"/api/v1/applications/{app['id']}/submit", headers=agent, json={})
    assert r.status_code == 200 and r.json()["state"] == "in_review" and r.json()["due_at"]
    queue = c.get("/api/v1/services/queue", headers=rev).json()
    assert [i["id"] for i in queue["items"]] == [app["id"]]
    assert c.get("/api/v1/services/queue", headers=other).json()["items"] == []
    assert c.post(f"/api/v1/applications/{app['id']}/approve", headers=other, json={}).status_code == 404
    assert c.post(f"/api/v1/applications/{app['id']}/approve", headers=agent, json={}).status_code == 403
    r = c.post(f"/api/v1/applications/{app['id']}/request-supplement", headers=rev, json={"reason": "效果图需标注尺寸"})
    assert r.json()["state"] == "supplement_requested" and r.json()["clock_running"] is False
    assert c.post(f"/api/v1/applications/{app['id']}/approve", headers=rev, json={}).status_code == 409
    r = c.post(f"/api/v1/applications/{app['id']}/supplement", headers=agent, json={"form": {"width_m": 3.5}})
    assert r.json()["state"] == "in_review" and r.json()["clock_running"] is True
    r = c.post(f"/api/v1/applications/{app['id']}/approve", headers=rev, json={"reason": "符合规范"})
    body = r.json()
    assert body["state"] == "licence_issued" and body["on_time"] is True
    lic = body["licence"]
    assert c.post(f"/api/v1/licences/{lic}/revoke", headers=rev, json={"reason": "招牌已拆除"}).status_code == 200
    v = c.get(f"/api/v1/licences/{lic}/verify").json()
    assert v["valid"] is False and v["revoked_reason"] == "招牌已拆除"
    seals = c.get("/api/v1/services/seals", params={"department": "lvhua"}).json()["items"]
    assert len(seals) == 1 and seals[0]["retired_at"] is None
    admin = bearer(staff("administrator", "shuju"))
    assert c.post("/api/v1/services/seals/nowhere/rotate", headers=admin).status_code == 404
    assert c.get("/api/v1/services/stats", params={"since": "0001-01-01"}).status_code == 422


def test_application_allowed_actions_are_the_callers_own(engine):
    """Issue 12 item 3: no `issue` (no endpoint) on an approved application without a licence;
    the applicant is not offered the reviewer's actions, nor the reviewer the applicant's."""
    seeded(engine)
    c = client_for(engine)
    wang = bearer(citizen(engine, "new_mother"))
    r = c.post("/api/v1/applications", headers=wang, json={"matter": "YIBAO-001", "consent": True, "submit": True,
                                                        "form": {"bank_account": "6222020200112233445"}})
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["state"] == "approved" and app["licence"] is None
    assert app["allowed_actions"] == ["rate"]
    assert c.post(f"/api/v1/applications/{app['id']}/rating", headers=wang, json={"level": 5}).status_code == 201
    assert c.get(f"/api/v1/applications/{app['id']}", headers=wang).json()["allowed_actions"] == []

    agent = bearer(company_agent(engine))
    rev = bearer(staff("reviewer", "lvhua"))
    draft = c.post("/api/v1/applications", headers=agent, json={
        "matter": "LVHUA-001", "consent": True, "form": {"address": "南京东路100号", "width_m": 4, "height_m": 1.2},
    }).json()
    assert draft["allowed_actions"] == ["update_form", "upload", "submit", "withdraw"]
    c.post(f"/api/v1/applications/{draft['id']}/materials/design", headers=agent,
           json={"filename": "design.png", "content_base64": base64.b64encode(b"\x89PNG...").decode()})
    sent = c.post(f"/api/v1/applications/{draft['id']}/submit", headers=agent, json={}).json()
    assert sent["state"] == "in_review" and sent["allowed_actions"] == ["withdraw"]
    seen = c.get(f"/api/v1/applications/{draft['id']}", headers=rev).json()
    assert seen["allowed_actions"] == ["approve", "reject", "request_supplement"]
    assert [i["id"] for i in c.get("/api/v1/applications", headers=agent).json()["items"]] == [draft["id"]]
    assert c.get("/api/v1/applications", headers=agent).json()["items"][0]["allowed_actions"] == ["withdraw"]


def test_presented_credentials_of_any_shape_never_break_verification(engine):
    seeded(engine)
    c = client_for(engine)
    odd = [
        {"proof": {}},
        {"proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "proofValue": "z0OIl", "created": "2026-01-01"},
         "validFrom": "2026-01-01", "validUntil": 5, "issuer": ["x"], "id": 7},
        {"proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "verificationMethod": "did:x#lvhua-000",
                   "proofValue": "z" + "2" * 200, "created": "not a date"}, "validFrom": "2026-01-01T00:00:00", "validUntil": "2099-01-01"},
    ]
    for body in odd:
        r = c.post("/api/v1/licences/verify", json=body)
        assert r.status_code == 200 and r.json()["valid"] is False, r.text
    assert c.post("/api/v1/licences/verify", json={"id": "x"}).status_code == 422


def test_form_fields_are_bounded_and_unknown_ones_refused(engine):
    """Issue 12 item 10: no 1 MB echo in the error body; an unknown field is named, never issued on."""
    seeded(engine)
    c = client_for(engine)
    zhao = bearer(citizen(engine, "new_parent"))
    good = {"business_name": "赵记小吃", "scope": "catering", "address": "豫园路1号"}
    huge = "路" * 1_000_000
    r = c.post("/api/v1/applications", headers=zhao, json={
        "matter": "SHICHANG-001", "consent": True, "submit": True, "form": {**good, "address": huge}})
    assert r.status_code == 422, r.text[:300]
    assert len(r.content) < 5_000
    assert [e["field"] for e in r.json()["errors"]] == ["form.address"]
    r = c.post("/api/v1/applications", headers={**zhao, "Accept-Language": "en"}, json={
        "matter": "SHICHANG-001", "consent": True, "submit": True, "form": {**good, "foo": "bar"}})
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"field": "form.foo", "message": "unknown field"}]
    assert c.get("/api/v1/applications", headers=zhao).json()["items"] == []  # nothing started, no licence
    # a draft refuses them too, and a pattern error quotes at most ~200 characters of the input
    draft = c.post("/api/v1/applications", headers=zhao, json={"matter": "SHICHANG-001", "consent": True}).json()
    r = c.patch(f"/api/v1/applications/{draft['id']}", headers=zhao, json={"form": {"foo": 1}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "form.foo"
    r = c.patch(f"/api/v1/applications/{draft['id']}", headers=zhao, json={"form": {"scope": "x" * 100_000}})
    assert r.status_code == 422 and len(r.content) < 5_000
    r = c.post(f"/api/v1/applications/{draft['id']}/submit", headers=zhao, json={"form": {**good, "bar": 2}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "form.bar"
    ok = c.post(f"/api/v1/applications/{draft['id']}/submit", headers=zhao, json={"form": good})
    assert ok.status_code == 200 and ok.json()["state"] == "licence_issued", ok.text


def test_prefill_reads_only_the_fields_the_matter_uses(engine):
    """Issue 12 item 6: minimum necessary — no address, street or household type for the elderly card."""
    seeded(engine)
    c = client_for(engine)
    wang = bearer(citizen(engine, "elderly_local"))
    r = c.post("/api/v1/applications", headers=wang, json={"matter": "MINZHENG-001", "consent": True, "submit": True})
    assert r.status_code == 201 and r.json()["state"] == "licence_issued", r.text
    read = {a["dataset"]: set(a["fields"]) for a in c.get("/api/v1/my-data/accesses", headers=wang).json()["items"]}
    assert read["population"] == {"birth_date", "id_number", "name", "phone"}
    assert read["households"] == {"household_id", "hukou_street"}
    assert not {"address", "street", "household_type"} & set().union(*read.values())
