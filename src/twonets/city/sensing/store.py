"""Storage of readings: raw (idempotent on thing, attribute, ts), minute and hour rollups, the
latest state of every thing, the quarantine; queries and retention. Batch statements only —
one round trip per table per batch — on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from twonets.city.sensing.readings import Reading, Rejected
from twonets.city.sensing.tables import latest as latest_t
from twonets.city.sensing.tables import quarantine as quarantine_t
from twonets.city.sensing.tables import reading as reading_t
from twonets.city.sensing.tables import rollup as rollup_t
from twonets.core import pages
from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg
from twonets.data.fastpath import Raw

GRAINS = ("minute", "hour")
AGGS = ("raw",) + GRAINS


def _insert(session: Session, table):
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


_INSERT_READING = ("INSERT INTO sensing_reading (thing_id, attribute, ts, value, received_at) "
                   "VALUES (:thing_id, :attribute, :ts, :value, :received_at) ON CONFLICT DO NOTHING")
_UPSERT_LATEST = ("INSERT INTO sensing_latest (thing_id, attribute, ts, value) VALUES (:thing_id, :attribute, :ts, :value) "
                  "ON CONFLICT (thing_id, attribute) DO UPDATE SET ts = excluded.ts, value = excluded.value "
                  "WHERE sensing_latest.ts < excluded.ts")
_UPSERT_ROLLUP = ("INSERT INTO sensing_rollup (thing_id, attribute, grain, bucket, n, total, min, max) "
                  "VALUES (:thing_id, :attribute, :grain, :bucket, :n, :total, :min, :max) "
                  "ON CONFLICT (thing_id, attribute, grain, bucket) DO UPDATE SET n = sensing_rollup.n + excluded.n, "
                  "total = sensing_rollup.total + excluded.total, min = {least}(sensing_rollup.min, excluded.min), "
                  "max = {greatest}(sensing_rollup.max, excluded.max)")


def in_list(values: list[str]) -> tuple[str, dict[str, str]]:
    """`:ta, :tb, …` placeholders (letters only, as the DBAPI fast path names them) and params."""
    names = ["t" + "".join(chr(97 + int(d)) for d in str(k)) for k in range(len(values))]
    return ", ".join(f":{n}" for n in names), dict(zip(names, values))


class _Stamps:
    """Timestamps as the database takes them, converted once per distinct instant."""

    def __init__(self, raw: Raw):
        self.raw, self.cache = raw, {}

    def __call__(self, ts: datetime):
        v = self.cache.get(ts)
        if v is None:
            v = self.cache[ts] = self.raw.at(ts)
        return v


def _open_transaction(session: Session) -> None:
    """pysqlite opens its transaction lazily, before the first INSERT/UPDATE/DELETE: a SAVEPOINT
    issued first would become the outer transaction, and releasing it would commit. Open the
    unit of work's transaction explicitly, so the savepoint nests inside it."""
    dbapi = session.connection().connection.dbapi_connection
    if session.get_bind().dialect.name == "sqlite" and not dbapi.in_transaction:
        dbapi.execute("BEGIN")


def store_readings(session: Session, readings: list[Reading], received_at: datetime) -> list[Reading]:
    """Insert raw readings; return only those not stored before (a redelivery returns none).

    The common case (all new) is one DBAPI executemany; when the row count says some were
    there already, the batch is redone under a savepoint with RETURNING to learn which."""
    if not readings:
        return []
    seen: dict[tuple, Reading] = {}
    for r in readings:  # the same key twice within one batch: keep the first, like the database
        seen.setdefault((r.thing_id, r.attribute, r.ts), r)
    unique = [seen[k] for k in sorted(seen)]  # one lock order for every worker: no deadlocks
    _open_transaction(session)
    savepoint = session.begin_nested()
    raw = Raw(session)
    try:
        at, rec = _Stamps(raw), raw.at(received_at)
        raw.executemany(_INSERT_READING, [{"thing_id": r.thing_id, "attribute": r.attribute, "ts": at(r.ts),
                                           "value": r.value, "received_at": rec} for r in unique])
        inserted = raw.cursor.rowcount
    finally:
        raw.close()
    if inserted == len(unique):
        savepoint.commit()
        return unique
    savepoint.rollback()
    stmt = (_insert(session, reading_t).on_conflict_do_nothing()
            .returning(reading_t.c.thing_id, reading_t.c.attribute, reading_t.c.ts))
    rows = [{"thing_id": r.thing_id, "attribute": r.attribute, "ts": r.ts, "value": r.value, "received_at": received_at}
            for r in unique]
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
    raw = Raw(session)
    try:
        at = _Stamps(raw)
        raw.executemany(_UPSERT_LATEST, [{"thing_id": r.thing_id, "attribute": r.attribute, "ts": at(r.ts),
                                          "value": r.value} for _, r in sorted(newest.items())])
    finally:
        raw.close()


def bucket(ts: datetime, grain: str) -> datetime:
    return ts.replace(second=0, microsecond=0) if grain == "minute" else ts.replace(minute=0, second=0, microsecond=0)


