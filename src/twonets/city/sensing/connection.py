"""MQTT basics shared by the ingestion worker (`mqtt`) and the event bridge (`bridge`): topic
names, the paho client and whether the broker answers.

It exists so that `bridge` and `mqtt` do not import each other: both import this module, and
the worker imports the bridge (never the other way round).
"""

from __future__ import annotations

import socket

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from twonets.city.sensing.config import sensing_settings

ROOT = "twonets"  # topic root; tests and benchmarks use a root of their own
GROUP = "twonets"


def topics(root: str = ROOT) -> tuple[str, str]:
    return f"{root}/things/+/readings", f"{root}/gateways/+/readings"


def thing_topic(thing_id: str, root: str = ROOT) -> str:
    return f"{root}/things/{thing_id}/readings"


def gateway_topic(gateway: str, root: str = ROOT) -> str:
    return f"{root}/gateways/{gateway}/readings"


def stats_topic(client_id: str, root: str = ROOT) -> str:
    return f"{root}/sensing/workers/{client_id}/stats"


def client(client_id: str, *, manual_ack: bool = False) -> paho.Client:
    return paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5, manual_ack=manual_ack)


def connect_properties(session_expiry_s: int, receive_maximum: int | None = None) -> Properties:
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = session_expiry_s
    if receive_maximum:
        props.ReceiveMaximum = receive_maximum
    return props


def broker_available(host: str | None = None, port: int | None = None, timeout: float = 2.0) -> str | None:
    """None when the broker answers, else the reason it does not."""
    cfg = sensing_settings()
    host, port = host or cfg.mqtt_host, port or cfg.mqtt_port
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"Mosquitto at {host}:{port} is not reachable: {exc}"
