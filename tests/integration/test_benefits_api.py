"""Benefits without application through the HTTP API: a registry update pushed through the data
foundation's API grants at once; an offer is confirmed with one tap or declined; 4xx a person can
act on (404 for someone else's benefit, 409 naming the allowed actions, 403 for the wrong role)."""

from __future__ import annotations

import pytest

from tests.unit.data.support import client_for, data_env  # noqa: F401
from tests.unit.govservices.support import bearer, citizen, pid, seeded, staff

pytestmark = pytest.mark.usefixtures("data_env")


def test_policies_offers_confirm_decline_and_errors(engine):
    seeded(engine)
    c = client_for(engine)
    pols = c.get("/api/v1/benefit-policies").json()["items"]
    assert len(pols) == 24 and all(p["legal_basis"].startswith("《") for p in pols)
    assert c.get("/api/v1/benefit-policies/BEN-NOPE").status_code == 404
    officer = bearer(staff("reviewer", "minzheng"))
    r = c.post("/api/v1/benefit-policies/BEN-ELDERLY-CARD/candidates", headers=officer,
               json={"subject_ids": [pid("elderly_local"), pid("very_old"), pid("minor")]})
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out["offered"]) == 2 and [i["subject_id"] for i in out["ineligible"]] == [pid("minor")]
    assert c.post("/api/v1/benefit-policies/BEN-ELDERLY-CARD/candidates", headers=bearer(staff("reviewer", "gongan")),
                  json={"subject_ids": [pid("minor")]}).status_code == 403
    assert c.post("/api/v1/benefit-policies/BEN-ELDERLY-CARD/candidates", headers=officer, json={"subject_ids": []}).status_code == 422

    wang, zheng = bearer(citizen(engine, "elderly_local")), bearer(citizen(engine, "very_old"))
    mine = c.get("/api/v1/benefits/mine", headers=wang).json()["items"]
    assert [(b["policy"], b["state"], b["allowed"]) for b in mine] == [("BEN-ELDERLY-CARD", "offered", ["confirm", "decline", "stop"])]
    offer = mine[0]["id"]
    assert c.post(f"/api/v1/benefits/{offer}/confirm", headers=zheng).status_code == 404  # not hers: hidden
    r = c.post(f"/api/v1/benefits/{offer}/confirm", headers=wang)
    assert r.status_code == 200 and r.json()["state"] == "granted"
    again = c.post(f"/api/v1/benefits/{offer}/confirm", headers=wang)
    assert again.status_code == 409 and "decline" in again.json()["detail"]
    hers = c.get("/api/v1/benefits/mine", headers=zheng).json()["items"][0]["id"]
    r = c.post(f"/api/v1/benefits/{hers}/decline", headers=zheng, json={"reason": "不需要"})
    assert r.status_code == 200 and r.json()["state"] == "declined"
    assert [e["reason"] for e in r.json()["events"]][-1] == "不需要"
    listed = c.get("/api/v1/benefits", headers=officer, params={"policy": "BEN-ELDERLY-CARD"}).json()["items"]
    assert {b["state"] for b in listed} == {"granted", "declined"}
    assert c.get("/api/v1/benefits", headers=wang).status_code == 403
    assert c.post("/api/v1/benefits/sweep", headers=officer).status_code == 403


def test_a_registry_update_pushed_through_the_api_grants_at_once(engine):
    seeded(engine)
    c = client_for(engine)
    parent = pid("young_resident")
    weijian = bearer(staff("department_handler", "weijian"))
    r = c.post("/api/v1/catalogue/births/records", headers=weijian, json={"records": [{
        "key": f"C900901-{parent}", "subject_id": parent, "data": {"parent_id": parent, "child_id": "C900901"}}]})
    assert r.status_code in (200, 201), r.text
    li = bearer(citizen(engine, "young_resident"))
    mine = c.get("/api/v1/benefits/mine", headers=li).json()["items"]
    assert {b["policy"]: b["state"] for b in mine} == {
        "BEN-CHILDBIRTH": "granted", "BEN-NEWBORN-INSURANCE": "granted", "BEN-CHILDCARE": "granted"}
    mine_reads = c.get("/api/v1/my-data/accesses", headers=li)
    assert mine_reads.status_code == 200
    assert {"BEN-CHILDBIRTH", "BEN-NEWBORN-INSURANCE"} <= {i["matter"] for i in mine_reads.json()["items"]}


def test_a_bundle_submitted_and_tracked_through_the_api(engine):
    seeded(engine)
    c = client_for(engine)
    assert {b["code"] for b in c.get("/api/v1/bundles").json()["items"]} >= {"BUNDLE-HOME-PURCHASE", "BUNDLE-RETIREMENT"}
    zhao = bearer(citizen(engine, "new_parent"))
    form = c.get("/api/v1/bundles/BUNDLE-HOME-PURCHASE/form", headers=zhao, params={"consent": "true"}).json()
    assert next(f for f in form["fields"] if f["name"] == "phone")["from_government_data"] is True
    body = {"bundle": "BUNDLE-HOME-PURCHASE", "consent": True, "form": {
        "property_id": "沪2026黄浦0012345", "seller_id": "P000042", "price": 3000000, "loan_amount": 1500000, "fund_amount": 1000}}
    bad = c.post("/api/v1/bundle-cases", headers=zhao, json={**body, "form": {**body["form"], "price": "lots"}})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == "form.price" for e in bad.json()["errors"])
    r = c.post("/api/v1/bundle-cases", headers={**zhao, "Idempotency-Key": "home-1"}, json=body)
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["state"] == "completed" and len(case["result"]["licences"]) == 2
    again = c.post("/api/v1/bundle-cases", headers={**zhao, "Idempotency-Key": "home-1"}, json=body)
    assert again.json()["id"] == case["id"]
    assert c.get(f"/api/v1/bundle-cases/{case['id']}", headers=zhao).json()["state"] == "completed"
    assert c.get(f"/api/v1/bundle-cases/{case['id']}", headers=bearer(citizen(engine, "very_old"))).status_code == 404
    assert [x["id"] for x in c.get("/api/v1/bundle-cases", headers=zhao).json()["items"]] == [case["id"]]
    assert c.get("/api/v1/bundles/BUNDLE-NOPE").status_code == 404
