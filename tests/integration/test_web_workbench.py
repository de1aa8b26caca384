"""The workbench, review queue, data desk and hall window over HTTP (no browser): who may open
which page, CSRF on their forms, and that what a person gets wrong answers a page they can act
on (4xx), never a 500."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.unit.data.support import data_env  # noqa: F401
from tests.unit.govservices.support import seeded
from twonets.api.app import create_app
from twonets.core.actor import SYSTEM
from twonets.core.calendar import utcnow
from twonets.core.db import session_factory
from twonets.data import identity
from twonets.govservices import applications

pytestmark = pytest.mark.usefixtures("data_env")
PASSWORD = "correct-horse-42"
USERS = {
    "handler": dict(roles=["department_handler"], department="lvhua"),
    "reviewer": dict(roles=["reviewer"], department="minzheng"),
    "officer": dict(roles=["data_officer"], department="gongan"),
    "clerk": dict(roles=["hall_clerk"], department="shuju"),
    "resident": dict(roles=["citizen"], subject_id="P900003"),
}
PAGES = {"handler": "/workbench", "reviewer": "/workbench/review", "officer": "/workbench/data", "clerk": "/hall"}


@pytest.fixture
def web(sqlite_engine):
    seeded(sqlite_engine, at=utcnow() - timedelta(days=1))
    with session_factory(sqlite_engine)() as s:
        for name, spec in USERS.items():
            identity.create_user(s, SYSTEM, username=name, password=PASSWORD, **spec)
        s.commit()
    with TestClient(create_app(sqlite_engine), raise_server_exceptions=False, follow_redirects=False) as client:
        client.engine = sqlite_engine
        yield client


def sign_in(client: TestClient, username: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)
    r = client.post("/signin", data={"csrf_token": token, "username": username, "password": PASSWORD, "next": ""})
    assert r.status_code == 303
    return token


@pytest.mark.parametrize("user", sorted(PAGES))
def test_each_desk_is_for_its_role_only(web, user):
    assert web.get(PAGES[user]).status_code == 303  # anonymous: to the sign-in page
    sign_in(web, user)
    assert web.get(PAGES[user]).status_code == 200
    for other, path in PAGES.items():
        if other != user:
            r = web.get(path)
            assert r.status_code == 403 and "您无权打开此页面" in r.text, (user, path)


def test_forms_without_their_csrf_token_are_refused(web):
    sign_in(web, "clerk")
    r = web.post("/hall/call", data={"window": "1"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")


def test_mistakes_at_the_hall_window_answer_pages_that_say_what_to_fix(web):
    token = sign_in(web, "clerk")
    r = web.post("/hall/identify", data={"csrf_token": token, "id_number": "123"})
    assert r.status_code == 422 and "请检查" in r.text and "18" in r.text
    r = web.post("/hall/applications", data={"csrf_token": token, "applicant_id": "P900003", "matter": "MINZHENG-004"})
    assert r.status_code == 422 and "consent" in r.text  # the person's consent is not ticked
    r = web.post("/hall/applications", data={"csrf_token": token, "applicant_id": "P900003", "matter": "NO-SUCH",
                                             "consent": "yes"})
    assert r.status_code == 404
    r = web.post("/hall/applications", data={"csrf_token": token, "applicant_id": "P900003", "matter": "MINZHENG-004",
                                             "consent": "yes"})
    assert r.status_code == 303
    app_id = r.headers["location"].rsplit("/", 1)[-1]
    form = {"csrf_token": token, "f_monthly_income": "900", "f_household_size": "2"}
    r = web.post(f"/hall/applications/{app_id}/submit", data=form,
                 files={"m_income_statement": ("income.txt", b"just text", "text/plain")})
    assert r.status_code == 422 and "PDF" in r.text
    r = web.post(f"/hall/applications/{app_id}/submit", data={**form, "f_household_size": "many"},
                 files={"m_income_statement": ("income.pdf", b"%PDF-1.4 x", "application/pdf")})
    assert r.status_code == 422 and "household_size" in r.text
    assert 'value="many"' in r.text and 'value="900"' in r.text  # what was typed comes back, to correct
    with session_factory(web.engine)() as s:
        assert applications.get(s, SYSTEM, app_id).state.state == "draft"  # nothing half-done
    r = web.post(f"/hall/applications/{app_id}/submit", data=form,
                 files={"m_income_statement": ("income.pdf", b"%PDF-1.4 x", "application/pdf")})
    assert r.status_code == 303
    with session_factory(web.engine)() as s:
        assert applications.get(s, SYSTEM, app_id).state.state == "in_review"


def test_deciding_twice_answers_409_and_an_unknown_decision_422(web):
    with session_factory(web.engine)() as s:
        clerk = identity.user_by_username(s, "clerk").actor()
        app = applications.start(s, clerk, "MINZHENG-004", applicant_id="P900003", consent=True,
                                 form={"monthly_income": 900, "household_size": 2})
        applications.upload(s, clerk, app.id, "income_statement", filename="i.pdf",
                            content_base64=base64.b64encode(b"%PDF-1.4 x").decode())
        applications.submit(s, clerk, app.id)
        s.commit()
    token = sign_in(web, "reviewer")
    page = web.get(f"/workbench/applications/{app.id}")
    assert page.status_code == 200 and "来自政府数据" in page.text
    assert "3101**********" in page.text and re.search(r"3101\d{14}", page.text) is None  # held ID number masked
    assert web.post(f"/workbench/applications/{app.id}/maybe", data={"csrf_token": token}).status_code == 422
    assert web.post(f"/workbench/applications/{app.id}/approve", data={"csrf_token": token}).status_code == 303
    r = web.post(f"/workbench/applications/{app.id}/approve", data={"csrf_token": token})
    assert r.status_code == 409 and "暂时无法执行" in r.text
