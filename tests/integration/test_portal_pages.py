"""The citizen portal over HTTP (no browser) and the service functions it adds: the matter
search from plain words, benefits confirmed with one tap, consent before prefill, the report
form's designed error state, and who may open the portal."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.unit.data.support import data_env  # noqa: F401
from tests.unit.govservices.support import pid, seeded
from twonets.api.app import create_app
from twonets.core.actor import SYSTEM, Actor
from twonets.core.db import session_factory
from twonets.core.errors import Conflict, Forbidden
from twonets.data import identity
from twonets.govservices import benefits
from twonets.web.pages import portal_search

pytestmark = pytest.mark.usefixtures("data_env")
PASSWORD = "correct-horse-42"


@pytest.fixture
def portal(engine):
    seeded(engine)
    s = session_factory(engine)()
    identity.create_user(s, SYSTEM, username="wang", password=PASSWORD, roles=["citizen"], subject_id=pid("elderly_local"))
    identity.create_user(s, SYSTEM, username="zheng", password=PASSWORD, roles=["citizen"], subject_id=pid("very_old"))
    identity.create_user(s, SYSTEM, username="desk", password=PASSWORD, roles=["dispatcher"], department="dispatch")
    s.commit()
    s.close()
    with TestClient(create_app(engine), raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def _csrf(client: TestClient, path: str = "/signin") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def _sign_in(client: TestClient, username: str):
    return client.post("/signin", data={"csrf_token": _csrf(client), "username": username, "password": PASSWORD, "next": ""})


@pytest.mark.parametrize("query, first", [
    ("敬老卡", "MINZHENG-001"), ("我想办个敬老卡", "MINZHENG-001"), ("elderly card", "MINZHENG-001"),
    ("怎么申请居住证", "GONGAN-001"), ("社保卡", "RENSHE-001"),
])
def test_the_search_understands_plain_words(engine, query, first):
    seeded(engine)
    with session_factory(engine)() as s:
        hits = portal_search.find(s, query)
    assert hits and hits[0].code == first, [h.code for h in hits[:5]]


def test_the_search_reaches_the_imported_list_and_says_nothing_for_nonsense(engine):
    seeded(engine)
    with session_factory(engine)() as s:
        hits = portal_search.find(s, "公共墓地")
        assert any(not h.full and "墓地" in h.name_zh for h in hits)
        assert portal_search.find(s, "zzqx") == [] and portal_search.find(s, "  我想 ") == []


def test_a_benefit_is_confirmed_with_one_tap_by_who_qualifies(engine):
    seeded(engine)
    with session_factory(engine)() as s:
        zheng = identity.create_user(s, SYSTEM, username="zheng.x", password=None, roles=["citizen"], subject_id=pid("very_old")).actor()
        wang = identity.create_user(s, SYSTEM, username="wang.x", password=None, roles=["citizen"], subject_id=pid("elderly_local")).actor()
        offered = {b["code"]: b for b in benefits.offers(s, zheng)}
        assert offered["MINZHENG-006"]["granted"] is None and offered["MINZHENG-006"]["conditions"]
        done = benefits.confirm(s, zheng, "MINZHENG-006")
        assert done["granted"].startswith("AP-") and done["reason_en"] is None
        assert {b["code"]: b for b in benefits.offers(s, zheng)}["MINZHENG-006"]["granted"]["application"] == done["granted"]
        with pytest.raises(Conflict):
            benefits.confirm(s, zheng, "MINZHENG-006")
        refused = benefits.confirm(s, wang, "MINZHENG-006")  # 68 years old: not yet
        assert refused["granted"] is None and refused["reason_zh"] == "未满80周岁"
        with pytest.raises(Forbidden):
            benefits.offers(s, SYSTEM)


def test_benefits_through_the_api_are_the_same_service_functions(portal, engine):
    with session_factory(engine)() as s:
        zheng = identity.user_by_username(s, "zheng").actor()
    auth = {"Authorization": "Bearer " + identity.issue_access_token(zheng)[0]}
    items = portal.get("/api/v1/benefits", headers=auth).json()["items"]
    assert [b["granted"] for b in items if b["code"] == "MINZHENG-006"] == [None]
    r = portal.post("/api/v1/matters/MINZHENG-006/confirm", headers=auth)
    assert r.status_code == 200 and r.json()["granted"].startswith("AP-")
    assert portal.post("/api/v1/matters/MINZHENG-006/confirm", headers=auth).status_code == 409
    _sign_in(portal, "zheng")
    assert "您已享受该政策" in portal.get("/portal/benefits").text
    desk = identity.issue_access_token(Actor(id="d", roles=frozenset({"dispatcher"})))[0]
    assert portal.get("/api/v1/benefits", headers={"Authorization": "Bearer " + desk}).status_code in (401, 403)


def test_the_portal_is_for_signed_in_citizens(portal):
    r = portal.get("/portal")
    assert r.status_code == 303 and r.headers["location"] == "/signin?next=%2Fportal"
    assert _sign_in(portal, "desk").status_code == 303
    assert portal.get("/portal").status_code == 403
    portal.cookies.clear()
    r = _sign_in(portal, "wang")
    assert r.headers["location"] == "/portal"  # a citizen lands in the portal
    home = portal.get("/portal")
    assert home.status_code == 200 and "您要办什么事？" in home.text
    assert portal.get("/portal/matters/NOPE-001").status_code == 404
    assert portal.get("/portal/services?dept=nope").status_code == 404


def test_consent_comes_before_any_prefill_and_prefilled_fields_say_where_from(portal):
    _sign_in(portal, "wang")
    token = _csrf(portal, "/portal/matters/MINZHENG-001/apply")
    r = portal.post("/portal/matters/MINZHENG-001/apply", data={"csrf_token": token})
    assert r.status_code == 422 and "请勾选同意" in r.text
    assert "AP-" not in portal.get("/portal/applications").text  # nothing was started or read
    r = portal.post("/portal/matters/MINZHENG-001/apply", data={"csrf_token": token, "consent": "yes"})
    assert r.status_code == 303
    page = portal.get(r.headers["location"])
    assert 'data-source="population.phone"' in page.text and "来自政府数据" in page.text
    assert "application AP-" in portal.get("/portal/me/data").text  # the reads it allowed, with their purpose
    app_path = r.headers["location"]
    r = portal.post(app_path + "/submit", data={"csrf_token": token, "phone": "12345"})
    assert r.status_code == 422 and "格式不对" in r.text and 'value="12345"' in r.text  # what was typed stays
    assert 'data-state="draft"' in portal.get(app_path).text
    # A matter handled only at a hall window is not started online.
    assert portal.get("/portal/matters/GONGAN-003/apply").status_code == 409


def test_the_report_form_comes_back_with_what_to_fix(portal):
    _sign_in(portal, "wang")
    token = _csrf(portal, "/portal/report")
    r = portal.post("/portal/report", data={"csrf_token": token, "description": "坏了"})
    assert r.status_code == 422
    for words in ("请选择问题类型", "请简单描述问题", "请在地图上选点"):
        assert words in r.text
    r = portal.post("/portal/report", data={"csrf_token": token, "category": "exposed_garbage", "description": "路边有一堆垃圾没人清理",
                                            "address": "某路1号"}, files={"photo": ("x.png", b"not an image", "image/png")})
    assert r.status_code == 422 and "照片须为" in r.text
    r = portal.post("/portal/report", data={"category": "exposed_garbage", "description": "路边有一堆垃圾", "address": "某路1号"})
    assert r.status_code == 403  # no CSRF token
    r = portal.post("/portal/reports/WO-20260101-000001/callback", data={"csrf_token": token, "actually_resolved": "yes"})
    assert r.status_code == 422


def test_a_material_only_the_applicant_has_is_uploaded_from_the_phone(portal):
    _sign_in(portal, "wang")
    token = _csrf(portal, "/portal/matters/SHUIWUJU-001/apply")
    r = portal.post("/portal/matters/SHUIWUJU-001/apply", data={"csrf_token": token, "consent": "yes"})
    app_path = r.headers["location"]
    assert 'action="' + app_path + '/materials/contract"' in portal.get(app_path).text
    r = portal.post(app_path + "/materials/contract", data={"csrf_token": token},
                    files={"file": ("contract.pdf", b"%PDF-1.4 a scanned contract", "application/pdf")})
    assert r.status_code == 303
    page = portal.get(app_path)
    assert "已上传" in page.text and 'action="' + app_path + '/materials/contract"' not in page.text
    r = portal.post(app_path + "/materials/contract", data={"csrf_token": token})
    assert r.status_code == 422  # no file chosen: a page that says so


def test_a_poor_rating_without_a_word_is_refused_in_the_citizens_language(portal):
    _sign_in(portal, "wang")
    token = _csrf(portal, "/portal/matters/MINZHENG-001/apply")
    app_path = portal.post("/portal/matters/MINZHENG-001/apply", data={"csrf_token": token, "consent": "yes"}).headers["location"]
    assert portal.post(app_path + "/submit", data={"csrf_token": token}).status_code == 303
    assert 'id="rate-form"' in portal.get(app_path).text
    r = portal.post(app_path + "/rate", data={"csrf_token": token, "level": "1"})
    assert r.status_code == 422 and "差评会转交部门整改" in r.text
    r = portal.post(app_path + "/rate", data={"csrf_token": token, "level": "1", "comment": "等了很久才有人理"})
    assert r.status_code == 303 and 'id="rate-form"' not in portal.get(app_path).text
