"""Work orders through the HTTP API: problem details, idempotency, transitions, KPIs, ops."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.districts import cell_center, seed_tiny_district
from twonets.api.app import create_app
from twonets.core.actor import Actor
from twonets.core.db import session_factory
from twonets.data.identity import issue_access_token


def bearer(actor: Actor) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_access_token(actor)[0]}"}


DESK = Actor(id="desk-1", roles=frozenset({"dispatcher"}))


@pytest.fixture
def anonymous(engine):
    s = session_factory(engine)()
    seed_tiny_district(s)
    s.close()
    with TestClient(create_app(engine), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api(anonymous):
    anonymous.headers.update(bearer(DESK))
    return anonymous


def body(**kw):
    lon, lat = cell_center(0, 0)
    base = {"source": "citizen", "channel": "web", "category": "exposed_garbage", "description": "路边有垃圾",
            "lon": lon, "lat": lat, "reporter": {"name": "李四", "phone": "13900001111"}}
    base.update(kw)
    return base


def test_create_read_and_act(api):
    r = api.post("/api/v1/orders", json=body())
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "dispatched" and order["grid_code"] == "S01C001G01"
    assert order["reporter"] == {"name": "李*", "phone": "139****1111"}
    oid = order["id"]
    r = api.post(f"/api/v1/orders/{oid}/accept", json={})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    r = api.post(f"/api/v1/orders/{oid}/resolve", json={"outcome": "cleaned"})
    assert r.json()["status"] == "resolved"
    r = api.post(f"/api/v1/orders/{oid}/callback", json={"actually_resolved": True, "satisfaction": "satisfied"})
    assert r.json()["status"] == "checked"
    got = api.get(f"/api/v1/orders/{oid}").json()
    assert [e["action"] for e in got["timeline"]] == ["create", "dispatch", "accept", "resolve", "callback"]
    assert "13900001111" not in api.get("/api/v1/orders").text


def test_illegal_transition_is_409_problem(api):
    oid = api.post("/api/v1/orders", json=body()).json()["id"]
    r = api.post(f"/api/v1/orders/{oid}/close", json={}, headers={"Accept-Language": "en"})
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    p = r.json()
    assert p["status"] == 409 and "accept" in p["allowed"] and "Allowed now" in p["detail"]


@pytest.mark.parametrize("payload, field", [
    ({"source": "citizen"}, "channel"),
    (body(category="no_such_thing"), "category"),
    (body(channel="sensor"), ""),
    (body(lat=None), ""),
    (body(lon=500), "lon"),
    (body(reporter={"phone": "call me"}), "reporter.phone"),
    (body(description=""), "description"),
    (body(unexpected=1), "unexpected"),
])
def test_bad_input_is_422_naming_the_field(api, payload, field):
    r = api.post("/api/v1/orders", json=payload)
    assert r.status_code == 422, r.text
    p = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert p["title"] and p["detail"]
    if field:
        assert any(e["field"] == field for e in p["errors"]), p


@pytest.mark.parametrize("path", [
    "/api/v1/orders/WO-20990101-000001",
    "/api/v1/orders?limit=0",
    "/api/v1/orders?cursor=%%%",
    "/api/v1/orders?created_from=yesterday",
    "/api/v1/orders?created_from=2026-11-24T00:00:00",
    "/api/v1/orders?status=lost",
    "/api/v1/kpi?from=2026-02-30",
    "/api/v1/kpi?group_by=planet",
    "/api/v1/areas?level=planet",
    "/api/v1/locate?lon=0&lat=0",
    "/api/v1/nowhere",
])
def test_bad_reads_are_4xx_problems(api, path):
    r = api.get(path)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
    assert r.json()["detail"]


def test_unknown_action_and_missing_reason(api):
    oid = api.post("/api/v1/orders", json=body()).json()["id"]
    assert api.post(f"/api/v1/orders/{oid}/teleport", json={}).status_code == 422
    r = api.post(f"/api/v1/orders/{oid}/return", json={})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reason"
    assert api.post(f"/api/v1/orders/{oid}/accept", content="not json",
                    headers={"content-type": "application/json"}).status_code == 422


def test_idempotency_key_returns_the_same_result(api):
    headers = {"Idempotency-Key": "abc-123"}
    first = api.post("/api/v1/orders", json=body(), headers=headers)
    second = api.post("/api/v1/orders", json=body(), headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers.get("Idempotent-Replay") == "true"
    assert len(api.get("/api/v1/orders").json()["items"]) == 1
    oid = first.json()["id"]
    a = api.post(f"/api/v1/orders/{oid}/accept", json={}, headers={"Idempotency-Key": "acc-1"})
    b = api.post(f"/api/v1/orders/{oid}/accept", json={}, headers={"Idempotency-Key": "acc-1"})
    assert a.status_code == b.status_code == 200


def test_pagination_and_filters(api):
    for i in range(5):
        api.post("/api/v1/orders", json=body(lon=None, lat=None, address=f"路{i}号",
                                             source="proactive", channel="inspector"))
    api.post("/api/v1/orders", json=body())
    page = api.get("/api/v1/orders", params={"limit": 2, "source": "proactive"}).json()
    ids = [o["id"] for o in page["items"]]
    while page["next"]:
        page = api.get("/api/v1/orders", params={"limit": 2, "source": "proactive", "cursor": page["next"]}).json()
        ids += [o["id"] for o in page["items"]]
    assert len(ids) == len(set(ids)) == 5


def test_reference_routes_and_geojson(api):
    assert len(api.get("/api/v1/departments").json()["items"]) == 29
    cats = api.get("/api/v1/categories").json()["items"]
    assert {"waterlogging", "manhole_missing", "street_vending", "exposed_garbage"} <= {c["code"] for c in cats}
    grids = api.get("/api/v1/grids").json()
    assert grids["type"] == "FeatureCollection" and len(grids["features"]) == 4
    lon, lat = cell_center(1, 1)
    assert api.get("/api/v1/locate", params={"lon": lon, "lat": lat}).json()["grid_code"] == "S02C001G02"
    r = api.post("/api/v1/routing-rules", json={"category": "exposed_garbage", "street_code": "S02", "department": "jiedao"})
    assert r.status_code == 201
    assert api.post("/api/v1/routing-rules", json={"category": "exposed_garbage", "street_code": "S02",
                                                   "department": "jiedao"}).status_code == 409
    assert api.get("/api/v1/route", params={"category": "exposed_garbage", "street_code": "S02"}).json() == {"department": "jiedao"}
    assert api.delete(f"/api/v1/routing-rules/{r.json()['id']}").status_code == 204
    assert api.delete("/api/v1/routing-rules/999999").status_code == 404


def test_kpi_json_and_csv(api):
    oid = api.post("/api/v1/orders", json=body(source="auto", channel="sensor", reporter=None)).json()["id"]
    api.post(f"/api/v1/orders/{oid}/accept", json={})
    api.post(f"/api/v1/orders/{oid}/resolve", json={})
    data = api.get("/api/v1/kpi", params={"group_by": "source"}).json()
    assert data["items"][0]["group"] == "all" and data["items"][0]["orders"] == 1
    assert data["items"][0]["same_day_rate"] == 1.0
    csv = api.get("/api/v1/kpi", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.startswith("group,orders")


def test_health_and_metrics(api):
    h = api.get("/healthz").json()
    assert h["status"] == "ok"
    api.get("/api/v1/departments")
    assert api.get("/metrics").status_code == 403  # the desk is no administrator (see test_metrics_access)
    m = api.get("/metrics", headers=bearer(Actor(id="admin", roles=frozenset({"administrator"}))))
    assert m.status_code == 200 and "twonets_http_requests_total" in m.text
    assert 'route="/api/v1/departments"' in m.text


def test_home_page_is_bilingual(api):
    r = api.get("/")
    assert r.status_code == 200 and "一网统管" in r.text and "Run the city" in r.text


def test_identity_and_scope_over_http(anonymous):
    r = anonymous.get("/api/v1/orders")
    assert r.status_code == 401 and r.json()["detail"]
    assert anonymous.get("/api/v1/orders", headers={"Authorization": "Bearer forged"}).status_code == 401
    assert anonymous.get("/api/v1/departments").status_code == 200  # reference data is public
    oid = anonymous.post("/api/v1/orders", json=body(), headers=bearer(DESK)).json()["id"]  # → lvhua
    mine = bearer(Actor(id="h1", roles=frozenset({"department_handler"}), department="lvhua"))
    other = bearer(Actor(id="h2", roles=frozenset({"department_handler"}), department="shuiwu"))
    citizen = bearer(Actor(id="c1", roles=frozenset({"citizen"})))
    assert anonymous.get(f"/api/v1/orders/{oid}", headers=mine).status_code == 200
    assert anonymous.get(f"/api/v1/orders/{oid}", headers=other).status_code == 404  # existence does not leak
    assert anonymous.post(f"/api/v1/orders/{oid}/accept", json={}, headers=other).status_code == 404
    assert anonymous.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "x"}, headers=mine).status_code == 403
    assert anonymous.post(f"/api/v1/orders/{oid}/accept", json={}, headers=mine).status_code == 200
    assert [o["id"] for o in anonymous.get("/api/v1/orders", headers=mine).json()["items"]] == [oid]
    assert anonymous.get("/api/v1/orders", headers=other).json()["items"] == []
    assert anonymous.get("/api/v1/orders", headers=citizen).json()["items"] == []  # none of his own yet
    r = anonymous.post("/api/v1/orders", json=body(source="auto", channel="sensor"), headers=citizen)
    assert r.status_code == 403
    assert anonymous.post("/api/v1/orders", json=body(), headers=citizen).status_code == 201
    assert anonymous.get("/api/v1/kpi", headers=citizen).status_code == 403
    assert anonymous.post("/api/v1/timer/tick", headers=mine).status_code == 403
    assert anonymous.post("/api/v1/timer/tick", headers=bearer(DESK)).status_code == 200
    r = anonymous.get("/api/v1/orders", headers=bearer(DESK))
    assert r.headers.get("x-content-type-options") == "nosniff"


def test_reporter_contact_in_full_only_through_the_access_service(anonymous):
    from twonets.core.db import session_factory, unit_of_work
    from twonets.data import audit
    from twonets.data.catalogue import sync_definitions

    with unit_of_work(anonymous.app.state.engine) as s:  # as `twonets db upgrade` does
        sync_definitions(s)
    desk = bearer(Actor(id="desk-1", roles=frozenset({"dispatcher"}), department="dispatch"))
    oid = anonymous.post("/api/v1/orders", json=body(), headers=desk).json()["id"]  # → lvhua
    assert "13900001111" not in anonymous.get(f"/api/v1/orders/{oid}", headers=desk).text  # masked as ever
    r = anonymous.get(f"/api/v1/orders/{oid}/reporter", params={"purpose": "回访 callback"}, headers=desk)
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["phone"]) == ("李四", "13900001111")
    engine = anonymous.app.state.engine
    s = session_factory(engine)()
    entry = next(e for e in audit.iter_entries(s) if e.seq == r.json()["audit_seq"])
    s.close()
    assert entry.kind == "access" and entry.actor == "desk-1" and "work_orders" in str(entry.data) + entry.subject
    # No purpose, no read; another department's handler does not even see the order; the order's
    # own department has no grant on the desk's dataset.
    assert anonymous.get(f"/api/v1/orders/{oid}/reporter", headers=desk).status_code == 422
    other = bearer(Actor(id="h2", roles=frozenset({"department_handler"}), department="shuiwu"))
    assert anonymous.get(f"/api/v1/orders/{oid}/reporter", params={"purpose": "callback"}, headers=other).status_code == 404
    mine = bearer(Actor(id="h1", roles=frozenset({"department_handler"}), department="lvhua"))
    r = anonymous.get(f"/api/v1/orders/{oid}/reporter", params={"purpose": "callback"}, headers={**mine, "Accept-Language": "en"})
    assert r.status_code == 403 and "grant" in r.json()["detail"]


def test_a_point_outside_the_district_is_refused_unless_an_address_or_grid_names_the_place(api):
    beijing = {"lon": 116.40, "lat": 39.90}
    assert api.get("/api/v1/locate", params=beijing).status_code == 404
    r = api.post("/api/v1/orders", json=body(**beijing), headers={"Accept-Language": "en"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "outside the district" in r.json()["detail"]
    assert api.get("/api/v1/orders").json()["items"] == []  # nothing was dispatched
    by_grid = api.post("/api/v1/orders", json=body(grid_code="S02C001G01", **beijing))
    assert by_grid.status_code == 201 and by_grid.json()["street_code"] == "S02"
    by_address = api.post("/api/v1/orders", json=body(address="人民路 100 号", **beijing))
    assert by_address.status_code == 201


def test_reporters_follow_their_own_reports(anonymous):
    """Issue 12 item 1: a citizen (and an inspector outside his grid) sees and lists what he filed."""
    citizen = bearer(Actor(id="U-citizen-1", roles=frozenset({"citizen"})))
    neighbour = bearer(Actor(id="U-citizen-2", roles=frozenset({"citizen"})))
    r = anonymous.post("/api/v1/orders", json=body(), headers=citizen)
    assert r.status_code == 201, r.text
    oid = r.json()["id"]
    other = anonymous.post("/api/v1/orders", json=body(reporter={"name": "王五", "phone": "13700002222"}),
                           headers=neighbour).json()["id"]
    got = anonymous.get(f"/api/v1/orders/{oid}", headers=citizen)
    assert got.status_code == 200, got.text
    assert got.json()["reporter"] == {"name": "李*", "phone": "139****1111"}
    listed = anonymous.get("/api/v1/orders", headers=citizen)
    assert listed.status_code == 200 and [o["id"] for o in listed.json()["items"]] == [oid]
    assert "13700002222" not in listed.text and "王五" not in listed.text
    assert anonymous.get(f"/api/v1/orders/{other}", headers=citizen).status_code == 404
    # following is not acting
    assert anonymous.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "x"}, headers=citizen).status_code == 403

    inspector = bearer(Actor(id="U-insp-1", roles=frozenset({"grid_inspector"}), grid="S01C001G01"))
    lon, lat = cell_center(1, 1)  # S02C001G02, not his grid
    r = anonymous.post("/api/v1/orders", json=body(source="proactive", channel="inspector", lon=lon, lat=lat,
                                                   reporter=None), headers=inspector)
    assert r.status_code == 201, r.text
    assert r.json()["grid_code"] == "S02C001G02"
    assert anonymous.get(f"/api/v1/orders/{r.json()['id']}", headers=inspector).status_code == 200
    ids = [o["id"] for o in anonymous.get("/api/v1/orders", headers=inspector).json()["items"]]
    assert r.json()["id"] in ids


def test_allowed_actions_are_the_callers_own(anonymous):
    """Issue 12 item 3: a handler is offered only what his role may do; each offered action works."""
    oid = anonymous.post("/api/v1/orders", json=body(), headers=bearer(DESK)).json()["id"]  # → lvhua
    desk = anonymous.get(f"/api/v1/orders/{oid}", headers=bearer(DESK)).json()["allowed_actions"]
    assert {"reassign", "escalate", "merge", "cancel"} <= set(desk)
    lvhua = bearer(Actor(id="h1", roles=frozenset({"department_handler"}), department="lvhua"))
    offered = anonymous.get(f"/api/v1/orders/{oid}", headers=lvhua).json()["allowed_actions"]
    assert sorted(offered) == ["accept", "return", "suspend"]
    listed = anonymous.get("/api/v1/orders", headers=lvhua).json()["items"][0]["allowed_actions"]
    assert listed == offered
    for action in ("reassign", "escalate", "merge", "cancel"):  # not offered, and indeed refused
        assert anonymous.post(f"/api/v1/orders/{oid}/{action}", json={"reason": "x"}, headers=lvhua).status_code == 403
    r = anonymous.post(f"/api/v1/orders/{oid}/accept", json={}, headers=lvhua)
    assert r.status_code == 200 and sorted(r.json()["allowed_actions"]) == ["resolve", "return", "start", "suspend"]
    citizen = bearer(Actor(id="U-c9", roles=frozenset({"citizen"})))
    mine = anonymous.post("/api/v1/orders", json=body(), headers=citizen).json()
    assert mine["allowed_actions"] == []
    assert anonymous.get(f"/api/v1/orders/{mine['id']}", headers=citizen).json()["allowed_actions"] == []


@pytest.mark.parametrize("purpose, status", [("回访", 200), ("核验", 200), ("call", 200), ("看", 422),
                                             ("abc", 422), ("....", 422), ("？？！！", 422)])
def test_a_short_chinese_purpose_is_a_purpose(anonymous, purpose, status):
    """Issue 12 item 9: meaningful text counts (2 CJK characters or 4 letters), not characters."""
    from twonets.core.db import unit_of_work
    from twonets.data.catalogue import sync_definitions

    with unit_of_work(anonymous.app.state.engine) as s:
        sync_definitions(s)
    desk = bearer(Actor(id="desk-1", roles=frozenset({"dispatcher"}), department="dispatch"))
    oid = anonymous.post("/api/v1/orders", json=body(), headers=desk).json()["id"]
    r = anonymous.get(f"/api/v1/orders/{oid}/reporter", params={"purpose": purpose}, headers=desk)
    assert r.status_code == status, r.text
    if status == 422:
        assert r.json()["errors"][0]["field"] == "purpose"
