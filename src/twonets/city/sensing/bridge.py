"""Alarms and order changes across processes, over the broker.

`twonets.core.events` is in-process: an alarm raised in an ingestion worker would never reach
the console's SSE stream served by the API process. The worker forwards its "alarm" and
"order" events to `{root}/events/{topic}` (QoS 0: a live feed, not a record — the record is in
the database); the API process listens there and republishes them locally. Forwarded events
carry `"via": "mqtt"` so that a process doing both never loops.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable

from twonets.city.sensing import connection
from twonets.city.sensing.config import sensing_settings
from twonets.core import events
from twonets.core.logging import get_logger

log = get_logger("twonets.sensing.bridge")
TOPICS = ("alarm", "order")


def event_topic(topic: str, root: str = connection.ROOT) -> str:
    return f"{root}/events/{topic}"


def forward(client, root: str = connection.ROOT) -> Callable[[], None]:
    """Forward this process's alarm and order events to the broker; returns the undo."""

    def handler(topic: str, payload: dict) -> None:
        if payload.get("via") != "mqtt":
            client.publish(event_topic(topic, root), json.dumps(payload, ensure_ascii=False, default=str), qos=0)

    offs = [events.subscribe(t, handler) for t in TOPICS]
    return lambda: [off() for off in offs]


class Listener:
    """Republishes events forwarded by other processes (one per process and root)."""

    def __init__(self, root: str = connection.ROOT):
        self.root = root
        self.ready = threading.Event()
        self.client = connection.client(f"twonets-events-{uuid.uuid4().hex[:8]}")
        self.client.on_connect = lambda c, *_: c.subscribe(event_topic("+", root), qos=0)
        self.client.on_subscribe = lambda *_: self.ready.set()
        self.client.on_message = self._on_message

    def _on_message(self, _c, _u, msg) -> None:
        topic = msg.topic.rsplit("/", 1)[-1]
        if topic not in TOPICS:
            return
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            return
        if isinstance(payload, dict):
            payload["via"] = "mqtt"
            events.publish_remote(topic, payload)

    def start(self) -> Listener:
        cfg = sensing_settings()
        self.client.connect_async(cfg.mqtt_host, cfg.mqtt_port, keepalive=30)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


_listeners: dict[str, Listener] = {}
_lock = threading.Lock()


def ensure_listening(root: str = connection.ROOT) -> Listener | None:
    """Start this process's listener once (None when the broker does not answer)."""
    with _lock:
        if root in _listeners:
            return _listeners[root]
        if connection.broker_available(timeout=0.5):
            return None
        _listeners[root] = Listener(root).start()
        return _listeners[root]
