"""A citizen demand with no category is classified on creation; dispatchers' corrections are
stored and become training data."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.districts import cell_center, seed_tiny_district
from twonets.ai import feedback, training
from twonets.city import orders, triage
from twonets.city.models import OrderCreate
from twonets.core.actor import Actor
from twonets.core.calendar import LOCAL_TZ
from twonets.core.config import settings
from twonets.core.errors import Forbidden, InvalidInput, NotFound

DESK = Actor(id="desk-1", roles=frozenset({"dispatcher"}))
HANDLER = Actor(id="h-1", roles=frozenset({"department_handler"}), department="renshe")
AT = datetime(2026, 11, 24, 10, tzinfo=LOCAL_TZ)


@pytest.fixture
def db(session):
    seed_tiny_district(session)
    return session


@pytest.fixture
def with_model(model_file, monkeypatch):
    monkeypatch.setenv("TWONETS_MODEL_DIR", str(model_file.parent))
    settings.cache_clear()
    yield model_file
    settings.cache_clear()


@pytest.fixture
def without_model(tmp_path, monkeypatch):
    monkeypatch.setenv("TWONETS_MODEL_DIR", str(tmp_path / "none"))
    settings.cache_clear()
    yield
    settings.cache_clear()


def demand(text: str, **kw) -> OrderCreate:
    lon, lat = cell_center(0, 0)
    return OrderCreate(source="citizen", channel="phone", description=text, lon=lon, lat=lat, **kw)


def test_a_demand_without_category_is_classified_and_its_suggestion_kept(db, with_model):
    text = "您好，我在饭店打工，老板拖欠工资三个月不发，劳动合同也没签，找他人都找不到，希望劳动部门帮我们讨薪。"
    o = orders.create_order(db, DESK, demand(text), AT)
    assert o.category == "wage_arrears"
    stored = feedback.suggestions(db, [o.id])[o.id]
    assert stored["categories"][0]["code"] == "wage_arrears" and stored["reasons"]
    full = orders.get_order(db, DESK, o.id)
    dispatch = full.timeline[-1]
    assert dispatch.action == "dispatch" and "AI routing" in dispatch.reason
    # auto-routed only at or above the threshold; below it the desk decides
    assert o.department == ("renshe" if stored["auto_routed"] else "dispatch")
    assert orders.replay_matches(db, o.id)


def test_below_the_threshold_the_demand_goes_to_the_desk_with_suggestions(db, with_model, trained, monkeypatch):
    monkeypatch.setattr(trained.model, "threshold", 1.01)  # nothing is sure enough
    monkeypatch.setattr(triage, "router", lambda: trained.model)
    o = orders.create_order(db, DESK, demand("楼下烧烤店油烟直排，熏得我们窗户都不敢开"), AT)
    assert o.department == "dispatch" and o.category == "restaurant_fumes"
    assert feedback.suggestions(db, [o.id])[o.id]["auto_routed"] is False


def test_without_a_model_the_demand_goes_to_the_desk_as_other(db, without_model):
    o = orders.create_order(db, DESK, demand("有个事情想反映一下"), AT)
    assert (o.category, o.department) == ("other", "dispatch")
    assert feedback.suggestions(db, [o.id]) == {}


def test_only_citizen_demands_may_come_without_a_category():
    lon, lat = cell_center(0, 0)
    with pytest.raises(ValueError, match="category is needed"):
        OrderCreate(source="proactive", channel="inspector", description="x", lon=lon, lat=lat)


def test_a_dispatcher_correction_is_stored_and_becomes_training_data(db, with_model, taxonomy):
    o = orders.create_order(db, DESK, demand("小区门口那个事情一直没人管，大家意见很大"), AT)
    triage.correct(db, DESK, o.id, "property_dispute")
    got = feedback.corrections(db)
    assert got == [("小区门口那个事情一直没人管，大家意见很大", "property_dispute")]
    sets = training.build_sets(taxonomy, ["人民路"], per_category=3, corrections=got)
    assert ("小区门口那个事情一直没人管，大家意见很大", "property_dispute") in {(d.text, d.category) for d in sets["train"]}
    with pytest.raises(Forbidden):
        triage.correct(db, HANDLER, o.id, "wage_arrears")
    with pytest.raises(InvalidInput):
        triage.correct(db, DESK, o.id, "nosuch")
    with pytest.raises(NotFound):
        triage.correct(db, DESK, "WO-20000101-000001", "wage_arrears")


def test_a_demand_without_a_point_is_placed_by_the_place_it_names(db, without_model):
    # the tiny district's communities are 居委1 (in S01) and 居委2 (in S02)
    o = orders.create_order(db, DESK, OrderCreate(source="citizen", channel="phone", category="exposed_garbage",
                                                  description="垃圾堆在路边", address="居委2门口"), AT)
    assert (o.street_code, o.community_code) == ("S02", "S02C001") and o.grid_code.startswith("S02C001")
    nowhere = orders.create_order(db, DESK, OrderCreate(source="citizen", channel="phone", category="exposed_garbage",
                                                        description="垃圾堆在路边", address="某路1号"), AT)
    assert nowhere.grid_code is None
