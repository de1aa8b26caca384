"""Issue 11, item 1: what the broker acknowledged is never lost. 50,000 readings (5,000 QoS-1
messages of 10, plus malformed ones) published at full speed, the worker killed with SIGKILL
mid-burst and kept down for 10 s, then restarted under the same client id: every reading is
stored once and every bad message quarantined once (published = stored + quarantined), on
SQLite and PostgreSQL. And the broker's own restart (SIGTERM) keeps what it had queued.

On a broker with Mosquitto's defaults (`max_queued_messages 1000`) this loses thousands of
acknowledged messages; on the project's broker (deploy/mosquitto.conf) none.
Sizes: TWONETS_TEST_BURST_READINGS (default 50,000), TWONETS_TEST_BURST_DOWN_S (default 10).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.sensing_support import seed
from twonets.city.sensing import broker as project_broker
from twonets.city.sensing import mqtt, store, things
from twonets.city.sensing.tables import reading as reading_t
from twonets.city.sensing.tables import rollup as rollup_t
from twonets.core.actor import SYSTEM
from twonets.core.calendar import local_date, utcnow
from twonets.core.db import session_factory

pytestmark = pytest.mark.mqtt

READINGS = int(os.environ.get("TWONETS_TEST_BURST_READINGS", "50000"))
DOWN_S = float(os.environ.get("TWONETS_TEST_BURST_DOWN_S", "10"))
PER_MSG, METERS, BAD_EVERY = 10, 20, 100


def _counts(engine) -> tuple[int, int]:
    with session_factory(engine)() as s:
        c = store.counts(s)
    return c["readings"], c["quarantined"]


def _settle(engine, want: tuple[int, int], timeout: float, quiet_s: float = 5.0) -> tuple[int, int]:
    """Counts once they reach `want`, or once they stop moving for `quiet_s` (what was lost stays lost)."""
    ends = time.monotonic() + timeout
    last, since = _counts(engine), time.monotonic()
    while time.monotonic() < ends and last != want:
        time.sleep(0.2)
        now = _counts(engine)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > quiet_s:
            break
    return last


class WorkerProcess:
    """`twonets sensing worker` as a real process, up once it has subscribed (it says so on its stats topic)."""

    def __init__(self, url: str, root: str, log_path, client_id: str | None = None, group: str | None = None):
        self.log = open(log_path, "ab")  # the worker's own account, for a failing run
        self.root, self.group = root, group or f"g{uuid.uuid4().hex[:8]}"
        self.client_id = client_id or f"burst-{uuid.uuid4().hex[:8]}"
        self.env = dict(os.environ, TWONETS_DATABASE_URL=url, TWONETS_LOG_JSON="1", TWONETS_LOG_LEVEL="WARNING")
        self.ready = threading.Event()
        cfg = mqtt.sensing_settings()
        self.listener = mqtt.client(f"l-{uuid.uuid4().hex[:8]}")
        self.listener.on_message = lambda *_: self.ready.set()
        self.listener.connect(cfg.mqtt_host, cfg.mqtt_port)
        self.listener.subscribe(mqtt.stats_topic(self.client_id, root), qos=0)
        self.listener.loop_start()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.ready.clear()
        cmd = [sys.executable, "-m", "twonets.cli", "sensing", "worker", "--client-id", self.client_id,
               "--group", self.group, "--root", self.root, "--no-timer", "--session-expiry", "600"]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log)
        assert self.ready.wait(60), "the worker did not come up"

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no goodbye; its unacked and queued messages stay with the broker
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.listener.loop_stop()
        self.listener.disconnect()
        self.log.close()


def test_a_burst_with_the_worker_killed_for_10_s_loses_and_doubles_nothing(broker, engine, tmp_path):
    with session_factory(engine)() as s:
        seed(s, local_date(utcnow()))
        things.register(s, SYSTEM, [things.ThingIn(thing_id=f"bm-{i}", type="household_water_meter", name=f"meter {i}")
                                    for i in range(METERS)])
        s.commit()
    root = f"t{uuid.uuid4().hex[:10]}/twonets"
    n_good = READINGS // PER_MSG
    start_ts = utcnow().replace(microsecond=0) - timedelta(seconds=READINGS // METERS * PER_MSG + 3600)
    payloads = []
    for m in range(n_good):
        thing = f"bm-{m % METERS}"
        first = (m // METERS) * PER_MSG  # each meter's readings are one second apart, never twice the same ts
        docs = [{"ts": (start_ts + timedelta(seconds=first + k)).isoformat(), "attribute": "flow_l", "value": k}
                for k in range(PER_MSG)]
        payloads.append((mqtt.thing_topic(thing, root), json.dumps(docs)))
        if m % BAD_EVERY == BAD_EVERY // 2:
            payloads.append((mqtt.thing_topic(thing, root), f"garbage {m}"))
    n_bad = len(payloads) - n_good
    want = (n_good * PER_MSG, n_bad)

    worker = WorkerProcess(engine.url.render_as_string(hide_password=False), root, tmp_path / "worker.log")
    published: list[int] = []
    pub = threading.Thread(target=lambda: published.append(mqtt.publish(payloads, max_inflight=1000)))
    try:
        worker.start()
        pub.start()  # full speed: as fast as the broker acknowledges
        ends = time.monotonic() + 60
        while _counts(engine)[0] < want[0] // 10 and time.monotonic() < ends:
            time.sleep(0.02)
        worker.kill()
        at_kill = _counts(engine)
        assert want[0] // 10 <= at_kill[0] < want[0], f"not killed mid-burst: {at_kill} of {want}"
        time.sleep(DOWN_S)  # the burst goes on (or has ended) while no worker is there
        worker.start()
        pub.join(120)
        assert published == [len(payloads)], "the broker did not acknowledge every message"
        got = _settle(engine, want, timeout=180)
        lost = (want[0] - got[0], want[1] - got[1])
        assert got == want, f"published {want} (readings, bad messages), stored/quarantined {got}: lost {lost}"
        time.sleep(1.0)  # nothing more arrives late
        assert _counts(engine) == want
        with session_factory(engine)() as s:  # stored once: raw readings and their minute rollups
            keys = s.execute(select(func.count()).select_from(
                select(reading_t.c.thing_id, reading_t.c.attribute, reading_t.c.ts).distinct().subquery())).scalar_one()
            rolled = s.execute(select(func.sum(rollup_t.c.n)).where(rollup_t.c.grain == "minute")).scalar_one()
        assert keys == want[0] and rolled == want[0], (keys, rolled)
    finally:
        worker.close()
        pub.join(30)


def test_the_broker_keeps_queued_readings_across_its_restart(broker, sqlite_engine, tmp_path, monkeypatch):
    """The shipped configuration persists sessions and queues: readings published while the
    worker is away survive a restart of the broker (SIGTERM: it saves first)."""
    own = project_broker.Broker(tmp_path / "mosquitto").start()
    for k, v in own.env.items():
        monkeypatch.setenv(k, v)
    engine = sqlite_engine
    with session_factory(engine)() as s:
        seed(s, local_date(utcnow()))
        things.register(s, SYSTEM, [things.ThingIn(thing_id="pm-1", type="household_water_meter", name="meter")])
        s.commit()
    root, url = f"t{uuid.uuid4().hex[:10]}/twonets", engine.url.render_as_string(hide_password=False)
    n_msgs, per_msg = 1500, 4  # more than Mosquitto's default queue of 1,000
    start_ts = utcnow().replace(microsecond=0) - timedelta(hours=3)
    payloads = [(mqtt.thing_topic("pm-1", root), json.dumps([
        {"ts": (start_ts + timedelta(seconds=m * per_msg + k)).isoformat(), "attribute": "flow_l", "value": k}
        for k in range(per_msg)])) for m in range(n_msgs)]
    first = WorkerProcess(url, root, tmp_path / "worker.log")
    second = None
    try:
        first.start()  # the broker now holds the worker's session and subscription
        first.kill()
        first.close()
        assert mqtt.publish(payloads) == n_msgs  # queued for the absent worker
        own.stop()
        own.start()
        assert _counts(engine) == (0, 0)
        second = WorkerProcess(url, root, tmp_path / "worker.log", client_id=first.client_id, group=first.group)
        second.start()
        assert _settle(engine, (n_msgs * per_msg, 0), timeout=120) == (n_msgs * per_msg, 0)
    finally:
        first.close()
        if second:
            second.close()
        own.stop()
