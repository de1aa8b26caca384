"""GeoJSON areas as an independent reader checks them (RFC 7946): shapely finds every exterior
ring counter-clockwise and every hole clockwise on every level of `GET /api/v1/areas`, and the
media type is `application/geo+json`."""

from __future__ import annotations

from fastapi.testclient import TestClient
from shapely.geometry import Polygon, shape

from twonets.api.app import create_app
from twonets.city import spatial
from twonets.core.db import session_factory
from twonets.demo import district


def _rings(geom):
    for poly in getattr(geom, "geoms", [geom]):
        yield poly.exterior, True
        for hole in poly.interiors:
            yield hole, False


def test_every_ring_follows_the_right_hand_rule(sqlite_engine):
    with session_factory(sqlite_engine)() as s:
        rows = district.build_district(7)
        # An area imported with its rings wound the wrong way (clockwise shell, counter-clockwise hole).
        shell = [(121.0, 31.0), (121.0, 31.1), (121.1, 31.1), (121.1, 31.0)]
        hole = [(121.02, 31.02), (121.05, 31.02), (121.05, 31.05), (121.02, 31.05)]
        wrong = Polygon(shell, [hole])
        assert not wrong.exterior.is_ccw and wrong.interiors[0].is_ccw
        rows.append(spatial.area_row("S99", "street", "反向", "Wound wrong", wrong, parent="D"))
        spatial.replace_areas(s, rows)
        s.commit()
    with TestClient(create_app(sqlite_engine)) as c:
        seen = holes = 0
        for level in spatial.LEVELS:
            r = c.get("/api/v1/areas", params={"level": level})
            assert r.status_code == 200
            assert r.headers["content-type"].split(";")[0] == "application/geo+json"
            for f in r.json()["features"]:
                for ring, exterior in _rings(shape(f["geometry"])):
                    assert ring.is_ccw is exterior, (f["id"], "exterior" if exterior else "hole")
                    seen += 1
                    holes += not exterior
        assert seen >= len(rows) and holes >= 1
        g = c.get("/api/v1/grids")
        assert g.headers["content-type"].split(";")[0] == "application/geo+json" and g.json()["features"]
