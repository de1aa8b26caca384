"""Issue 12 item 19: datasets served from other packages' tables take their freshness and their
open-data rows from those tables."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from tests.districts import cell_center, seed_tiny_district
from twonets.api.app import create_app
from twonets.bootstrap import sync_definitions
from twonets.core.actor import Actor
from twonets.core.db import session_factory, unit_of_work
from twonets.data.identity import issue_access_token


def test_work_orders_are_fresh_and_spatial_open_data_has_rows(engine):
    with unit_of_work(engine) as s:
        sync_definitions(s)
    s = session_factory(engine)()
    seed_tiny_district(s)
    s.close()
    desk = {"Authorization": f"Bearer {issue_access_token(Actor(id='d1', roles=frozenset({'dispatcher'}), department='dispatch'))[0]}"}
    with TestClient(create_app(engine), raise_server_exceptions=False) as c:
        before = c.get("/api/v1/catalogue/work_orders", headers=desk).json()
        assert before["last_updated_at"] is None  # no order yet
        lon, lat = cell_center(0, 0)
        r = c.post("/api/v1/orders", headers=desk, json={"source": "citizen", "channel": "web", "category": "exposed_garbage",
                                                         "description": "路边有垃圾", "lon": lon, "lat": lat})
        assert r.status_code == 201, r.text
        entry = c.get("/api/v1/catalogue/work_orders", headers=desk).json()
        assert entry["last_updated_at"] and entry["stale"] is False
        stale = {d["code"] for d in c.get("/api/v1/catalogue", params={"stale": "true", "limit": 200}, headers=desk).json()["items"]}
        assert "work_orders" not in stale

        r = c.get("/api/v1/catalogue/spatial/download.csv")
        assert r.status_code == 200
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0] == ["area_code", "level", "name_zh", "area_km2"]
        codes = {row[0] for row in rows[1:]}
        assert {"D", "S01", "S01C001", "S01C001G01", "S02C001G02"} <= codes and len(rows) == 1 + 1 + 2 + 2 + 4
