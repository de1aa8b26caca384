"""Who is acting: passed from adapters into every service function, checked in the service layer."""

from __future__ import annotations

from dataclasses import dataclass, field

ROLES = (
    "citizen",
    "company_agent",
    "grid_inspector",
    "dispatcher",
    "department_handler",
    "reviewer",
    "hall_clerk",  # a service-hall window (综合窗口): applies on a walk-in person's behalf
    "data_officer",
    "administrator",
    "system",  # timers, detectors, the demo: the machine itself
)


@dataclass(frozen=True)
class Actor:
    id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    department: str | None = None
    street: str | None = None
    grid: str | None = None
    name: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def label(self) -> str:
        """How the actor appears in an event row (never personal data)."""
        return self.id


SYSTEM = Actor(id="system", roles=frozenset({"system"}))
