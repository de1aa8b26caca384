"""The 12 shipped detectors as scenarios, shared by the fast pipeline tests and the tests
against the real Mosquitto broker: readings that fire, readings that must not, readings that
must not yet clear (hysteresis) and readings that clear.

Times are offsets in minutes from a local start hour on a fixed day (injected, never the wall
clock); the MQTT tests move the same day close to today so that timestamps stay sane.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from twonets.city.sensing import pipeline, tags, things
from twonets.city.sensing.tables import alarm as alarm_t
from twonets.city.tables import work_order
from twonets.core.actor import SYSTEM
from twonets.core.calendar import LOCAL_TZ

Series = list[tuple[float, dict[str, float]]]
DAY = date(2026, 11, 26)  # a Thursday

SITE, ELDER = "SITE-0001", "P-0000123"


def series(minutes, values) -> Series:
    return [(m, dict(values)) for m in minutes]


@dataclass
class Case:
    detector: str
    thing_type: str
    fire: Series
    quiet: Series
    hold: Series = field(default_factory=list)  # after firing: not cleared yet (hysteresis)
    clear: Series = field(default_factory=list)
    tag: str | None = None  # required business tag, carried by the thing's subject
    subject_kind: str = "place"
    quiet_untagged: bool = False  # the quiet thing lacks the tag
    quiet_hour: int | None = None  # the quiet series runs at this local hour (outside the window)
    absence_at: float | None = None  # absence rules: the timer runs at this offset
    hour: int = 23


CASES: list[Case] = [
    Case("road_waterlogging", "water_level_gauge",
         fire=series(range(0, 6), {"depth_cm": 20}),
         quiet=series(range(0, 4), {"depth_cm": 20}) + series([4, 5, 6], {"depth_cm": 10}),
         hold=series([7], {"depth_cm": 8}), clear=series([8], {"depth_cm": 4})),
    Case("manhole_open", "manhole_cover",
         fire=[(0, {"open": 0, "tilt_deg": 2}), (1, {"open": 1, "tilt_deg": 30})],
         quiet=[(0, {"open": 0, "tilt_deg": 2}), (1, {"open": 0, "tilt_deg": 10})],
         hold=[(2, {"open": 0, "tilt_deg": 10})], clear=[(3, {"open": 0, "tilt_deg": 2})]),
    Case("building_smoke", "smoke_detector",
         fire=[(0, {"smoke_obscuration": 0.5, "temperature_c": 25}), (1, {"smoke_obscuration": 6, "temperature_c": 30})],
         quiet=[(0, {"smoke_obscuration": 2, "temperature_c": 50})],
         hold=[(2, {"smoke_obscuration": 2, "temperature_c": 40})],
         clear=[(3, {"smoke_obscuration": 0.5, "temperature_c": 30})]),
    Case("elevator_entrapment", "elevator_controller",
         fire=series([0, 1], {"moving": 0, "at_floor": 0, "door_closed": 1, "occupied": 1}),
         quiet=series([0, 1, 2], {"moving": 0, "at_floor": 0, "door_closed": 1, "occupied": 0}),
         clear=series([3], {"moving": 0, "at_floor": 1, "door_closed": 0, "occupied": 0})),
    Case("streetlight_off_at_night", "street_lamp",
         fire=series([0, 5, 10, 15], {"lamp_on": 0, "power_w": 0}),
         quiet=series([0, 10, 20, 30], {"lamp_on": 0, "power_w": 0}), quiet_hour=12,
         clear=series([20], {"lamp_on": 1, "power_w": 120})),
    Case("bin_overflowing", "waste_bin",
         fire=series([0], {"fill_pct": 95}), quiet=series([0, 15], {"fill_pct": 85}),
         hold=series([15], {"fill_pct": 60}), clear=series([30], {"fill_pct": 30})),
    Case("night_construction_noise", "noise_meter",
         fire=series([0], {"laeq_db": 62}), quiet=series([0, 1], {"laeq_db": 62}), quiet_untagged=True,
         hold=series([1], {"laeq_db": 52}), clear=series([2], {"laeq_db": 48}), tag="construction_site"),
    Case("construction_dust", "dust_monitor",
         fire=series(range(0, 16), {"pm10": 180, "pm25": 60}),
         quiet=series(range(0, 10), {"pm10": 180, "pm25": 60}) + series(range(10, 20), {"pm10": 90, "pm25": 30}),
         hold=series([16], {"pm10": 120, "pm25": 40}), clear=series([17], {"pm10": 80, "pm25": 30}),
         tag="construction_site"),
    Case("hydrant_low_pressure", "hydrant_gauge",
         fire=series([0, 5, 10, 15], {"pressure_mpa": 0.05}), quiet=series([0, 15, 30], {"pressure_mpa": 0.12}),
         hold=series([20], {"pressure_mpa": 0.12}), clear=series([25], {"pressure_mpa": 0.2})),
    Case("elderly_no_water_use", "household_water_meter",
         fire=[(0, {"flow_l": 2})] + series([h * 60 for h in range(1, 24)], {"flow_l": 0}),
         quiet=series([h * 60 for h in range(0, 24) if h != 10], {"flow_l": 0}) + [(600, {"flow_l": 3})],
         clear=series([24 * 60 + 5], {"flow_l": 5}), tag="elderly_living_alone", subject_kind="person",
         absence_at=24 * 60),
    Case("sensor_offline", "noise_meter",
         fire=series([0], {"laeq_db": 45}), quiet=series([0, 1], {"laeq_db": 45}),
         clear=series([10], {"laeq_db": 45}), absence_at=3.5),
    Case("street_air_quality", "air_quality_station",
         fire=series(range(0, 61, 5), {"aqi": 220, "pm25": 170}),
         quiet=series(range(0, 56, 5), {"aqi": 220, "pm25": 170}) + series([60], {"aqi": 140, "pm25": 100}),
         hold=series([65], {"aqi": 180, "pm25": 130}), clear=series([70], {"aqi": 120, "pm25": 80})),
]
assert len({c.detector for c in CASES}) == 12


def start_of(case: Case, day: date = DAY, hour: int | None = None) -> datetime:
    return datetime.combine(day, time(case.hour if hour is None else hour), LOCAL_TZ)


def thing_in(case: Case, suffix: str, n: int, tagged: bool = True) -> things.ThingIn:
    from tests.districts import cell_center

    lon, lat = cell_center(n % 2, (n // 2) % 2)
    lon += (n // 4) * 0.0009  # ~85 m apart: never duplicates of each other
    subjects = []
    if case.tag:
        ref = (ELDER if case.subject_kind == "person" else SITE) if tagged else "UNTAGGED-1"
        subjects = [things.Subject(kind=case.subject_kind, ref=ref)]
    return things.ThingIn(thing_id=f"{case.detector}-{suffix}", type=case.thing_type, name=f"{case.detector} {suffix}",
                          lon=lon, lat=lat, subjects=subjects)


def seed(session, day: date = DAY) -> None:
    """The tiny district, the catalogue (for the access service) and the two tagged subjects."""
    from tests.districts import seed_tiny_district
    from twonets.data import catalogue

    seed_tiny_district(session)
    catalogue.sync_definitions(session)
    since = datetime.combine(day - timedelta(days=5), time(0), LOCAL_TZ)
    tags.push(session, SYSTEM, [
        tags.TagIn(tag="construction_site", subject_kind="place", subject_ref=SITE, source_department="zhujian",
                   valid_from=since),
        tags.TagIn(tag="elderly_living_alone", subject_kind="person", subject_ref=ELDER, source_department="minzheng",
                   valid_from=since),
    ], at=since)
    session.commit()


def register(session, case: Case, day: date = DAY) -> dict[str, str]:
    """Register the case's things (fire, quiet, clear); return their ids by role."""
    idx = CASES.index(case) * 3
    items = [thing_in(case, "fire", idx), thing_in(case, "quiet", idx + 1, tagged=not case.quiet_untagged)]
    at = datetime.combine(day - timedelta(days=2), time(0), LOCAL_TZ)
    things.register(session, SYSTEM, items, at=at)
    session.commit()
    return {"fire": items[0].thing_id, "quiet": items[1].thing_id}


