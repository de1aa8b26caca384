"""The synthetic demo district: counts, tiling, determinism, point location."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import select

from twonets.city import spatial
from twonets.city.orders import sync_reference
from twonets.city.routing import route
from twonets.city.tables import area
from twonets.core.db import unit_of_work
from twonets.demo import district


@pytest.fixture(scope="module")
def rows():
    return district.build_district(7)


def _level(rows, level):
    return [r for r in rows if r["level"] == level]


def test_counts_and_codes(rows):
    counts = Counter(r["level"] for r in rows)
    assert counts["district"] == 1 and counts["street"] == 14
    assert 240 <= counts["community"] <= 280
    assert 1000 <= counts["grid"] <= 1100
    assert rows[0]["code"] == "D"
    codes = [r["code"] for r in rows]
    assert len(set(codes)) == len(codes)
    for r in _level(rows, "grid"):
        assert r["code"].startswith(r["community_code"]) and r["community_code"].startswith(r["street_code"])
        assert r["parent_code"] == r["community_code"]
        assert len(r["code"]) == len("S01C005G03")
    for r in _level(rows, "community"):
        assert r["parent_code"] == r["street_code"] and len(r["code"]) == len("S01C005")
    assert all(r["parent_code"] == "D" for r in _level(rows, "street"))
    names = [(r["name_zh"], r["name_en"]) for r in rows]
    assert all(zh and en for zh, en in names)
    assert len({n for n, _ in names}) == len(names)


def test_levels_tile_the_district(rows):
    total = rows[0]["area_km2"]
    assert total == pytest.approx(37.0, rel=0.02)
    for level in ("street", "community", "grid"):
        geoms = [shape(r["geometry"]) for r in _level(rows, level)]
        assert all(g.geom_type == "Polygon" and g.is_valid for g in geoms), level
        assert sum(r["area_km2"] for r in _level(rows, level)) == pytest.approx(total, rel=1e-6)
        # No overlaps: the union's area equals the sum of the areas.
        assert shapely.union_all(geoms).area == pytest.approx(sum(g.area for g in geoms), rel=1e-6)
    # Each community is the union of its grids; each street the union of its communities.
    grids_of = defaultdict(list)
    for r in _level(rows, "grid"):
        grids_of[r["community_code"]].append(shape(r["geometry"]))
    for r in _level(rows, "community")[:40]:
        union = shapely.union_all(grids_of[r["code"]])
        assert shape(r["geometry"]).symmetric_difference(union).area < 1e-10


def test_deterministic(rows):
    again = district.build_district(7)
    assert again == rows
    other = district.build_district(8)
    assert [r["geometry"] for r in other] != [r["geometry"] for r in rows]


def test_grid_centroids_locate_back(sqlite_engine, rows):
    with unit_of_work(sqlite_engine) as s:
        sync_reference(s)
        district.seed_district(s, 7)
    with unit_of_work(sqlite_engine) as s:
        assert s.execute(select(area.c.code)).scalars().all()
        for r in _level(rows, "grid"):
            place = spatial.locate(s, r["center_lon"], r["center_lat"])
            assert place is not None and place.grid_code == r["code"]
            assert (place.community_code, place.street_code) == (r["community_code"], r["street_code"])
        assert spatial.locate(s, 121.0, 31.0) is None
        # The street rule sends `other` to the street office; other categories keep their default.
        assert route(s, "other", "S03", "S03C001G01") == "jiedao"
        assert route(s, "illegal_parking", "S03", "S03C001G01") == "jiaojing"


def test_seed_twice_replaces(sqlite_engine):
    with unit_of_work(sqlite_engine) as s:
        sync_reference(s)
        district.seed_district(s, 7)
        district.seed_district(s, 7)
    with unit_of_work(sqlite_engine) as s:
        assert len(spatial.feature_collection(s, "street")["features"]) == 14
