"""The console's 30-day trends and GET /api/v1/kpi read the daily rollup and give what the full
computation over the orders gives (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.districts import cell_center, seed_tiny_district
from tests.integration.test_web_pages import PASSWORD, sign_in
from twonets.api.app import create_app
from twonets.city import kpi, orders
from twonets.city.models import OrderCreate
from twonets.core.actor import SYSTEM, Actor
from twonets.core.calendar import utcnow
from twonets.core.db import session_factory
from twonets.data import identity
from twonets.web.pages.console import SEED_KPIS, period

DESK = Actor(id="desk", roles=frozenset({"dispatcher"}))


def test_trends_and_the_kpi_api_equal_the_full_computation(engine):
    rng = random.Random(4)
    s = session_factory(engine)()
    seed_tiny_district(s)
    identity.create_user(s, SYSTEM, username="desk", password=PASSWORD, roles=["dispatcher"], department="dispatch")
    now = utcnow()
    made = []
    for i in range(40):
        lon, lat = cell_center(rng.randint(0, 1), rng.randint(0, 1))
        at = now - timedelta(days=rng.randint(0, 12), hours=rng.randint(0, 5))
        source = rng.choice(["auto", "proactive", "citizen"])
        body = OrderCreate(source=source, channel={"auto": "sensor", "proactive": "inspector", "citizen": "phone"}[source],
                           category=rng.choice(["exposed_garbage", "road_damage", "illegal_parking"]),
                           description=f"第{i}件", lon=lon + rng.uniform(-0.003, 0.003), lat=lat)
        made.append((orders.create_order(s, DESK, body, at).id, at))
    for oid, at in made[::2]:
        order = orders.get_order(s, DESK, oid)
        if order.status == "dispatched":
            orders.transition(s, DESK, oid, "accept", at=at + timedelta(minutes=30))
            orders.transition(s, DESK, oid, "resolve", at=at + timedelta(hours=2))
    s.commit()
    with TestClient(create_app(engine), raise_server_exceptions=False, follow_redirects=False) as web:
        sign_in(web, "desk")
        trends = web.get("/console/data/trends.json").json()
        first, last = period()
        assert trends["days"][0] == first.isoformat() and trends["days"][-1] == last.isoformat()
        for i, day in enumerate(trends["days"]):
            full = kpi.compute_from_orders(s, kpi.KpiQuery.parse(day, day))[0]
            assert {f: trends["series"][f][i] for f, *_ in SEED_KPIS} == {f: getattr(full, f) for f, *_ in SEED_KPIS}
        token = web.post("/api/v1/auth/login", json={"username": "desk", "password": PASSWORD}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        api = web.get("/api/v1/kpi", params={"group_by": "department"}, headers=headers)
        assert api.status_code == 200, api.text
        full = kpi.compute_from_orders(s, kpi.KpiQuery.parse(group_by="department"))
        assert [r["group"] for r in api.json()["items"]] == [r.group for r in full]
        assert [r["orders"] for r in api.json()["items"]] == [r.orders for r in full] and full[0].orders == 40
    s.close()
