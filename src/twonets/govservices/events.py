"""Events of the government-services package, published after the unit of work commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from twonets.core.events import DomainEvent


@dataclass(frozen=True)
class ApplicationChanged(DomainEvent):
    """One transition of an application (submitted, approved, licence issued…)."""

    topic: ClassVar[str] = "application.changed"
    id: str
    action: str
    state: str
    matter: str | None = None


@dataclass(frozen=True)
class LicenceChanged(DomainEvent):
    """An e-licence was issued or revoked (`action`)."""

    topic: ClassVar[str] = "licence.changed"
    id: str
    action: str  # issue | revoke
    department: str
    matter: str
