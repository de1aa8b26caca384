"""Address understanding against the district's own gazetteer (the demo district, seed 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from twonets.ai import places
from twonets.city import gazetteer
from twonets.city.orders import sync_reference
from twonets.demo.district import seed_district

DATA = Path(__file__).parents[2] / "data" / "ai" / "addresses.yaml"


@pytest.fixture(scope="module")
def gaz(sqlite_template, tmp_path_factory):
    import shutil

    from twonets.core import db as core_db
    from twonets.core.db import unit_of_work

    path = tmp_path_factory.mktemp("gaz") / "district.db"
    shutil.copy(sqlite_template, path)
    engine = core_db.make_engine(f"sqlite:///{path}")
    with unit_of_work(engine) as s:
        sync_reference(s)
        seed_district(s, 7)
    with unit_of_work(engine) as s:
        yield gazetteer.build(s)
    engine.dispose()


def labelled() -> list[places.Labelled]:
    return [places.Labelled(i["text"], i["expected"]) for i in yaml.safe_load(DATA.read_text(encoding="utf-8"))]


def test_a_street_and_a_road_with_its_number_place_the_demand_in_a_grid_of_that_street(gaz):
    r = gaz.resolve("南京东路街道宁波路88号门口")
    assert r.status == "placed" and r.name == "宁波路" and r.street_code == "S01"
    assert r.grid_code and r.grid_code.startswith(r.community_code)
    assert r.mentions == ["南京东路街道", "宁波路88号"]


def test_a_landmark_is_placed_by_its_point_and_near_is_approximate(gaz):
    station = gaz.resolve("人民广场地铁站2号口")
    assert (station.status, station.kind, station.approximate) == ("placed", "landmark", False)
    assert station.grid_code
    near = gaz.resolve("外滩附近的小区")
    assert near.status == "placed" and near.name == "外滩" and near.approximate


def test_a_road_through_several_communities_is_ambiguous_and_says_where_it_could_be(gaz):
    r = gaz.resolve("宁波路上垃圾很多")
    assert r.status == "ambiguous" and len(r.candidates) > 1 and "name the community" in r.message


def test_outside_the_district_and_nothing_at_all_are_said_so(gaz):
    assert gaz.resolve("我在浦东新区张江上班").status == "outside"
    assert gaz.resolve("我家楼下").status == "not_found"
    assert gaz.resolve("打浦桥街道").status == "street_only"


def test_precision_and_recall_on_the_labelled_set(gaz):
    s = places.score(gaz, labelled())
    assert s.items >= 60
    assert s.precision >= 0.9 and s.recall >= 0.9, s.wrong