def update_rollups(session: Session, readings: Iterable[Reading]) -> None:
    """Fold newly stored readings into their minute and hour buckets."""
    buckets: dict[datetime, tuple[datetime, datetime]] = {}
    agg: dict[tuple, list[float]] = {}
    for r in readings:
        b = buckets.get(r.ts)
        if b is None:
            b = buckets[r.ts] = (bucket(r.ts, "minute"), bucket(r.ts, "hour"))
        for grain, start in (("minute", b[0]), ("hour", b[1])):
            key = (r.thing_id, r.attribute, grain, start)
            a = agg.get(key)
            if a is None:
                agg[key] = [1, r.value, r.value, r.value]
            else:
                a[0] += 1
                a[1] += r.value
                if r.value < a[2]:
                    a[2] = r.value
                if r.value > a[3]:
                    a[3] = r.value
    if not agg:
        return
    raw = Raw(session)
    try:
        at = _Stamps(raw)
        sql = _UPSERT_ROLLUP.format(least="min", greatest="max") if raw.dialect == "sqlite" else \
            _UPSERT_ROLLUP.format(least="least", greatest="greatest")
        raw.executemany(sql, [{"thing_id": k[0], "attribute": k[1], "grain": k[2], "bucket": at(k[3]), "n": a[0],
                               "total": a[1], "min": a[2], "max": a[3]} for k, a in sorted(agg.items())])
    finally:
        raw.close()


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
    """The latest (ts, value) of each attribute of the given things (one DBAPI query per 500)."""
    ids = list(set(thing_ids))
    out: dict[str, dict[str, tuple[datetime, float]]] = defaultdict(dict)
    raw = Raw(session)
    try:
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks, params = in_list(chunk)
            raw.execute(f"SELECT thing_id, attribute, ts, value FROM sensing_latest WHERE thing_id IN ({marks})", params)
            sqlite_text = raw.dialect == "sqlite"
            for tid, attr, ts, value in raw.cursor.fetchall():
                if sqlite_text:
                    ts = datetime.fromisoformat(ts).replace(tzinfo=UTC)
                out[tid][attr] = (ts, value)
    finally:
        raw.close()
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


CURSOR = "r"  # the kind of a readings cursor (core/pages.py): the last timestamp of the page
QUARANTINE_CURSOR = "q"


def query_readings(session: Session, thing_id: str, *, start: datetime, end: datetime, agg: str = "raw",
                   attribute: str | None = None, limit: int = 500, cursor: str | None = None) -> dict[str, Any]:
    """Readings of a thing in [start, end), oldest first: raw, or minute/hour rollups."""
    if agg not in AGGS:
        raise InvalidInput(Msg("agg is one of {aggs}", aggs=', '.join(AGGS)), errors=[{"field": "agg", "message": Msg("unknown")}])
    if end <= start:
        raise InvalidInput(Msg("`to` must be after `from`"), errors=[{"field": "to", "message": Msg("not after from")}])
    if not 1 <= limit <= 5000:
        raise InvalidInput(Msg("limit must be between 1 and 5000"), errors=[{"field": "limit", "message": Msg("out of range")}])
    after = pages.decode_time(cursor, CURSOR)
    if agg == "raw":
        t, tcol = reading_t, reading_t.c.ts
        cols = (t.c.attribute, t.c.ts, t.c.value)
        conds = [t.c.thing_id == thing_id]
    else:  # the buckets that overlap [start, end)
        start = bucket(start, agg)
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
    return {"items": items, "next": pages.encode(CURSOR, stamps[limit - 1]) if more else None, "agg": agg}


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


def list_quarantine(session: Session, *, reason: str | None = None, thing_id: str | None = None, limit: int = 50,
                    cursor: str | None = None) -> dict[str, Any]:
    """Quarantined readings, newest first, with their reasons (payloads cut to 500 characters)."""
    pages.check_limit(limit)
    q = select(quarantine_t).order_by(quarantine_t.c.id.desc()).limit(limit + 1)
    if reason:
        q = q.where(quarantine_t.c.reason == reason)
    if thing_id:
        q = q.where(quarantine_t.c.thing_id == thing_id)
    before = pages.decode_int(cursor, QUARANTINE_CURSOR)
    if before is not None:
        q = q.where(quarantine_t.c.id < before)
    rows = session.execute(q).all()
    items = [{"received_at": r.received_at.isoformat(), "source": r.source, "ref": r.ref, "thing_id": r.thing_id,
              "attribute": r.attribute, "reason": r.reason, "detail": r.detail, "payload": r.payload[:500]} for r in rows[:limit]]
    return {"items": items, "next": pages.next_cursor(rows, limit, QUARANTINE_CURSOR, lambda r: r.id)}


def quarantine_reasons(session: Session) -> dict[str, int]:
    q = select(quarantine_t.c.reason, func.count()).group_by(quarantine_t.c.reason)
    return {r: n for r, n in session.execute(q)}

