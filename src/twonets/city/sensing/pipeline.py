"""The one ingestion pipeline every path goes through (MQTT, HTTP, files):

    split → validate → quarantine the bad (with reasons) → store raw (idempotent) →
    rollups + latest state → detectors on the readings that were new → alarms → work orders

`ingest` runs inside the caller's unit of work: the caller commits (and only then acks the
MQTT messages), so a crash before the commit loses nothing and a redelivery stores nothing
twice. `run_absence` is the timer's half of detection (absence rules).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from twonets.city.events import ReadingsIngested
from twonets.city.sensing import alarms, store
from twonets.city.sensing import detectors as engine
from twonets.city.sensing.config import sensing_settings
from twonets.city.sensing.definitions import Catalog, Detector, catalog
from twonets.city.sensing.detectors import IDLE, State
from twonets.city.sensing.readings import Item, Reading, Rejected, split, validate
from twonets.city.sensing.tables import detector_state as state_t
from twonets.city.sensing.tags import tags_for
from twonets.city.sensing.things import ThingInfo, all_things, cache_for
from twonets.core.calendar import utcnow
from twonets.core.events import queue as queue_event
from twonets.data.fastpath import Raw


@dataclass
class IngestResult:
    received: int = 0  # readings offered (valid or not)
    stored: int = 0  # new raw readings
    duplicates: int = 0  # valid but already stored (redelivery)
    rejected: int = 0  # invalid readings
    quarantined: int = 0  # new quarantine rows (a redelivered bad message adds none)
    fired: int = 0
    repeated: int = 0
    cleared: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, other: IngestResult) -> None:
        for name in ("received", "stored", "duplicates", "rejected", "quarantined", "fired", "repeated", "cleared"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for k, v in other.reasons.items():
            self.reasons[k] = self.reasons.get(k, 0) + v

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Message:
    payload: bytes | str
    topic_thing: str | None = None  # the thing named by the MQTT topic
    ref: str | None = None  # topic, file, gateway: where it came from (quarantine digest)
    ndjson: bool = False


def ingest(session: Session, messages: Sequence[Message], *, source: str, received_at: datetime | None = None,
           detect: bool = True, cat: Catalog | None = None) -> IngestResult:
    """Validate, store and evaluate a batch of messages in the caller's unit of work."""
    received_at = received_at or utcnow()
    items: list[Item] = []
    bad: list[tuple[Rejected, str | None]] = []
    for m in messages:
        its, rej = split(m.payload, m.topic_thing, m.ndjson, m.ref)
        items.extend(its)
        bad.extend((r, m.ref) for r in rej)
    return ingest_items(session, items, bad, source=source, received_at=received_at, detect=detect, cat=cat)


def ingest_items(session: Session, items: list[Item], bad: list[tuple[Rejected, str | None]], *, source: str,
                 received_at: datetime, detect: bool = True, cat: Catalog | None = None, ref: str | None = None) -> IngestResult:
    cat = cat or catalog()
    cfg = sensing_settings()
    ids = {i.thing_id for i in items if isinstance(i.thing_id, str)}
    things = cache_for(session.get_bind()).lookup(session, ids)
    good, rejected = validate(items, things, cat, received_at, cfg.max_age)
    result = IngestResult(received=len(items) + len(bad), rejected=len(rejected) + len(bad))
    all_bad = [(r, r.ref or ref) for r in rejected] + bad
    by_ref: dict[str | None, list[Rejected]] = defaultdict(list)
    for r, where in all_bad:
        by_ref[where].append(r)
        result.reasons[r.reason] = result.reasons.get(r.reason, 0) + 1
    for where, rs in by_ref.items():
        result.quarantined += store.quarantine(session, rs, source, where, received_at)
    new = store.store_readings(session, good, received_at)
    result.stored = len(new)
    result.duplicates = len(good) - len(new)
    if new:
        if detect:
            evaluate(session, new, things, cat, result)
        store.update_latest(session, new)
        store.update_rollups(session, new)
    if new or result.quarantined:  # counted for /metrics once the unit of work commits
        lag = max(0.0, (received_at - max(r.ts for r in new)).total_seconds()) if new else None
        queue_event(session, ReadingsIngested(source, len(new), result.quarantined, lag))
    return result