def docs(thing_id: str, start: datetime, s: Series) -> list[dict]:
    return [{"thing_id": thing_id, "ts": (start + timedelta(minutes=m)).isoformat(), "values": v} for m, v in s]


def orders_for(session, thing_id: str, detector: str) -> list:
    return session.execute(select(work_order).where(work_order.c.external_ref == f"{detector}:{thing_id}")).all()


def alarms_for(session, thing_id: str) -> list:
    return session.execute(select(alarm_t).where(alarm_t.c.thing_id == thing_id).order_by(alarm_t.c.id)).all()


def run_case(case: Case, session_factory, send: Callable[[list[dict]], None], day: date = DAY,
             run_absence: Callable[[datetime], None] | None = None) -> None:
    """Drive one case through `send` (direct ingestion or MQTT) and check every side of it."""
    with session_factory() as s:
        ids = register(s, case, day)
    start = start_of(case, day)
    quiet_start = start_of(case, day, case.quiet_hour)

    send(docs(ids["quiet"], quiet_start, case.quiet))
    send(docs(ids["fire"], start, case.fire[:-1]))
    if case.absence_at is None:
        with session_factory() as s:  # one short of the firing reading: nothing yet
            assert not orders_for(s, ids["fire"], case.detector), case.detector
        send(docs(ids["fire"], start, case.fire[-1:]))
    else:
        send(docs(ids["fire"], start, case.fire[-1:]))
        run_absence(start + timedelta(minutes=case.absence_at) - timedelta(minutes=1))
        with session_factory() as s:  # not yet: the rule's span has not passed
            assert not orders_for(s, ids["fire"], case.detector), case.detector
        run_absence(start + timedelta(minutes=case.absence_at))
    with session_factory() as s:
        got = orders_for(s, ids["fire"], case.detector)
        assert len(got) == 1, (case.detector, got)
        order = got[0]
        assert (order.source, order.channel, order.status) == ("auto", "sensor", "dispatched"), case.detector
        assert order.severity in ("normal", "urgent") and order.due_at is not None
        assert not orders_for(s, ids["quiet"], case.detector), f"{case.detector}: the quiet side fired"
        assert order.condition_cleared_at is None
    if case.hold:
        send(docs(ids["fire"], start, case.hold))
        with session_factory() as s:
            assert orders_for(s, ids["fire"], case.detector)[0].condition_cleared_at is None, case.detector
            assert alarms_for(s, ids["fire"])[-1].status == "active", case.detector
    send(docs(ids["fire"], start, case.clear))
    with session_factory() as s:
        order = orders_for(s, ids["fire"], case.detector)[0]
        assert order.condition_cleared_at is not None, f"{case.detector}: the clear was not recorded"
        assert order.status == "dispatched"  # the department still confirms the resolution
        assert [a.status for a in alarms_for(s, ids["fire"]) if a.detector == case.detector] == ["cleared"]


def ingest_direct(engine, received_at: datetime | None = None):
    """A `send` that ingests JSON documents through the pipeline, one unit of work each."""
    import json

    from twonets.core.db import unit_of_work

    def send(items: list[dict]) -> None:
        if not items:
            return
        last = max(datetime.fromisoformat(d["ts"]) for d in items)
        with unit_of_work(engine) as s:
            pipeline.ingest(s, [pipeline.Message(json.dumps(items), None, "test")], source="http",
                            received_at=received_at or last + timedelta(seconds=1))

    return send
