"""Where the two networks meet (issue 13): a city alarm triggers a service, wired in bootstrap
through events — the city and the services never import each other.

- the "elderly person living alone, no water use for 24 h" alarm opens the community visit order
  (sensing) and checks the person's eligibility for home-care services (offered);
- a water-logging alarm in a street offers the registered small shops there the disaster relief.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from tests.districts import cell_center
from tests.sensing_support import CASES, DAY, docs, ingest_direct, orders_for, start_of
from tests.unit.govservices.support import COMPANY, pid, seeded
from twonets import bootstrap
from twonets.city.sensing import pipeline, tags, things
from twonets.core.actor import SYSTEM
from twonets.core.calendar import LOCAL_TZ
from twonets.core.db import session_factory, unit_of_work
from twonets.data import catalogue
from twonets.govservices.benefit_tables import svc_benefit

ELDERLY = CASES[[c.detector for c in CASES].index("elderly_no_water_use")]
FLOOD = CASES[[c.detector for c in CASES].index("road_waterlogging")]
OTHER_SHOP = "91310101MA0000001X"  # a generated company whose premises are in another street


def _setup(engine) -> None:
    from tests.districts import seed_tiny_district

    seeded(engine)
    with unit_of_work(engine) as s:
        seed_tiny_district(s)
    since = datetime.combine(DAY - timedelta(days=5), time(0), LOCAL_TZ)
    with unit_of_work(engine) as s:
        tags.push(s, SYSTEM, [tags.TagIn(tag="elderly_living_alone", subject_kind="person", subject_ref=pid("elderly_local"),
                                         source_department="minzheng", valid_from=since)], at=since)
        lon, lat = cell_center(0, 0)  # street S01, 街道1
        things.register(s, SYSTEM, [
            things.ThingIn(thing_id="WM-0001", type="household_water_meter", name="王建国家水表", lon=lon, lat=lat,
                           subjects=[things.Subject(kind="person", ref=pid("elderly_local"))]),
            things.ThingIn(thing_id="WL-0001", type="water_level_gauge", name="积水监测 街道1", lon=lon + 0.0005, lat=lat),
        ], at=since)
        catalogue.upsert_records(s, SYSTEM, "business_premises", [
            {"key": COMPANY, "subject_id": COMPANY, "data": {"credit_code": COMPANY, "street": "街道1", "kind": "street_shop"}},
            {"key": OTHER_SHOP, "subject_id": OTHER_SHOP, "data": {"credit_code": OTHER_SHOP, "street": "街道2", "kind": "street_shop"}},
        ], at=since)
    bootstrap.start()


def _benefits(engine) -> dict[tuple[str, str], dict]:
    with session_factory(engine)() as s:
        return {(r.policy, r.subject_id): r._asdict() for r in s.execute(select(svc_benefit))}


def test_the_elderly_alone_alarm_opens_the_visit_order_and_checks_home_care(engine):
    _setup(engine)
    send = ingest_direct(engine)
    start = start_of(ELDERLY)
    send(docs("WM-0001", start, ELDERLY.fire))
    with unit_of_work(engine) as s:
        pipeline.run_absence(s, start + timedelta(minutes=ELDERLY.absence_at))
    with session_factory(engine)() as s:
        orders = orders_for(s, "WM-0001", "elderly_no_water_use")
    assert len(orders) == 1 and orders[0].category == "elderly_care"  # the community visit order
    got = _benefits(engine)
    care = got[("BEN-HOME-CARE", pid("elderly_local"))]
    assert care["state"] == "offered" and care["trigger"] == "alarm:elderly_no_water_use"
    assert care["facts"]["decision"]["inputs"] == {"age": 68, "alone": True}
    assert care["facts"]["event"]["detector"] == "elderly_no_water_use" and care["facts"]["event"]["alarm"].startswith("AL-")
    assert [k for k in got if k[0] != "BEN-HOME-CARE"] == []  # the alarm checks what it triggers, nothing else


def test_a_water_logging_alarm_offers_the_small_shops_of_the_street_disaster_relief(engine):
    _setup(engine)
    send = ingest_direct(engine)
    send(docs("WL-0001", start_of(FLOOD), FLOOD.fire))
    with session_factory(engine)() as s:
        assert len(orders_for(s, "WL-0001", "road_waterlogging")) == 1
    got = _benefits(engine)
    relief = got[("BEN-DISASTER-RELIEF", COMPANY)]
    assert relief["state"] == "offered" and relief["facts"]["event"]["street"] == "街道1"
    assert relief["facts"]["decision"]["inputs"]["industry"] == "catering"
    assert ("BEN-DISASTER-RELIEF", OTHER_SHOP) not in got  # registered in another street


def test_the_sweep_never_offers_disaster_relief_without_a_disaster(engine):
    seeded(engine)
    from twonets.govservices import benefits

    with unit_of_work(engine) as s:
        counts = benefits.sweep(s, codes=["BEN-DISASTER-RELIEF"], at=datetime.combine(date(2026, 12, 3), time(2), LOCAL_TZ))
    assert counts["offered"] == 0 and counts["subjects"] > 0


def test_a_policy_or_bundle_naming_what_does_not_exist_stops_the_start_with_file_and_line(tmp_path, monkeypatch):
    import pytest

    from twonets import meeting
    from twonets.city.sensing import definitions as sensing_definitions
    from twonets.core.definitions import DefinitionError
    from twonets.govservices import bundles, policies, registries

    text = policies.POLICIES_FILE.read_text(encoding="utf-8").replace("detector: road_waterlogging", "detector: road_flooding")
    bad = tmp_path / "policies.yaml"
    bad.write_text(text, encoding="utf-8")
    monkeypatch.setattr(policies, "POLICIES_FILE", bad)
    monkeypatch.setattr(meeting, "POLICIES_FILE", bad)
    with pytest.raises(DefinitionError) as err:
        meeting.check_policies(policies.load_file(bad), sensing_definitions.catalog(), registries.dataset_codes())
    assert "road_flooding" in err.value.reason and err.value.line == text.splitlines().index("- code: BEN-DISASTER-RELIEF") + 1

    btext = bundles.BUNDLES_FILE.read_text(encoding="utf-8").replace("party: bank", "party: pawnshop")
    bbad = tmp_path / "bundles.yaml"
    bbad.write_text(btext, encoding="utf-8")
    monkeypatch.setattr(bundles, "BUNDLES_FILE", bbad)
    with pytest.raises(DefinitionError) as err:
        bootstrap._check_bundles(bundles.load_file(bbad))
    assert "pawnshop" in err.value.reason and err.value.line == btext.splitlines().index("  - code: BUNDLE-HOME-PURCHASE") + 1
