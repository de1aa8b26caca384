"""Events of the city package, published after the unit of work commits (`core.events`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from twonets.core.events import DomainEvent


@dataclass(frozen=True)
class OrderChanged(DomainEvent):
    """One transition of a work order (created, dispatched, merged, resolved…)."""

    topic: ClassVar[str] = "order"
    id: str
    action: str
    status: str
    department: str | None
    at: str  # ISO 8601, as the live feeds carry it
    source: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class AlarmRaised(DomainEvent):
    """A detector fired, repeated within its cool-down, or cleared (`event`)."""

    topic: ClassVar[str] = "alarm"
    event: str  # fire | repeat | clear
    id: str
    detector: str
    thing_id: str
    category: str
    severity: str
    order_id: str | None
    at: str
    detail: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class ReadingsIngested(DomainEvent):
    """One committed batch of sensor readings: how many were stored and quarantined, and how late
    the newest stored reading arrived (seconds from its measurement to its storage)."""

    topic: ClassVar[str] = "readings.ingested"
    source: str  # mqtt | http | file …
    stored: int
    quarantined: int
    lag_s: float | None = None  # None when the batch stored nothing
