"""Against the real Mosquitto broker: publish → stored → latest state → detector → an `auto`
work order for all 12 detectors; quarantine with reasons; redelivery; a worker killed with
SIGKILL mid-stream and restarted loses no QoS-1 message (published = stored + quarantined).

The broker is the project's own (see conftest.py). Each test uses a topic root and a
shared-subscription group of its own, so runs (and other users of the broker) never see each
other's messages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta
from datetime import time as dtime

import pytest
from sqlalchemy import func, select

from tests.sensing_support import CASES, run_case, seed
from twonets.city.sensing import mqtt, pipeline, store, things
from twonets.city.sensing.tables import reading as reading_t
from twonets.core import db as core_db
from twonets.core.actor import SYSTEM
from twonets.core.calendar import LOCAL_TZ, local_date, utcnow
from twonets.core.db import session_factory, unit_of_work

pytestmark = pytest.mark.mqtt


def _root() -> str:
    return f"t{uuid.uuid4().hex[:10]}/twonets"


def _wait(predicate, timeout=30.0, what="condition"):
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _count(engine) -> tuple[int, int]:
    with session_factory(engine)() as s:
        c = store.counts(s)
    return c["readings"], c["quarantined"]


@pytest.fixture(scope="module")
def running(broker, sqlite_template, tmp_path_factory):
    """One SQLite database and one in-process worker (a thread) for the module."""
    path = tmp_path_factory.mktemp("mqtt") / "twonets.db"
    shutil.copy(sqlite_template, path)
    engine = core_db.make_engine(f"sqlite:///{path}")
    day = local_date(utcnow()) - timedelta(days=3)  # recent enough for sane timestamps
    with session_factory(engine)() as s:
        seed(s, day)
    root = _root()
    worker = mqtt.Worker(engine, client_id=f"w-{uuid.uuid4().hex[:8]}", group=f"g{uuid.uuid4().hex[:8]}", root=root,
                         timer=False, session_expiry_s=60)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    assert worker.subscribed.wait(10), "the worker did not subscribe"
    yield engine, worker, root, day
    worker.stop()
    thread.join(10)
    engine.dispose()


@pytest.mark.parametrize("case", CASES, ids=[c.detector for c in CASES])
def test_detector_over_mqtt(running, case):
    engine, worker, root, day = running

    def send(docs: list[dict]) -> None:
        if not docs:
            return
        before = _count(engine)[0]
        thing_id = docs[0]["thing_id"]
        body = [{k: v for k, v in d.items() if k != "thing_id"} for d in docs]  # the topic names the thing
        assert mqtt.publish([(mqtt.thing_topic(thing_id, root), json.dumps(body))]) == 1
        expected = sum(len(d["values"]) for d in docs)
        _wait(lambda: _count(engine)[0] >= before + expected, what=f"{expected} readings of {thing_id}")

    def absence(now: datetime) -> None:
        with unit_of_work(engine) as s:
            pipeline.run_absence(s, now)

    run_case(case, session_factory(engine), send, day=day, run_absence=absence)
    with session_factory(engine)() as s:  # the latest state table follows
        fire_id = f"{case.detector}-fire"
        assert things.get_thing(s, fire_id)["latest"]


def test_malformed_messages_are_quarantined_with_reasons_and_redelivery_stores_once(running):
    engine, worker, root, day = running
    with unit_of_work(engine) as s:
        things.register(s, SYSTEM, [things.ThingIn(thing_id="bin-q", type="waste_bin", name="Bin Q", lon=121.475, lat=31.225)])
    ts = datetime.combine(day, dtime(10), LOCAL_TZ).isoformat()
    good = json.dumps({"ts": ts, "attribute": "fill_pct", "value": 40})
    bad = {
        "malformed_json": "{not json",
        "out_of_range": json.dumps({"ts": ts, "attribute": "fill_pct", "value": 140}),
        "unknown_attribute": json.dumps({"ts": ts, "attribute": "colour", "value": 1}),
        "bad_timestamp": json.dumps({"ts": "tomorrow", "attribute": "fill_pct", "value": 1}),
        "not_a_number": json.dumps({"ts": ts, "attribute": "fill_pct", "value": "full"}),
    }
    before_r, before_q = _count(engine)
    topic = mqtt.thing_topic("bin-q", root)
    msgs = [(topic, good), (topic, good)] + [(topic, p) for p in bad.values()] + [(topic, p) for p in bad.values()]
    msgs.append((mqtt.thing_topic("ghost-thing", root), good))
    assert mqtt.publish(msgs) == len(msgs)
    _wait(lambda: _count(engine) == (before_r + 1, before_q + len(bad) + 1), what="quarantine")
    time.sleep(0.3)
    assert _count(engine) == (before_r + 1, before_q + len(bad) + 1)  # the same bad message is kept once
    with session_factory(engine)() as s:
        reasons = store.quarantine_reasons(s)
    for reason in list(bad) + ["unknown_thing"]:
        assert reasons.get(reason, 0) >= 1, reason


def _worker_cmd(client_id: str, group: str, root: str) -> list[str]:
    return [sys.executable, "-m", "twonets.cli", "sensing", "worker", "--client-id", client_id, "--group", group,
            "--root", root, "--no-timer", "--batch", "20"]


def test_a_killed_worker_loses_no_qos1_message(broker, engine):
    url = engine.url.render_as_string(hide_password=False)
    with session_factory(engine)() as s:
        seed(s, local_date(utcnow()))
        things.register(s, SYSTEM, [things.ThingIn(thing_id=f"wm-{i}", type="household_water_meter", name=f"meter {i}")
                                    for i in range(10)])
        s.commit()
    root, group, client_id = _root(), f"g{uuid.uuid4().hex[:8]}", f"kill-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, TWONETS_DATABASE_URL=url, TWONETS_LOG_JSON="1", TWONETS_LOG_LEVEL="WARNING")

    ready = threading.Event()
    listener = mqtt.client(f"l-{uuid.uuid4().hex[:8]}")
    listener.on_message = lambda *_: ready.set()
    listener.connect(mqtt.sensing_settings().mqtt_host, mqtt.sensing_settings().mqtt_port)
    listener.subscribe(mqtt.stats_topic(client_id, root), qos=0)
    listener.loop_start()

    def start():
        ready.clear()
        proc = subprocess.Popen(_worker_cmd(client_id, group, root), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        assert ready.wait(30), "the worker did not come up"
        return proc

    proc = start()
    start_ts = utcnow() - timedelta(hours=6)
    n_msgs, per_msg = 300, 10
    payloads = []
    for m in range(n_msgs):
        if m % 50 == 7:
            payloads.append((mqtt.thing_topic(f"wm-{m % 10}", root), f"garbage {m}"))
            continue
        docs = [{"ts": (start_ts + timedelta(seconds=m * per_msg + k)).isoformat(), "attribute": "flow_l", "value": k}
                for k in range(per_msg)]
        payloads.append((mqtt.thing_topic(f"wm-{m % 10}", root), json.dumps(docs)))
    expected_bad = sum(1 for _, p in payloads if p.startswith("garbage"))
    expected_good = (n_msgs - expected_bad) * per_msg

    published = []
    pub = threading.Thread(target=lambda: [published.append(mqtt.publish(payloads[i:i + 10])) or time.sleep(0.02)
                                           for i in range(0, n_msgs, 10)])
    pub.start()
    try:
        _wait(lambda: _count(engine)[0] >= expected_good // 4, timeout=60, what="a quarter stored")
        proc.kill()  # SIGKILL: no goodbye, unacked messages stay with the broker
        proc.wait(10)
        mid_stream = _count(engine)[0]
        assert mid_stream < expected_good, "the worker finished before it could be killed"
        proc = start()
        pub.join(60)
        assert sum(published) == n_msgs
        _wait(lambda: _count(engine) == (expected_good, expected_bad), timeout=60, what="every message")
        time.sleep(0.5)
        assert _count(engine) == (expected_good, expected_bad)  # published = stored + quarantined
        with session_factory(engine)() as s:
            assert s.execute(select(func.count(func.distinct(reading_t.c.ts)))).scalar_one() == expected_good
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        listener.loop_stop()
        listener.disconnect()


def test_the_simulator_feeds_the_worker(running):
    from twonets.demo.sensing import run_simulation

    engine, worker, root, day = running
    before = _count(engine)
    report = run_simulation(n_things=40, rate=4000, duration_s=1.0, seed=3, root=root, engine=engine,
                            malformed_share=0.1)
    assert report["readings"] >= 4000 and report["malformed_messages"] >= 1
    want = (before[0] + report["readings"], before[1] + report["malformed_messages"])
    _wait(lambda: _count(engine) == want, timeout=30, what="the simulated readings")


def test_events_cross_processes_over_the_broker(broker):
    """A worker's alarms reach another process's event subscribers (the console's SSE)."""
    from twonets.city.sensing import bridge
    from twonets.core import events

    root = _root()
    listener = bridge.Listener(root).start()
    assert listener.ready.wait(10)
    got: list[tuple[str, dict]] = []
    off = events.subscribe("alarm", lambda t, p: got.append((t, p)))
    sender = mqtt.client(f"s-{uuid.uuid4().hex[:8]}")
    sender.connect(mqtt.sensing_settings().mqtt_host, mqtt.sensing_settings().mqtt_port)
    sender.loop_start()
    undo = bridge.forward(sender, root)
    try:
        events.publish_remote("alarm", {"event": "fire", "id": "AL-20261128-000001"})
        _wait(lambda: any(p.get("via") == "mqtt" for _, p in got), timeout=10, what="the forwarded alarm")
        time.sleep(0.3)
        assert sum(1 for _, p in got if p.get("via") == "mqtt") == 1  # no echo loop
    finally:
        undo()
        off()
        sender.loop_stop()
        sender.disconnect()
        listener.stop()
