"""Storage of readings: raw (idempotent on thing, attribute, ts), minute and hour rollups, the
latest state of every thing, the quarantine; queries and retention. Batch statements only —
one round trip per table per batch — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from twonets.city.sensing.readings import Reading, Rejected
from twonets.city.sensing.tables import latest as latest_t
from twonets.city.sensing.tables import quarantine as quarantine_t
from twonets.city.sensing.tables import reading as reading_t
from twonets.city.sensing.tables import rollup as rollup_t
from twonets.core.errors import InvalidInput

GRAINS = ("minute", "hour")
AGGS = ("raw",) + GRAINS


def _insert(session: Session, table):
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def store_readings(session: Session, readings: list[Reading], received_at: datetime) -> list[Reading]:
    """Insert raw readings; return only those not stored before (a redelivery returns none)."""
    if not readings:
        return []
    stmt = (_insert(session, reading_t).on_conflict_do_nothing()
            .returning(reading_t.c.thing_id, reading_t.c.attribute, reading_t.c.ts))
    # the same key twice within one batch: keep the first, like the database would
    seen: dict[tuple, Reading] = {}
    for r in readings:
        seen.setdefault((r.thing_id, r.attribute, r.ts), r)
    rows = [{"thing_id": r.thing_id, "attribute": r.attribute, "ts": r.ts, "value": r.value, "received_at": received_at}
            for r in seen.values()]
    stored = session.execute(stmt, rows).all()
    return [seen[(t, a, ts)] for t, a, ts in stored]


def update_latest(session: Session, readings: Iterable[Reading]) -> None:
    newest: dict[tuple[str, str], Reading] = {}
    for r in readings:
        key = (r.thing_id, r.attribute)
        cur = newest.get(key)
        if cur is None or r.ts > cur.ts:
            newest[key] = r
    if not newest:
        return
    ins = _insert(session, latest_t)
    stmt = ins.on_conflict_do_update(
        index_elements=[latest_t.c.thing_id, latest_t.c.attribute],
        set_={"ts": ins.excluded.ts, "value": ins.excluded.value},
        where=latest_t.c.ts < ins.excluded.ts,
    )
    session.execute(stmt, [{"thing_id": r.thing_id, "attribute": r.attribute, "ts": r.ts, "value": r.value}
                           for r in newest.values()])


def bucket(ts: datetime, grain: str) -> datetime:
    return ts.replace(second=0, microsecond=0) if grain == "minute" else ts.replace(minute=0, second=0, microsecond=0)


def update_rollups(session: Session, readings: Iterable[Reading]) -> None:
    """Fold newly stored readings into their minute and hour buckets."""
    agg: dict[tuple, list[float]] = {}
    for r in readings:
        for grain in GRAINS:
            key = (r.thing_id, r.attribute, grain, bucket(r.ts, grain))
            a = agg.get(key)
            if a is None:
                agg[key] = [1, r.value, r.value, r.value]
            else:
                a[0] += 1
                a[1] += r.value
                a[2] = min(a[2], r.value)
                a[3] = max(a[3], r.value)
    if not agg:
        return
    ins = _insert(session, rollup_t)
    t = rollup_t.c
    stmt = ins.on_conflict_do_update(
        index_elements=[t.thing_id, t.attribute, t.grain, t.bucket],
        set_={
            "n": t.n + ins.excluded.n,
            "total": t.total + ins.excluded.total,
            "min": func.min(t.min, ins.excluded.min) if session.get_bind().dialect.name == "sqlite"
            else func.least(t.min, ins.excluded.min),
            "max": func.max(t.max, ins.excluded.max) if session.get_bind().dialect.name == "sqlite"
            else func.greatest(t.max, ins.excluded.max),
        },
    )
    session.execute(stmt, [
        {"thing_id": k[0], "attribute": k[1], "grain": k[2], "bucket": k[3], "n": a[0], "total": a[1], "min": a[2], "max": a[3]}
        for k, a in agg.items()
    ])


def quarantine(session: Session, rejected: list[Rejected], source: str, ref: str | None, received_at: datetime) -> int:
    """Keep bad readings with their reasons; a redelivered bad message is kept once."""
    if not rejected:
        return 0
    rows = {}
    for r in rejected:
        digest = r.digest(source, ref)
        rows.setdefault(digest, {
            "digest": digest, "received_at": received_at, "source": source, "ref": (ref or "")[:200] or None,
            "thing_id": (r.thing_id or "")[:80] or None, "attribute": (r.attribute or "")[:40] or None,
            "reason": r.reason, "detail": r.detail[:400], "payload": r.payload,
        })
    stmt = _insert(session, quarantine_t).on_conflict_do_nothing().returning(quarantine_t.c.id)
    return len(session.execute(stmt, list(rows.values())).all())


def latest_values(session: Session, thing_ids: Iterable[str]) -> dict[str, dict[str, tuple[datetime, float]]]:
    ids = list(set(thing_ids))
    out: dict[str, dict[str, tuple[datetime, float]]] = defaultdict(dict)
    for i in range(0, len(ids), 500):
        q = select(latest_t).where(latest_t.c.thing_id.in_(ids[i:i + 500]))
        for r in session.execute(q):
            out[r.thing_id][r.attribute] = (r.ts, r.value)
    return out


def last_seen(session: Session, thing_ids: list[str] | None = None) -> dict[str, datetime]:
    """When each thing last reported anything (from the latest-state table)."""
    q = select(latest_t.c.thing_id, func.max(latest_t.c.ts)).group_by(latest_t.c.thing_id)
    if thing_ids is not None:
        q = q.where(latest_t.c.thing_id.in_(thing_ids))
    return {t: ts for t, ts in session.execute(q)}


def last_matching(session: Session, thing_ids: list[str], attribute: str, op: str, value: float,
                  since: datetime) -> dict[str, datetime]:
    """The last time each thing reported `attribute op value`, looking back to `since`."""
    col = reading_t.c.value
    cond = {">": col > value, ">=": col >= value, "<": col < value, "<=": col <= value,
            "==": col == value, "!=": col != value}[op]
    out: dict[str, datetime] = {}
    for i in range(0, len(thing_ids), 500):
        q = (select(reading_t.c.thing_id, func.max(reading_t.c.ts))
             .where(reading_t.c.thing_id.in_(thing_ids[i:i + 500]), reading_t.c.attribute == attribute,
                    reading_t.c.ts >= since, cond)
             .group_by(reading_t.c.thing_id))
        out.update({t: ts for t, ts in session.execute(q)})
    return out


def _cursor(ts: datetime) -> str:
    return base64.urlsafe_b64encode(f"r:{ts.isoformat()}".encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> datetime:
    try:
        kind, value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":", 1)
        assert kind == "r"
        return datetime.fromisoformat(value)
    except Exception:
        raise InvalidInput("the cursor is not valid; use the `next` value of the previous page",
                           errors=[{"field": "cursor", "message": "invalid"}]) from None


def query_readings(session: Session, thing_id: str, *, start: datetime, end: datetime, agg: str = "raw",
                   attribute: str | None = None, limit: int = 500, cursor: str | None = None) -> dict[str, Any]:
    """Readings of a thing in [start, end), oldest first: raw, or minute/hour rollups."""
    if agg not in AGGS:
        raise InvalidInput(f"agg is one of {', '.join(AGGS)}", errors=[{"field": "agg", "message": "unknown"}])
    if end <= start:
        raise InvalidInput("`to` must be after `from`", errors=[{"field": "to", "message": "not after from"}])
    if not 1 <= limit <= 5000:
        raise InvalidInput("limit must be between 1 and 5000", errors=[{"field": "limit", "message": "out of range"}])
    after = _uncursor(cursor) if cursor else None
    if agg == "raw":
        t, tcol = reading_t, reading_t.c.ts
        cols = (t.c.attribute, t.c.ts, t.c.value)
        conds = [t.c.thing_id == thing_id]
    else:
        t, tcol = rollup_t, rollup_t.c.bucket
        cols = (t.c.attribute, t.c.bucket, t.c.n, t.c.total, t.c.min, t.c.max)
        conds = [t.c.thing_id == thing_id, t.c.grain == agg]
    conds += [tcol >= start, tcol < end]
    if attribute:
        conds.append(t.c.attribute == attribute)
    if after is not None:
        conds.append(tcol > after)
    # whole timestamps per page, so a cursor never splits the attributes of one instant
    stamps = session.execute(select(tcol).where(*conds).distinct().order_by(tcol).limit(limit + 1)).scalars().all()
    q = select(*cols).where(*conds)
    more = len(stamps) > limit
    if more:
        q = q.where(tcol <= stamps[limit - 1])
    rows = session.execute(q.order_by(tcol, t.c.attribute)).all()
    if agg == "raw":
        items = [{"attribute": a, "ts": ts.isoformat(), "value": v} for a, ts, v in rows]
    else:
        items = [{"attribute": a, "ts": b.isoformat(), "count": n, "mean": round(tot / n, 6), "min": lo, "max": hi}
                 for a, b, n, tot, lo, hi in rows]
    return {"items": items, "next": _cursor(stamps[limit - 1]) if more else None, "agg": agg}


def prune(session: Session, now: datetime, retention: timedelta, minute_retention: timedelta | None = None) -> dict[str, int]:
    """Drop raw readings older than the retention (and minute rollups older than theirs)."""
    raw = session.execute(delete(reading_t).where(reading_t.c.ts < now - retention)).rowcount
    minutes = 0
    if minute_retention is not None:
        minutes = session.execute(delete(rollup_t).where(rollup_t.c.grain == "minute",
                                                         rollup_t.c.bucket < now - minute_retention)).rowcount
    return {"readings": raw or 0, "minute_rollups": minutes or 0}


def counts(session: Session) -> dict[str, int]:
    return {
        "readings": session.execute(select(func.count()).select_from(reading_t)).scalar_one(),
        "quarantined": session.execute(select(func.count()).select_from(quarantine_t)).scalar_one(),
    }


def quarantine_reasons(session: Session) -> dict[str, int]:
    q = select(quarantine_t.c.reason, func.count()).group_by(quarantine_t.c.reason)
    return {r: n for r, n in session.execute(q)}