# --- detector state persistence ----------------------------------------------------------------


def load_states(session: Session, thing_ids: Iterable[str] | None = None, detector: str | None = None
                ) -> dict[tuple[str, str], State]:
    out: dict[tuple[str, str], State] = {}
    if thing_ids is None:
        q = select(state_t) if detector is None else select(state_t).where(state_t.c.detector == detector)
        for r in session.execute(q):
            out[(r.detector, r.thing_id)] = State(r.pending_since, r.active, r.alarm_id, r.last_fired_at)
        return out
    ids = list(thing_ids)
    raw = Raw(session)
    conv = (lambda v: None if v is None else datetime.fromisoformat(v).replace(tzinfo=UTC)) \
        if raw.dialect == "sqlite" else (lambda v: v)
    try:
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            marks, params = store.in_list(chunk)
            raw.execute("SELECT detector, thing_id, pending_since, active, alarm_id, last_fired_at "
                        f"FROM sensing_detector_state WHERE thing_id IN ({marks})", params)
            for det, tid, pending, active, alarm_id, fired in raw.cursor.fetchall():
                if detector is None or det == detector:
                    out[(det, tid)] = State(conv(pending), bool(active), alarm_id, conv(fired))
    finally:
        raw.close()
    return out


def save_states(session: Session, changed: dict[tuple[str, str], State]) -> None:
    if not changed:
        return
    ins = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(state_t)
    stmt = ins.on_conflict_do_update(
        index_elements=[state_t.c.detector, state_t.c.thing_id],
        set_={c: ins.excluded[c] for c in ("pending_since", "active", "alarm_id", "last_fired_at")},
    )
    session.execute(stmt, [
        {"detector": d, "thing_id": t, "pending_since": s.pending_since, "active": s.active, "alarm_id": s.alarm_id,
         "last_fired_at": s.last_fired_at}
        for (d, t), s in changed.items()
    ])


# --- per-reading evaluation ---------------------------------------------------------------------


def _apply(session: Session, det: Detector, thing: ThingInfo, state: State, action: str | None, at: datetime,
           values: dict[str, float], result: IngestResult, detail: str | None = None) -> State:
    if action == "fire" or action == "repeat":
        state = alarms.fire(session, det, thing, state, at, values, repeat=action == "repeat", detail=detail)
        if action == "fire":
            result.fired += 1
        else:
            result.repeated += 1
    elif action == "clear":
        state = alarms.clear(session, det, thing, state, at, values)
        result.cleared += 1
    return state


def _relevant(by_thing, things: dict[str, ThingInfo], cat: Catalog) -> dict[str, list[Detector]]:
    """Which condition detectors each thing's readings in this batch touch."""
    relevant: dict[str, list[Detector]] = {}
    chosen: dict[tuple[str, frozenset], list[Detector]] = {}
    for tid, stamps in by_thing.items():
        attrs = frozenset(a for vals in stamps.values() for a in vals)
        key = (things[tid].type, attrs)
        dets = chosen.get(key)
        if dets is None:
            dets = chosen[key] = [d for d in cat.by_type.get(key[0], ()) if d.kind == "condition" and d.watched & attrs]
        if dets:
            relevant[tid] = dets
    return relevant


def _quiet(dets: list[Detector], stamps: dict[datetime, dict[str, float]]) -> bool:
    """A dry run from the idle state on this batch's values alone: True when nothing could
    change (every attribute a detector needs is in the readings, and it stays idle). Such a
    thing needs neither its stored values nor its tags; that is most things, most of the time."""
    values: dict[str, float] = {}
    for at in sorted(stamps):
        values.update(stamps[at])
        for det in dets:
            if not det.needs <= values.keys():
                return False
            state, action = engine.step(det, IDLE, values, at, True)
            if action or state is not IDLE:
                return False
    return True


