"""One simulated order's life: events built through decide/apply, with the timer caught up before every step."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

from twonets.city import lifecycle
from twonets.city.lifecycle import Event


def _minutes(m: float) -> timedelta:
    return timedelta(seconds=round(m * 60))


def _lognormal_minutes(rng: random.Random, median: float, sigma: float = 0.8) -> timedelta:
    return _minutes(median * math.exp(rng.gauss(0, sigma)))


def _ceil_minute(at: datetime) -> datetime:
    floor = at.replace(second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(minutes=1)


class _Life:
    """One order's life, built event by event through decide/apply, with the timer caught up
    before every step. Stops (and stays as it is) once a step would fall after `end`."""

    __slots__ = ("state", "events", "end", "alive", "top", "leader")

    def __init__(self, created: Event, end: datetime, top: int, leader: str | None):
        self.state = lifecycle.apply(None, created)
        self.events = [created]
        self.end, self.alive, self.top, self.leader = end, True, top, leader

    def catch_up(self, t: datetime) -> None:
        s = self.state
        while s.status in lifecycle.OPEN:
            if s.flag == "ok" and s.warn_at <= t:
                moment = s.warn_at
            elif s.flag != "overdue" and s.due_at <= t:
                moment = s.due_at
            else:
                break
            moment = max(_ceil_minute(moment), s.updated_at)
            if moment > t:
                break
            evs = lifecycle.timer_events(s, moment, self.top, self.leader)
            if not evs:
                break
            for e in evs:
                s = lifecycle.apply(s, e)
                self.events.append(e)
        self.state = s

    def act(self, action: str, at: datetime, actor: str, reason: str | None = None, **data: Any) -> bool:
        if not self.alive:
            return False
        if at < self.state.updated_at:
            at = self.state.updated_at
        if at > self.end:
            self.alive = False
            return False
        self.catch_up(at)
        e = lifecycle.decide(self.state, action, at, actor, reason, **data)
        self.state = lifecycle.apply(self.state, e)
        self.events.append(e)
        return True

    def escalate(self, at: datetime, actor: str, reason: str) -> bool:
        """One level up from wherever the timer has left it (nothing if already at the top)."""
        if not self.alive or max(at, self.state.updated_at) > self.end:
            self.alive = False
            return False
        self.catch_up(max(at, self.state.updated_at))
        level = self.state.escalation_level + 1
        if level > self.top:
            return True
        extra = {"to": self.leader} if level == self.top and self.leader else {}
        return self.act("escalate", at, actor, reason, level=level, **extra)

    @property
    def now(self) -> datetime:
        return self.state.updated_at

    def finish(self) -> None:
        self.catch_up(self.end)
