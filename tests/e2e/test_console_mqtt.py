"""An alarm forwarded over MQTT by an ingestion worker appears on an open console without reload."""

from __future__ import annotations

import json
import uuid

import pytest

from twonets.city.sensing import bridge, mqtt

pytestmark = pytest.mark.mqtt


def test_an_alarm_published_on_mqtt_appears_on_the_console(page_of):
    reason = mqtt.broker_available(timeout=1)
    if reason:
        pytest.skip(reason)
    p = page_of(1920, 1080)
    p.sign_in("desk")
    p.page.wait_for_selector("#map[data-ready='1']")
    p.page.wait_for_selector("#live[data-state='live']")
    name = f"e2e 告警 {uuid.uuid4().hex[:6]}"
    # What an ingestion worker forwards (city/sensing/bridge.py) when a detector fires.
    payload = {"event": "fire", "id": f"AL-E2E-{uuid.uuid4().hex[:8]}", "detector": "e2e", "thing_id": "E2E-1",
               "category": "e2e", "severity": "normal", "order_id": None, "at": "2026-12-01T08:00:00+00:00",
               "detail": "e2e", "name_zh": name, "name_en": name}
    client = mqtt.client(f"twonets-e2e-{uuid.uuid4().hex[:8]}")
    cfg = mqtt.sensing_settings()
    client.connect(cfg.mqtt_host, cfg.mqtt_port)
    client.loop_start()
    try:
        # The server's listener may still be subscribing: publish until the alarm shows (bounded).
        for _ in range(10):
            client.publish(bridge.event_topic("alarm"), json.dumps(payload, ensure_ascii=False), qos=1).wait_for_publish(5)
            try:
                p.page.wait_for_selector(f"#alarm-list li:has-text('{name}')", timeout=1000)
                break
            except Exception:
                continue
    finally:
        client.loop_stop()
        client.disconnect()
    assert p.page.locator(f"#alarm-list li:has-text('{name}')").count() >= 1
    assert p.problems == []
