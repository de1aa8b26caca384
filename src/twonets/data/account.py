"""A user account as the rest of the system sees it: the User record, its Actor and its JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twonets.core.actor import Actor
from twonets.data.models import _iso


@dataclass(frozen=True)
class User:
    id: str
    username: str
    roles: tuple[str, ...]
    department: str | None
    street: str | None
    grid: str | None
    subject_id: str | None
    active: bool
    created_at: datetime

    def actor(self) -> Actor:
        return Actor(
            id=self.id,
            roles=frozenset(self.roles),
            department=self.department,
            street=self.street,
            grid=self.grid,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "roles": list(self.roles),
            "department": self.department,
            "street": self.street,
            "grid": self.grid,
            "subject_id": self.subject_id,
            "active": self.active,
            "created_at": _iso(self.created_at),
        }


def _user(row) -> User:
    return User(
        id=row.public_id,
        username=row.username,
        roles=tuple(row.roles),
        department=row.department,
        street=row.street,
        grid=row.grid,
        subject_id=row.subject_id,
        active=bool(row.active),
        created_at=row.created_at,
    )
