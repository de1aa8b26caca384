"""The pipeline's storage guarantees on SQLite and PostgreSQL: idempotency, quarantine with
reasons, latest state, rollups, repeats attaching to the open order, tags on people read
through the access service, retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tests.sensing_support import CASES, ELDER, register, seed
from twonets.city import orders as work_orders
from twonets.city.sensing import alarms, pipeline, store, things
from twonets.city.sensing.tables import quarantine as quarantine_t
from twonets.city.tables import work_order
from twonets.core.actor import SYSTEM
from twonets.core.db import session_factory, unit_of_work
from twonets.data.tables import data_access

T0 = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def _msg(thing_id, minute, **values):
    return pipeline.Message(json.dumps({"ts": (T0 + timedelta(minutes=minute)).isoformat(), "values": values}),
                            thing_id, f"twonets/things/{thing_id}/readings")


def _setup(engine, detector="road_waterlogging"):
    with session_factory(engine)() as s:
        seed(s)
        return register(s, next(c for c in CASES if c.detector == detector))


def test_redelivery_stores_nothing_twice_and_bad_messages_are_kept_once(engine):
    ids = _setup(engine)
    gauge = ids["fire"]
    batch = [_msg(gauge, m, depth_cm=20) for m in range(7)] + [
        pipeline.Message(b"{broken", gauge, "t"),
        pipeline.Message(json.dumps({"ts": T0.isoformat(), "attribute": "depth_cm", "value": -3}), gauge, "t"),
    ]
    received = T0 + timedelta(minutes=8)
    with unit_of_work(engine) as s:
        first = pipeline.ingest(s, batch, source="mqtt", received_at=received)
    with unit_of_work(engine) as s:
        again = pipeline.ingest(s, batch, source="mqtt", received_at=received + timedelta(seconds=5))
    assert (first.stored, first.quarantined, first.fired) == (7, 2, 1)
    assert first.reasons == {"malformed_json": 1, "out_of_range": 1}
    assert (again.stored, again.duplicates, again.quarantined, again.fired) == (0, 7, 0, 0)
    with session_factory(engine)() as s:
        assert store.counts(s) == {"readings": 7, "quarantined": 2}
        assert store.quarantine_reasons(s) == {"malformed_json": 1, "out_of_range": 1}
        assert s.execute(select(func.count()).select_from(work_order)).scalar_one() == 1
        row = s.execute(select(quarantine_t).where(quarantine_t.c.reason == "out_of_range")).one()
        assert row.thing_id == gauge and row.attribute == "depth_cm" and "-3" in row.detail
        latest = things.get_thing(s, gauge)["latest"]
        assert latest["depth_cm"]["value"] == 20 and latest["depth_cm"]["ts"].startswith("2026-11-26T15:06")


def test_latest_state_ignores_older_readings_and_rollups_aggregate(engine):
    gauge = _setup(engine)["quiet"]
    with unit_of_work(engine) as s:
        pipeline.ingest(s, [_msg(gauge, 0.0, depth_cm=2), _msg(gauge, 0.5, depth_cm=4), _msg(gauge, 61, depth_cm=6)],
                        source="http", received_at=T0 + timedelta(hours=2))
    with unit_of_work(engine) as s:  # a late reading, older than the latest
        pipeline.ingest(s, [_msg(gauge, 1, depth_cm=9)], source="http", received_at=T0 + timedelta(hours=2))
    with session_factory(engine)() as s:
        assert things.get_thing(s, gauge)["latest"]["depth_cm"]["value"] == 6
        minute = store.query_readings(s, gauge, start=T0, end=T0 + timedelta(hours=3), agg="minute")["items"]
        assert [(i["count"], i["mean"], i["min"], i["max"]) for i in minute[:2]] == [(2, 3.0, 2.0, 4.0), (1, 9.0, 9.0, 9.0)]
        hour = store.query_readings(s, gauge, start=T0, end=T0 + timedelta(hours=3), agg="hour")["items"]
        assert [(i["count"], i["min"], i["max"]) for i in hour] == [(3, 2.0, 9.0), (1, 6.0, 6.0)]
        page = store.query_readings(s, gauge, start=T0, end=T0 + timedelta(hours=3), limit=2)
        assert len(page["items"]) == 2 and page["next"]
        rest = store.query_readings(s, gauge, start=T0, end=T0 + timedelta(hours=3), limit=2, cursor=page["next"])
        assert [i["value"] for i in page["items"] + rest["items"]] == [2, 4, 9, 6] and rest["next"] is None
    with unit_of_work(engine) as s:
        gone = store.prune(s, T0 + timedelta(days=31), timedelta(days=30), timedelta(days=30))
    assert gone == {"readings": 4, "minute_rollups": 3}


def test_a_repeat_attaches_to_the_open_order_and_a_closed_order_means_a_new_one(engine):
    bin_ = _setup(engine, "bin_overflowing")["fire"]

    def send(minute, fill):
        with unit_of_work(engine) as s:
            return pipeline.ingest(s, [_msg(bin_, minute, fill_pct=fill)], source="mqtt",
                                   received_at=T0 + timedelta(minutes=minute, seconds=1))

    assert send(0, 95).fired == 1
    assert send(10, 20).cleared == 1
    assert send(20, 97).repeated == 1  # within the 2 h cool-down
    assert send(200, 20).cleared == 1
    assert send(300, 98).fired == 1  # after the cool-down: a new alarm, but the order is still open
    with session_factory(engine)() as s:
        orders = s.execute(select(work_order).where(work_order.c.external_ref == f"bin_overflowing:{bin_}")).all()
        assert len(orders) == 1
        listed = alarms.list_alarms(s, thing_id=bin_)["items"]
        assert [(a["status"], a["repeats"], a["order_id"]) for a in listed] == [
            ("active", 0, orders[0].public_id), ("cleared", 1, orders[0].public_id)]
        order_id = orders[0].public_id
        for action in ("accept", "start", "resolve", "check", "close"):
            work_orders.transition(s, SYSTEM, order_id, action, at=T0 + timedelta(minutes=310))
        assert work_orders.replay_matches(s, order_id)
        s.commit()
    send(320, 20)
    assert send(800, 99).fired == 1
    with session_factory(engine)() as s:
        orders = s.execute(select(work_order).where(work_order.c.external_ref == f"bin_overflowing:{bin_}")
                           .order_by(work_order.c.id)).all()
        assert [o.status for o in orders] == ["closed", "dispatched"]
        assert all(work_orders.replay_matches(s, o.public_id) for o in orders)


def test_tags_on_people_are_read_through_the_access_service(engine):
    case = next(c for c in CASES if c.detector == "elderly_no_water_use")
    with session_factory(engine)() as s:
        seed(s)
        ids = register(s, case)
    with unit_of_work(engine) as s:
        result = pipeline.run_absence(s, T0 + timedelta(days=3))
    assert result.fired >= 1
    with session_factory(engine)() as s:
        rows = s.execute(select(data_access).where(data_access.c.subject_id == ELDER)).all()
        assert rows and rows[0].dataset_code == "business_tags" and "detector" in rows[0].purpose
        assert rows[0].actor == "system:sensing"
        listed = things.get_thing(s, ids["fire"])
        assert listed["subjects"][0]["ref"] != ELDER  # masked in listings


def test_offline_alarm_clears_on_the_next_reading(engine):
    ids = _setup(engine)
    gauge = ids["quiet"]  # the other gauge never reports: offline from the first run on
    key = f"sensor_offline:{gauge}"

    def offline_orders():
        with session_factory(engine)() as s:
            return s.execute(select(work_order).where(work_order.c.external_ref == key)).all()

    with unit_of_work(engine) as s:
        pipeline.ingest(s, [_msg(gauge, 0, depth_cm=1)], source="mqtt", received_at=T0)
    with unit_of_work(engine) as s:
        assert pipeline.run_absence(s, T0 + timedelta(minutes=2)).fired == 1  # the silent one
    assert not offline_orders()
    with unit_of_work(engine) as s:
        assert pipeline.run_absence(s, T0 + timedelta(minutes=3)).fired == 1
    assert len(offline_orders()) == 1
    with unit_of_work(engine) as s:
        assert pipeline.run_absence(s, T0 + timedelta(minutes=30)).fired == 0  # still the same alarms
    with unit_of_work(engine) as s:
        assert pipeline.ingest(s, [_msg(gauge, 31, depth_cm=1)], source="mqtt", received_at=T0 + timedelta(minutes=31)).cleared == 1
    (order,) = offline_orders()
    assert order.category == "device_offline" and order.condition_cleared_at is not None


def test_a_failed_unit_of_work_stores_nothing(engine):
    """Readings, alarms and orders commit together (the MQTT ack comes only after)."""
    import pytest

    gauge = _setup(engine)["fire"]
    with pytest.raises(RuntimeError):
        with unit_of_work(engine) as s:
            r = pipeline.ingest(s, [_msg(gauge, m, depth_cm=30) for m in range(6)], source="mqtt",
                                received_at=T0 + timedelta(minutes=7))
            assert r.stored == 6 and r.fired == 1
            raise RuntimeError("the worker dies before the commit")
    with session_factory(engine)() as s:
        assert store.counts(s)["readings"] == 0
        assert s.execute(select(func.count()).select_from(work_order)).scalar_one() == 0


def test_a_late_reading_is_history_and_does_not_clear(engine):
    gauge = _setup(engine)["fire"]
    with unit_of_work(engine) as s:
        assert pipeline.ingest(s, [_msg(gauge, m, depth_cm=30) for m in range(10, 16)], source="mqtt",
                               received_at=T0 + timedelta(minutes=20)).fired == 1
    with unit_of_work(engine) as s:  # readings from before the alarm arrive late
        r = pipeline.ingest(s, [_msg(gauge, m, depth_cm=0) for m in range(0, 5)], source="mqtt",
                            received_at=T0 + timedelta(minutes=21))
    assert (r.stored, r.cleared) == (5, 0)
