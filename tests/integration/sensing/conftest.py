"""The broker for the MQTT tests: the project's own Mosquitto, started from the shipped
`deploy/mosquitto.conf` on a free port in a temporary directory (one per test module), so
that the tests exercise the configuration the project ships.

`TWONETS_TEST_MQTT=external` runs them against the broker at TWONETS_MQTT_HOST/PORT instead
(e.g. a distribution's default Mosquitto, to see what it loses).
"""

from __future__ import annotations

import os

import pytest

from twonets.city.sensing import broker as project_broker
from twonets.city.sensing.connection import broker_available


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    if os.environ.get("TWONETS_TEST_MQTT") == "external":
        reason = broker_available()
        if reason:
            pytest.skip(reason)
        yield None
        return
    try:
        project_broker.executable()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    b = project_broker.Broker(tmp_path_factory.mktemp("mosquitto")).start()
    saved = {k: os.environ.get(k) for k in b.env}
    os.environ.update(b.env)  # in-process clients and worker subprocesses find it here
    try:
        yield b
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        b.stop()