def evaluate(session: Session, readings: list[Reading], things: dict[str, ThingInfo], cat: Catalog,
             result: IngestResult) -> None:
    """Run the detectors over newly stored readings, thing by thing, instant by instant."""
    by_thing: dict[str, dict[datetime, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in readings:
        by_thing[r.thing_id][r.ts][r.attribute] = r.value
    states = load_states(session, by_thing)
    with_state = {t for (_, t) in states}
    relevant = {tid: dets for tid, dets in _relevant(by_thing, things, cat).items()
                if tid in with_state or not _quiet(dets, by_thing[tid])}
    work = set(relevant) | with_state
    if not work:
        return
    current = store.latest_values(session, work)
    wanted = {t for dets in relevant.values() for d in dets for t in d.required_tags}
    need_tags = [things[tid] for tid, dets in relevant.items() if any(d.required_tags for d in dets)]
    tags = tags_for(session, need_tags, wanted, max(r.ts for r in readings)) if need_tags else {}
    changed: dict[tuple[str, str], State] = {}
    for tid in work:
        stamps = by_thing[tid]
        thing = things[tid]
        dets = relevant.get(tid, ())
        known = current.get(tid, {})
        values = {a: v for a, (_, v) in known.items()}
        absent = [(d, states[(d.code, tid)]) for d in cat.by_type.get(thing.type, ())
                  if d.kind == "absence" and (d.code, tid) in states and states[(d.code, tid)].active]
        for at in sorted(stamps):
            vals = stamps[at]
            if any(a in known and known[a][0] > at for a in vals):
                continue  # a late reading: stored as history, but the present is already known
            values.update(vals)
            for det in dets:
                if not det.watched & vals.keys():
                    continue
                key = (det.code, tid)
                before = states.get(key, IDLE)
                tagged = all(t in tags.get(tid, ()) for t in det.required_tags)
                state, action = engine.step(det, before, values, at, tagged)
                state = _apply(session, det, thing, state, action, at, values, result)
                if state != before:
                    states[key] = changed[key] = state
            for i, (det, st) in enumerate(absent):
                if st.active:
                    state, action = engine.observe_absence(det, st, vals)
                    if action:
                        state = _apply(session, det, thing, state, action, at, values, result)
                        absent[i] = (det, state)
                        states[(det.code, tid)] = changed[(det.code, tid)] = state
    save_states(session, changed)


# --- the absence timer ------------------------------------------------------------------------


def run_absence(session: Session, now: datetime | None = None, cat: Catalog | None = None) -> IngestResult:
    """Fire absence rules ("no reading for 3 intervals", "no water use for 24 h") due at `now`."""
    now = now or utcnow()
    cat = cat or catalog()
    result = IngestResult()
    for det in (d for d in cat.detectors.values() if d.kind == "absence"):
        types = list(cat.types) if det.thing_type == "*" else [det.thing_type]
        things = all_things(session, types)
        if not things:
            continue
        states = load_states(session, detector=det.code)
        ids = [t.thing_id for t in things if not states.get((det.code, t.thing_id), IDLE).active]
        if det.absent.when is None:
            seen = store.last_seen(session, ids if len(ids) <= 1000 else None)  # big registries: one scan
        else:
            c = det.absent.when
            longest = max(det.absent.limit_s(t.expected_interval_s) for t in things)
            seen = store.last_matching(session, ids, c.attribute, c.op, c.value, now - timedelta(seconds=2 * longest))
        due: list[ThingInfo] = []
        for t in things:
            if t.thing_id not in ids:
                continue
            last = max(seen.get(t.thing_id, t.registered_at), t.registered_at)
            if now - last >= timedelta(seconds=det.absent.limit_s(t.expected_interval_s)):
                due.append(t)
        if not due:
            continue
        tags = tags_for(session, due, set(det.required_tags), now,
                        purpose=f"detector {det.code}: required business tag check") if det.required_tags else {}
        changed: dict[tuple[str, str], State] = {}
        for t in due:
            key = (det.code, t.thing_id)
            tagged = all(tag in tags.get(t.thing_id, ()) for tag in det.required_tags)
            last = max(seen.get(t.thing_id, t.registered_at), t.registered_at)
            before = states.get(key, IDLE)
            state, action = engine.absence_due(det, before, last, now, t.expected_interval_s, tagged)
            if action:
                detail = f"no matching reading since {last.isoformat()}"
                state = _apply(session, det, t, state, action, now, {}, result, detail=detail)
                changed[key] = state
        save_states(session, changed)
    return result
