"""The demo hall's morning: a few people have taken a number at the district service hall
(run by the big data centre) and wait to be called, so that the hall window has a queue."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.db import unit_of_work
from twonets.govservices import hall

HALL = "shuju"


def seed_queue(engine: Engine, waiting: int = 6, *, at: datetime | None = None) -> int:
    """Numbers taken at the hall over the last half hour, when none was taken today yet;
    returns how many were taken."""
    at = at or utcnow()
    with unit_of_work(engine) as session:
        if hall.today(session, Actor("demo", frozenset(hall.CLERK_ROLES), department=HALL), at=at)["taken"]:
            return 0
        for i in range(waiting):
            hall.take_ticket(session, HALL, at=at - timedelta(minutes=5 * (waiting - i)))
    return waiting
