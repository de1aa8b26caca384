"""Problem details in the reader's language (issue 15.5): every kind of problem — bad login,
unknown matter, illegal transition, Pydantic validation errors, 401, 403, 404, 409, 429 — is
said in Chinese (the default, or `Accept-Language: zh-CN`) or in English (`Accept-Language: en`),
title, detail and each field message alike, and the response names its language in
`Content-Language`. Codes a client sends back (states, actions, field paths) stay as they are."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.districts import cell_center, seed_tiny_district
from tests.unit.data.support import bearer, data_env  # noqa: F401
from twonets.api.app import create_app
from twonets.core.actor import SYSTEM, Actor
from twonets.core.db import session_factory
from twonets.data import identity

pytestmark = pytest.mark.usefixtures("data_env")
CJK = re.compile(r"[\u4e00-\u9fff]")
DESK = Actor(id="desk-1", roles=frozenset({"dispatcher"}), department="dispatch")
PASSWORD = "correct-horse-battery-9"


CELLS = itertools.cycle([(0, 0), (1, 1), (0, 1), (1, 0)])  # orders far apart: none is a duplicate of another


def order_body(**kw):
    lon, lat = cell_center(*next(CELLS))
    # no Chinese in what is sent, so that nothing Chinese can come back in an English body but ours
    return {"source": "citizen", "channel": "web", "category": "exposed_garbage", "description": "bin overflowing",
            "lon": lon, "lat": lat, **kw}


@pytest.fixture
def client(engine):
    with session_factory(engine)() as s:
        seed_tiny_district(s)
        identity.create_user(s, SYSTEM, username="lin", password=PASSWORD, roles=["dispatcher"], department="dispatch")
        s.commit()
    with TestClient(create_app(engine), raise_server_exceptions=False) as c:
        yield c


def bad_login(c, lang):
    return c.post("/api/v1/auth/login", json={"username": "lin", "password": "wrong-password"}, headers=lang)


def unknown_matter(c, lang):
    return c.get("/api/v1/matters/NOPE-404", headers=lang)


def illegal_transition(c, lang):
    oid = c.post("/api/v1/orders", json=order_body(), headers=bearer(DESK)).json()["id"]
    return c.post(f"/api/v1/orders/{oid}/close", json={}, headers={**bearer(DESK), **lang})


def validation_errors(c, lang):
    body = order_body(lon=500, description="")
    del body["channel"]
    return c.post("/api/v1/orders", json=body, headers={**bearer(DESK), **lang})


def malformed_json(c, lang):
    return c.post("/api/v1/orders", content=b'{"source": oops}',
                  headers={**bearer(DESK), **lang, "Content-Type": "application/json"})


def no_identity(c, lang):
    return c.get("/api/v1/orders", headers=lang)


def not_allowed(c, lang):
    return c.get("/api/v1/api-keys", headers={**bearer(DESK), **lang})


def no_such_order(c, lang):
    return c.get("/api/v1/orders/WO-20000101-000001", headers={**bearer(DESK), **lang})


def no_such_route(c, lang):
    return c.get("/api/v1/no-such-thing", headers=lang)


def escalation_conflict(c, lang):
    oid = c.post("/api/v1/orders", json=order_body(), headers=bearer(DESK)).json()["id"]
    assert c.post(f"/api/v1/orders/{oid}/escalate", json={"level": 2}, headers=bearer(DESK)).status_code == 200
    return c.post(f"/api/v1/orders/{oid}/escalate", json={"level": 1}, headers={**bearer(DESK), **lang})


def throttled(c, lang):
    for _ in range(6):  # five failures lock the account at this address
        if bad_login(c, {}).status_code == 429:
            break
    return c.post("/api/v1/auth/login", json={"username": "lin", "password": PASSWORD}, headers=lang)


PROBLEMS: dict[str, tuple[Callable, int]] = {
    "bad login": (bad_login, 401),
    "unknown matter": (unknown_matter, 404),
    "illegal transition": (illegal_transition, 409),
    "validation errors": (validation_errors, 422),
    "malformed JSON": (malformed_json, 422),
    "no identity": (no_identity, 401),
    "not allowed": (not_allowed, 403),
    "no such order": (no_such_order, 404),
    "no such route": (no_such_route, 404),
    "escalation conflict": (escalation_conflict, 409),
    "throttled": (throttled, 429),
}


def texts(p: dict) -> list[str]:
    """Everything a person reads in a problem body."""
    return [p["title"], p["detail"], *[e["message"] for e in p.get("errors", [])]]


@pytest.mark.parametrize("kind", list(PROBLEMS))
def test_every_kind_of_problem_in_chinese_and_in_english(client, kind):
    make, status = PROBLEMS[kind]
    zh = make(client, {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert zh.status_code == status, zh.text
    assert zh.headers["content-type"].startswith("application/problem+json")
    assert zh.headers["content-language"] == "zh-CN"
    for text in texts(zh.json()):
        assert CJK.search(text), (kind, text)

    en = make(client, {"Accept-Language": "en-GB,en;q=0.9"})
    assert en.status_code == status, en.text
    assert en.headers["content-language"] == "en"
    for text in texts(en.json()):
        assert text and not CJK.search(text), (kind, text)
    # the same problem, the same shape: only the words change
    assert {k: v for k, v in zh.json().items() if k not in ("title", "detail", "errors")} == \
        {k: v for k, v in en.json().items() if k not in ("title", "detail", "errors")}
    assert [e["field"] for e in zh.json().get("errors", [])] == [e["field"] for e in en.json().get("errors", [])]


def test_chinese_is_the_default_and_the_highest_q_wins(client):
    r = unknown_matter(client, {})
    assert r.headers["content-language"] == "zh-CN" and CJK.search(r.json()["detail"])
    r = unknown_matter(client, {"Accept-Language": "fr-FR, de;q=0.9"})  # neither of ours: the default
    assert r.headers["content-language"] == "zh-CN"
    r = unknown_matter(client, {"Accept-Language": "zh;q=0.3, en;q=0.7"})
    assert r.headers["content-language"] == "en" and r.json()["detail"] == "no matter 'NOPE-404' in the catalogue"
    r = unknown_matter(client, {"Accept-Language": "en;q=0, zh"})
    assert r.headers["content-language"] == "zh-CN"


def test_every_api_response_names_its_language(client):
    for lang, tag in (({"Accept-Language": "en-US"}, "en"), ({}, "zh-CN"), ({"Accept-Language": "zh-TW"}, "zh-CN")):
        r = client.get("/api/v1/departments", headers=lang)
        assert r.status_code == 200 and r.headers["content-language"] == tag
        assert "accept-language" in r.headers["vary"].lower()
    r = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en"})
    assert r.headers["content-language"] == "en" and r.headers["vary"].lower().count("accept-language") == 1


def test_codes_stay_codes_in_every_language(client):
    zh = illegal_transition(client, {"Accept-Language": "zh-CN"}).json()
    en = illegal_transition(client, {"Accept-Language": "en"}).json()
    assert zh["allowed"] == en["allowed"] and "accept" in zh["allowed"]
    assert zh["detail"].startswith("工单当前状态为 dispatched，不能执行 close")
    assert en["detail"].startswith("Cannot close an order that is dispatched. Allowed now: ")
    fields = {e["field"] for e in validation_errors(client, {"Accept-Language": "zh"}).json()["errors"]}
    assert fields == {"channel", "lon", "description"}


def test_web_pages_say_a_services_refusal_in_the_pages_language(engine, client):
    """A console page shows the service's message (here an illegal transition, 409) in the language
    the reader chose with the switch (the cookie), whatever the browser's Accept-Language."""
    from tests.integration.test_web_pages import csrf

    oid = client.post("/api/v1/orders", json=order_body(), headers=bearer(DESK)).json()["id"]
    token = csrf(client)
    r = client.post("/signin", data={"csrf_token": token, "username": "lin", "password": PASSWORD, "next": ""},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    for lang, words, other in (("en", "Cannot close an order that is dispatched", "不能执行"),
                               ("zh_CN", "工单当前状态为 dispatched，不能执行 close", "Cannot close")):
        client.cookies.set("twonets_lang", lang)
        r = client.post(f"/console/orders/{oid}/close", data={"csrf_token": token},
                        headers={"Accept-Language": "en" if lang == "zh_CN" else "zh-CN"})
        assert r.status_code == 409, r.text
        assert r.headers["content-language"] == ("en" if lang == "en" else "zh-CN")
        assert words in r.text and other not in r.text
