"""Sensing settings from the environment (TWONETS_SENSING_*, TWONETS_MQTT_*)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class SensingSettings:
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    retention_days: float = 30.0  # raw readings; rollups are kept longer
    minute_rollup_days: float = 90.0
    max_age_days: float = 30.0  # older readings are quarantined as too old
    absence_interval_s: float = 60.0  # how often a worker runs the absence timer

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)

    @property
    def max_age(self) -> timedelta:
        return timedelta(days=self.max_age_days)


def sensing_settings() -> SensingSettings:
    env = os.environ

    def num(name: str, default: float) -> float:
        raw = env.get(name)
        return float(raw) if raw not in (None, "") else default

    return SensingSettings(
        mqtt_host=env.get("TWONETS_MQTT_HOST") or "127.0.0.1",
        mqtt_port=int(num("TWONETS_MQTT_PORT", 1883)),
        retention_days=num("TWONETS_SENSING_RETENTION_DAYS", 30.0),
        minute_rollup_days=num("TWONETS_SENSING_MINUTE_ROLLUP_DAYS", 90.0),
        max_age_days=num("TWONETS_SENSING_MAX_AGE_DAYS", 30.0),
        absence_interval_s=num("TWONETS_SENSING_ABSENCE_INTERVAL_S", 60.0),
    )
