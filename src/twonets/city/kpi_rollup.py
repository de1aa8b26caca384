"""Daily KPI rollups, kept with the orders: the KPI counters of the orders created on each local
day, summed per (day, source, department, street) in `order_kpi_day`.

An order contributes to the row of its creation day and its current source, department and
street: one order, its KPI counters (`k_*`, city/kpi.py `flags`), its resolution times (in whole
milliseconds, so that adding and taking away is exact) and its returns. The order repository
calls `change(before, after)` in the same statement sequence, and so the same transaction, as
every write of an order row: it takes the old contribution away and adds the new one, writing
only when something the KPIs count has changed (accepting an order, a warning flag: nothing).
Rolled-back work rolls its rollup back with it. Bulk imports add theirs at once (`add_many`).

So the KPI table of a year cut by department, source or street is a sum over at most a few
hundred rows a day instead of a scan of every order (`kpi.compute` chooses; other cuts and
filters — category, grid, channel — still read the orders). `rebuild` recomputes the table
from the orders (after a bulk load that bypassed the repository, or to check it).

Concurrency: each write is an upsert that adds to the stored sums (`INSERT … ON CONFLICT DO
UPDATE SET n = order_kpi_day.n + excluded.n`, the same SQL on SQLite and PostgreSQL), so concurrent writers
never lose an increment; rows are written in key order, so two writers cannot deadlock on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, cast, delete, func, insert, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from twonets.city.tables import KPI_FLAGS, ROLLUP_KEY, order_kpi_day
from twonets.city.tables import work_order as wo
from twonets.core.calendar import LOCAL_TZ, local_date
from twonets.data.fastpath import Raw

FLAG_COLUMNS = tuple(f"k_{name}" for name in KPI_FLAGS)
SUMS = ("orders", *FLAG_COLUMNS, "resolution_ms", "resolution_working_ms", "returns")
# the cuts a rollup row can answer (KpiQuery cut name → column)
DIMENSIONS = {"source": "source", "department": "department", "street": "street_code"}
NONE = ""  # a key column's "none" (no department yet, no street)

Key = tuple[date, str, str, str]


def _ms(seconds: float | None) -> int:
    return 0 if seconds is None else math.floor(seconds * 1000)


def contribution(v: Mapping[str, Any]) -> tuple[Key, tuple[int, ...]]:
    """The rollup key and sums of one order, from its row (or `order_repository.values`)."""
    key = (local_date(v["created_at"]), v["source"], v["department"] or NONE, v["street_code"] or NONE)
    sums = (1, *[int(v[c]) for c in FLAG_COLUMNS], _ms(v["resolution_s"]), _ms(v["resolution_working_s"]),
            int(v["returns_count"]))
    return key, sums


# --- writing ------------------------------------------------------------------------------


# One upsert that adds to the stored sums, the same SQL on SQLite and PostgreSQL, run on the unit
# of work's DBAPI cursor (data/fastpath.py): it is written with every order that is created.
UPSERT_SQL = (
    f"INSERT INTO order_kpi_day ({', '.join((*ROLLUP_KEY, *SUMS))}) "
    f"VALUES ({', '.join(':' + c for c in (*ROLLUP_KEY, *SUMS))}) "
    f"ON CONFLICT ({', '.join(ROLLUP_KEY)}) DO UPDATE SET "
    + ", ".join(f"{c} = order_kpi_day.{c} + excluded.{c}" for c in SUMS)
)


def _write(session: Session, deltas: Mapping[Key, Iterable[int]]) -> None:
    rows = [(key, sums) for key, sums in sorted(deltas.items()) if any(sums)]
    if not rows:
        return
    raw = Raw(session)
    try:
        iso = raw.dialect == "sqlite"  # a Date column holds ISO text there
        raw.executemany(UPSERT_SQL, [
            dict(zip(SUMS, sums, strict=True), day=key[0].isoformat() if iso else key[0], source=key[1],
                 department=key[2], street_code=key[3]) for key, sums in rows])
    finally:
        raw.close()


def change(session: Session, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> None:
    """An order went from `before` (its row, None when new) to `after` (its new values)."""
    deltas: dict[Key, list[int]] = {}
    if before is not None:
        key, sums = contribution(before)
        deltas[key] = [-n for n in sums]
    if after is not None:
        key, sums = contribution(after)
        old = deltas.get(key)
        deltas[key] = list(sums) if old is None else [a + b for a, b in zip(old, sums, strict=True)]
    _write(session, deltas)


def add_many(session: Session, orders: Iterable[Mapping[str, Any]]) -> None:
    """Add the contributions of many new orders (their values), summed per key first."""
    deltas: dict[Key, list[int]] = {}
    for v in orders:
        key, sums = contribution(v)
        old = deltas.get(key)
        deltas[key] = list(sums) if old is None else [a + b for a, b in zip(old, sums, strict=True)]
    _write(session, deltas)


def _day_of_created(dialect: str):
    """The local day of `created_at` in SQL (the district's zone has no DST)."""
    if dialect == "sqlite":  # stored as naive UTC text
        offset = datetime(2000, 1, 1, tzinfo=LOCAL_TZ).utcoffset()
        return func.date(wo.c.created_at, f"{int(offset.total_seconds() // 60):+d} minutes")
    return cast(func.timezone(LOCAL_TZ.key, wo.c.created_at), postgresql.DATE)


def _floor_ms(col, dialect: str):
    if dialect == "sqlite":  # CAST truncates toward zero; the times are never negative
        return func.coalesce(cast(col * 1000, Integer), 0)
    return func.coalesce(cast(func.floor(col * 1000), postgresql.BIGINT), 0)


def rebuild(session: Session) -> int:
    """Recompute the whole rollup from the orders (one aggregate); returns its rows."""
    dialect = session.get_bind().dialect.name
    day = _day_of_created(dialect)
    dept, street = func.coalesce(wo.c.department, literal(NONE)), func.coalesce(wo.c.street_code, literal(NONE))
    agg = select(
        day.label("day"), wo.c.source, dept.label("department"), street.label("street_code"),
        func.count().label("orders"), *[func.sum(wo.c[c]).label(c) for c in FLAG_COLUMNS],
        func.sum(_floor_ms(wo.c.resolution_s, dialect)).label("resolution_ms"),
        func.sum(_floor_ms(wo.c.resolution_working_s, dialect)).label("resolution_working_ms"),
        func.sum(wo.c.returns_count).label("returns"),
    ).group_by(day, wo.c.source, dept, street)
    session.execute(delete(order_kpi_day))
    session.execute(insert(order_kpi_day).from_select([*ROLLUP_KEY, *SUMS], agg))
    return session.execute(select(func.count()).select_from(order_kpi_day)).scalar_one()


# --- reading ------------------------------------------------------------------------------


def answers(group_by: str | None, filters: Mapping[str, str]) -> bool:
    """Whether the rollup can answer this cut: grouped and filtered by its dimensions only."""
    return (group_by is None or group_by in DIMENSIONS) and all(
        k in DIMENSIONS and v != NONE for k, v in filters.items())


def _aggregates():
    t = order_kpi_day.c
    return [func.sum(t.orders).label("orders"), *[func.sum(t[c]).label(c.removeprefix("k_")) for c in FLAG_COLUMNS],
            func.sum(t.resolution_working_ms).label("working_ms"), func.sum(t.resolution_ms).label("calendar_ms"),
            func.sum(t.returns).label("returns")]


_NAMES = ("orders", *[c.removeprefix("k_") for c in FLAG_COLUMNS], "working_ms", "calendar_ms", "returns")


def _counters(m: Mapping[str, Any]) -> dict[str, float | int]:
    """A rollup sum row as the counters `kpi._row` takes (times back in seconds)."""
    c: dict[str, float | int] = {k: int(v or 0) for k, v in m.items() if k not in ("working_ms", "calendar_ms", "grp")}
    c["working_s"] = int(m["working_ms"] or 0) / 1000  # PostgreSQL sums bigints as numeric
    c["calendar_s"] = int(m["calendar_ms"] or 0) / 1000
    return c


def _where(date_from: date | None, date_to: date | None, filters: Mapping[str, str]):
    t = order_kpi_day.c
    conds = []
    if date_from:
        conds.append(t.day >= date_from)
    if date_to:
        conds.append(t.day <= date_to)
    conds += [t[DIMENSIONS[k]] == v for k, v in filters.items()]
    return conds


def totals(session: Session, date_from: date | None, date_to: date | None, filters: Mapping[str, str],
           group_by: str | None = None) -> tuple[dict, list[tuple[str | None, dict]]]:
    """The counters of the selection, and per group (value, counters) when grouped (value order,
    "none" last)."""
    conds = _where(date_from, date_to, filters)
    if not group_by:
        return _counters(session.execute(select(*_aggregates()).where(*conds)).one()._mapping), []
    col = order_kpi_day.c[DIMENSIONS[group_by]]
    stmt = select(col.label("grp"), *_aggregates()).where(*conds).group_by(col).having(func.sum(order_kpi_day.c.orders) > 0)
    rows = sorted(session.execute(stmt).all(), key=lambda r: (r.grp == NONE, r.grp))
    groups = [(None if r.grp == NONE else r.grp, _counters(r._mapping)) for r in rows]
    # every row is in one group: the total is the groups' sum (one scan, not two)
    total = {k: sum(c[k] for _, c in groups) for k in _counters(dict.fromkeys(_NAMES))}
    return total, groups


def by_day(session: Session, date_from: date, date_to: date, filters: Mapping[str, str]) -> dict[date, dict]:
    """The counters of each local day in [date_from, date_to] that has orders."""
    t = order_kpi_day.c
    stmt = (select(t.day.label("grp"), *_aggregates()).where(*_where(date_from, date_to, filters))
            .group_by(t.day).having(func.sum(t.orders) > 0))
    return {r.grp: _counters(r._mapping) for r in session.execute(stmt).all()}


def stored(session: Session) -> dict[Key, tuple[int, ...]]:
    """Every non-empty rollup row (key → sums), for checks."""
    cols = [order_kpi_day.c[c] for c in (*ROLLUP_KEY, *SUMS)]
    return {tuple(r[:4]): tuple(int(x) for x in r[4:])
            for r in session.execute(select(*cols).where(order_kpi_day.c.orders != 0)).all()}

