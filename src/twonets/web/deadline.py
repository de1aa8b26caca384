"""A deadline as a person reads it on the working-day clock: "还剩 1.5 个工作日" (1.5 working days
left), "超期 0.5 个工作日" (overdue by 0.5 working days, at least 0.1), or "clock stopped" while suspended. The counting is `core/calendar.py`'s; this only words it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from twonets.core import calendar


@dataclass(frozen=True)
class Left:
    kind: str  # "left" | "over" | "stopped" | "none"
    value: float = 0.0
    flag: str = "ok"  # "ok" | "warning" | "overdue": what the reader's eye needs besides the words


def left(due_at: datetime | None, now: datetime, *, running: bool = True, flag: str | None = None) -> Left:
    """Time left until `due_at` (or past it) on the working-day clock."""
    if not running:  # suspended, or waiting for the applicant's supplement: the clock stands still
        return Left("stopped", flag=flag or "ok")
    if due_at is None:
        return Left("none")
    if now <= due_at:
        return Left("left", max(round(calendar.working_days_between(now, due_at), 1), 0.1) if due_at > now else 0.0,
                    flag=flag or "ok")
    return Left("over", max(round(calendar.working_days_between(due_at, now), 1), 0.1), flag="overdue")
