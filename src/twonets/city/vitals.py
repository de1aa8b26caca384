"""The district's vital signs for the console: today's orders by source and status, and how
many open orders are overdue now. Counts only what the actor may see (city/scope.py). A read-only query model over the order
projection, like `kpi.py`: SQL aggregates, never rows, never writes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from twonets.city import scope
from twonets.city.lifecycle import OPEN, SOURCES, STATES
from twonets.city.tables import work_order as wo
from twonets.core.actor import Actor
from twonets.core.calendar import local_midnight


def _visible(actor: Actor):
    """The SQL condition of the orders `actor` may see (None: every order), from `scope.visible`."""
    columns = scope.visible(actor)
    return None if columns is None else or_(*[wo.c[col] == value for col, value in columns.items()])


def today_counts(session: Session, actor: Actor, day: date) -> dict:
    """{"by_source": {source: n}, "by_status": {status: n}, "by_source_status": {source: {status: n}},
    "total": n, "overdue_now": n} for orders created on local `day`; overdue_now is over all open orders."""
    visible = _visible(actor)
    q = (select(wo.c.source, wo.c.status, func.count()).where(wo.c.created_at >= local_midnight(day),
                                                            wo.c.created_at < local_midnight(day + timedelta(days=1)))
         .group_by(wo.c.source, wo.c.status))
    if visible is not None:
        q = q.where(visible)
    grid = {s: {st: 0 for st in STATES} for s in SOURCES}
    for source, status, n in session.execute(q):
        grid.setdefault(source, {st: 0 for st in STATES})[status] = n
    overdue = select(func.count()).select_from(wo).where(wo.c.status.in_(sorted(OPEN)), wo.c.flag == "overdue")
    if visible is not None:
        overdue = overdue.where(visible)
    by_status = {st: sum(grid[s][st] for s in grid) for st in STATES}
    return {
        "by_source": {s: sum(grid[s].values()) for s in grid},
        "by_status": by_status,
        "by_source_status": grid,
        "total": sum(by_status.values()),
        "overdue_now": session.execute(overdue).scalar_one(),
    }


def open_by_source_status(session: Session, actor: Actor) -> dict[str, dict[str, int]]:
    """Open orders now (any creation day), {source: {status: n}} over the open states."""
    visible = _visible(actor)
    q = (select(wo.c.source, wo.c.status, func.count()).where(wo.c.status.in_(sorted(OPEN)))
         .group_by(wo.c.source, wo.c.status))
    if visible is not None:
        q = q.where(visible)
    out = {s: {st: 0 for st in sorted(OPEN)} for s in SOURCES}
    for source, status, n in session.execute(q):
        out.setdefault(source, {st: 0 for st in sorted(OPEN)})[status] = n
    return out


def overdue_by_source(session: Session, now: datetime) -> dict[str, int]:
    """Open orders past their deadline now, by source: the timer's own condition (status open,
    `due_at` passed), read from the (status, due_at) index, so whether or not the timer has run
    yet. For `/metrics` (every order, no actor scope)."""
    q = (select(wo.c.source, func.count()).where(wo.c.status.in_(sorted(OPEN)), wo.c.due_at <= now)
         .group_by(wo.c.source))
    counts = {s: 0 for s in SOURCES}
    counts.update({source: n for source, n in session.execute(q)})
    return counts
