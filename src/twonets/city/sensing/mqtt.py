"""MQTT ingestion on a real broker (Mosquitto), with paho-mqtt.

Topics (QoS 1, JSON, one reading or a batch):

    twonets/things/{thing_id}/readings    a thing's own readings (thing_id may be left out)
    twonets/gateways/{gateway}/readings   a gateway's batch; every item names its thing_id

Delivery. A worker connects with MQTT v5, `clean_start=False` and a session expiry, so the
broker keeps its subscription and queues QoS-1 messages while it is down. Messages are acked
by hand (`manual_ack`) only after the batch they belong to is committed: a worker killed
mid-batch gets the unacked messages again on reconnect, and idempotent storage (thing,
attribute, ts) makes the redelivery store nothing twice. Nothing is ever dropped: a bad
reading is quarantined with its reason.

The broker must keep what it acknowledged: the guarantee above holds end to end only with the
project's broker configuration (`deploy/mosquitto.conf`, started by `twonets sensing broker`;
see `broker.py` for why a configured broker and not a durable stream, and its limits). With
Mosquitto's defaults, messages queued past 1,000 for this worker's session (while it restarts
or falls behind) are silently dropped after the device got its PUBACK.

Scale-out. Workers subscribe through the shared subscription `$share/{group}/…`: the broker
hands each message to one member of the group, so N workers (on one or several machines,
writing to one PostgreSQL) share the load with no coordination of their own. Start more with
`twonets sensing worker --client-id worker-2`; run the absence timer in one of them only
(`--no-timer` on the others).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from twonets.city.sensing import bridge, pipeline, store
from twonets.city.sensing.config import sensing_settings
from twonets.city.sensing.connection import (  # noqa: F401 - re-exported: the worker's public names
    GROUP,
    ROOT,
    broker_available,
    client,
    connect_properties,
    gateway_topic,
    stats_topic,
    thing_topic,
    topics,
)
from twonets.core.calendar import utcnow
from twonets.core.db import default_engine, unit_of_work
from twonets.core.logging import get_logger

log = get_logger("twonets.sensing.mqtt")


def to_message(topic: str, payload: bytes) -> pipeline.Message:
    parts = topic.rsplit("/", 3)
    if len(parts) == 4 and parts[1] == "things" and parts[3] == "readings":
        return pipeline.Message(payload, parts[2], topic)
    return pipeline.Message(payload, None, topic)


@dataclass
class WorkerStats:
    messages: int = 0
    batches: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    rejected: int = 0
    fired: int = 0
    cleared: int = 0
    busy_s: float = 0.0  # time spent ingesting (the rest is waiting for messages)


class Worker:
    """One ingestion worker: subscribe, batch, ingest in one unit of work, commit, then ack."""

    def __init__(self, engine: Engine | None = None, *, client_id: str = "twonets-worker-1", host: str | None = None,
                 port: int | None = None, shared: bool = True, group: str = GROUP, root: str = ROOT, detect: bool = True,
                 timer: bool = True, batch_messages: int = 200, batch_wait_s: float = 0.05,
                 session_expiry_s: int = 3600, receive_maximum: int = 1000, publish_stats: bool = True,
                 on_batch: Callable[[pipeline.IngestResult], None] | None = None):
        cfg = sensing_settings()
        self.engine = engine or default_engine()
        self.host, self.port = host or cfg.mqtt_host, port or cfg.mqtt_port
        self.client_id, self.shared, self.group, self.root = client_id, shared, group, root
        self.detect, self.timer = detect, timer
        self.batch_messages, self.batch_wait_s = batch_messages, batch_wait_s
        self.session_expiry_s, self.receive_maximum = session_expiry_s, receive_maximum
        self.publish_stats, self.on_batch = publish_stats, on_batch
        self.absence_interval_s = cfg.absence_interval_s
        self.retention, self.minute_retention = cfg.retention, timedelta(days=cfg.minute_rollup_days)
        self.stats = WorkerStats()
        self.inbox: queue.Queue = queue.Queue()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.stop_event = threading.Event()
        self.mqtt = client(client_id, manual_ack=True)
        self.mqtt.on_connect = self._on_connect
        self.mqtt.on_subscribe = self._on_subscribe
        self.mqtt.on_message = self._on_message
        self.mqtt.on_disconnect = self._on_disconnect

    # --- paho callbacks (network thread) ---------------------------------------------------

    def subscriptions(self) -> list[str]:
        return [f"$share/{self.group}/{t}" if self.shared else t for t in topics(self.root)]

    def _on_connect(self, c, _userdata, _flags, reason_code, _props):
        if reason_code.is_failure:
            log.error("mqtt connect refused", reason=str(reason_code))
            return
        self.connected.set()
        c.subscribe([(t, 1) for t in self.subscriptions()])

    def _on_subscribe(self, c, _userdata, _mid, _reason_codes, _props):
        self.subscribed.set()
        if self.publish_stats:  # tells whoever waits that this worker is listening
            c.publish(stats_topic(self.client_id, self.root), json.dumps(self.stats.__dict__), qos=0)

    def _on_message(self, _c, _userdata, msg):
        self.inbox.put((msg.topic, msg.payload, msg.mid, msg.qos))

    def _on_disconnect(self, _c, _userdata, _flags, reason_code, _props):
        self.connected.clear()
        if not self.stop_event.is_set():
            log.warning("mqtt disconnected; reconnecting", reason=str(reason_code))

    # --- the loop (main thread) -------------------------------------------------------------

    def start(self) -> None:
        self._unforward = bridge.forward(self.mqtt, self.root)  # alarms reach the console's stream
        self.mqtt.reconnect_delay_set(0.2, 5)
        self.mqtt.connect(self.host, self.port, keepalive=30, clean_start=False,
                          properties=connect_properties(self.session_expiry_s, self.receive_maximum))
        self.mqtt.loop_start()

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        if getattr(self, "_unforward", None):
            self._unforward()
        self.mqtt.disconnect()
        self.mqtt.loop_stop()

    def _take_batch(self, first) -> list:
        batch = [first]
        deadline = time.monotonic() + self.batch_wait_s
        while len(batch) < self.batch_messages:
            left = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=max(left, 0)) if left > 0 else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def process(self, batch: list) -> pipeline.IngestResult:
        began = time.perf_counter()
        messages = [to_message(topic, payload) for topic, payload, _, _ in batch]
        while True:
            try:
                with unit_of_work(self.engine) as session:
                    result = pipeline.ingest(session, messages, source="mqtt", detect=self.detect)
                break
            except Exception:  # the database is away: keep the batch (unacked) and retry
                log.exception("batch failed; retrying", messages=len(messages))
                if self.stop_event.wait(1.0):
                    raise
        for _, _, mid, qos in batch:  # only now: the batch is committed
            if qos > 0:
                self.mqtt.ack(mid, qos)
        s = self.stats
        s.messages += len(batch)
        s.batches += 1
        s.stored += result.stored
        s.duplicates += result.duplicates
        s.quarantined += result.quarantined
        s.rejected += result.rejected
        s.fired += result.fired + result.repeated
        s.cleared += result.cleared
        s.busy_s = round(s.busy_s + time.perf_counter() - began, 4)
        if self.publish_stats:
            self.mqtt.publish(stats_topic(self.client_id, self.root), json.dumps(s.__dict__), qos=0)
        if self.on_batch:
            self.on_batch(result)
        return result

    def housekeeping(self) -> None:
        now = utcnow()
        with unit_of_work(self.engine) as session:
            pipeline.run_absence(session, now)
        if now.minute == 0 or not hasattr(self, "_pruned"):
            self._pruned = True
            with unit_of_work(self.engine) as session:
                store.prune(session, now, self.retention, self.minute_retention)

    def run(self, duration_s: float | None = None) -> WorkerStats:
        """Consume until stopped (or for `duration_s`)."""
        self.start()
        ends = None if duration_s is None else time.monotonic() + duration_s
        next_timer = time.monotonic() + self.absence_interval_s
        try:
            while not self.stop_event.is_set() and (ends is None or time.monotonic() < ends):
                try:
                    first = self.inbox.get(timeout=0.2)
                except queue.Empty:
                    first = None
                if first is not None:
                    self.process(self._take_batch(first))
                if self.timer and time.monotonic() >= next_timer:
                    next_timer = time.monotonic() + self.absence_interval_s
                    try:
                        self.housekeeping()
                    except Exception:
                        log.exception("absence timer failed")
        finally:
            self.close()
        return self.stats


def publish(messages: list[tuple[str, bytes | str]], *, host: str | None = None, port: int | None = None,
            client_id: str = "", qos: int = 1, max_inflight: int = 100) -> int:
    """Publish (topic, payload) pairs and wait until the broker has them all (QoS 1)."""
    cfg = sensing_settings()
    c = client(client_id)
    c.max_inflight_messages_set(max_inflight)
    c.max_queued_messages_set(0)
    c.connect(host or cfg.mqtt_host, port or cfg.mqtt_port, keepalive=30)
    c.loop_start()
    try:
        infos = [c.publish(topic, payload, qos=qos) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(timeout=60)
        return sum(1 for i in infos if i.is_published())
    finally:
        c.disconnect()
        c.loop_stop()
