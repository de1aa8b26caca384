"""The registry of things: NGSI-LD-like entities with a type, a location and what they serve.

Adapters call `register`, `get_thing` and `list_things`. The ingestion pipeline looks things
up through a `ThingCache` (one per engine), reloaded when an unknown id shows up.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from twonets.city import spatial
from twonets.city.sensing.definitions import catalog
from twonets.city.sensing.tables import latest as latest_t
from twonets.city.sensing.tables import thing as thing_t
from twonets.core import pages
from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Forbidden, InvalidInput, NotFound
from twonets.core.i18n import Msg
from twonets.data.masking import mask

REGISTRARS = ("administrator", "data_officer", "dispatcher", "system")
THING_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$"


class Subject(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["person", "place", "organisation"]
    ref: str = Field(min_length=1, max_length=80)


class ThingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    thing_id: str = Field(pattern=THING_ID)
    type: str
    name: str = Field(min_length=1, max_length=200)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    owner_department: str | None = Field(default=None, max_length=40)
    expected_interval_s: float | None = Field(default=None, gt=0)
    subjects: list[Subject] = Field(default_factory=list, max_length=20)


@dataclass(frozen=True)
class ThingInfo:
    thing_id: str
    type: str
    name: str
    lon: float | None
    lat: float | None
    grid_code: str | None
    street_code: str | None
    owner_department: str | None
    expected_interval_s: float
    subjects: tuple[tuple[str, str], ...]
    registered_at: datetime

    def as_dict(self, *, latest: dict[str, Any] | None = None) -> dict[str, Any]:
        """NGSI-LD-like: id and type, a GeoJSON location, attributes; person refs masked."""
        ttype = catalog().thing_type(self.type)
        out: dict[str, Any] = {
            "id": self.thing_id,
            "urn": f"urn:ngsi-ld:{self.type}:{self.thing_id}",
            "type": self.type,
            "type_name_zh": ttype.name_zh if ttype else None,
            "type_name_en": ttype.name_en if ttype else None,
            "name": self.name,
            "location": None if self.lon is None else {"type": "Point", "coordinates": [self.lon, self.lat]},
            "grid_code": self.grid_code,
            "street_code": self.street_code,
            "owner_department": self.owner_department,
            "expected_interval_s": self.expected_interval_s,
            "subjects": [{"kind": k, "ref": mask(r, "partial") if k == "person" else r} for k, r in self.subjects],
            "registered_at": self.registered_at.isoformat(),
        }
        if latest is not None:
            out["latest"] = latest
        return out


def _info(row) -> ThingInfo:
    ttype = catalog().thing_type(row.type)
    interval = row.expected_interval_s or (ttype.expected_interval if ttype else 300.0)
    subjects = tuple((s["kind"], s["ref"]) for s in (row.subjects or []))
    return ThingInfo(row.thing_id, row.type, row.name, row.lon, row.lat, row.grid_code, row.street_code,
                     row.owner_department, interval, subjects, row.registered_at)


def register(session: Session, actor: Actor, items: list[ThingIn], at: datetime | None = None) -> list[ThingInfo]:
    """Add things, or update the ones already registered (same thing_id)."""
    if not actor.has(*REGISTRARS):
        raise Forbidden(Msg("only administrators, data officers and dispatchers register things"))
    at = at or utcnow()
    cat = catalog()
    for i, item in enumerate(items):
        if cat.thing_type(item.type) is None:
            raise InvalidInput(Msg("unknown thing type {type!r}; known: {types}", type=item.type, types=', '.join(sorted(cat.types))),
                               errors=[{"field": f"{i}.type", "message": Msg("unknown thing type")}])
        if (item.lon is None) != (item.lat is None):
            raise InvalidInput(Msg("give both lon and lat, or neither"), errors=[{"field": f"{i}.lon", "message": Msg("incomplete")}])
    existing = set(session.execute(select(thing_t.c.thing_id).where(
        thing_t.c.thing_id.in_([t.thing_id for t in items]))).scalars()) if items else set()
    index = spatial.grid_index(session) if any(t.lon is not None for t in items) else None
    new_rows = []
    for item in items:
        place = index.locate(item.lon, item.lat) if index is not None and item.lon is not None else None
        values = dict(type=item.type, name=item.name, lon=item.lon, lat=item.lat,
                      grid_code=place.grid_code if place else None, street_code=place.street_code if place else None,
                      owner_department=item.owner_department, expected_interval_s=item.expected_interval_s,
                      subjects=[s.model_dump() for s in item.subjects])
        if item.thing_id in existing:
            session.execute(update(thing_t).where(thing_t.c.thing_id == item.thing_id).values(**values))
        else:
            new_rows.append(dict(values, thing_id=item.thing_id, registered_at=at))
    if new_rows:
        session.execute(insert(thing_t), new_rows)
    rows = session.execute(select(thing_t).where(thing_t.c.thing_id.in_([t.thing_id for t in items]))).all()
    cache_for(session.get_bind()).invalidate()
    return [_info(r) for r in rows]


def latest_of(session: Session, thing_id: str) -> dict[str, Any]:
    rows = session.execute(select(latest_t).where(latest_t.c.thing_id == thing_id)).all()
    return {r.attribute: {"value": r.value, "ts": r.ts.isoformat()} for r in rows}


def get_thing(session: Session, thing_id: str) -> dict[str, Any]:
    row = session.execute(select(thing_t).where(thing_t.c.thing_id == thing_id)).first()
    if row is None:
        raise NotFound(Msg("no thing {thing_id}", thing_id=thing_id))
    return _info(row).as_dict(latest=latest_of(session, thing_id))


CURSOR = "t"  # the kind of a things listing's cursor (core/pages.py)


def list_things(session: Session, *, type: str | None = None, street_code: str | None = None,
                grid_code: str | None = None, limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
    pages.check_limit(limit)
    q = select(thing_t).order_by(thing_t.c.id).limit(limit + 1)
    for col, value in (("type", type), ("street_code", street_code), ("grid_code", grid_code)):
        if value is not None:
            q = q.where(thing_t.c[col] == value)
    after = pages.decode_int(cursor, CURSOR)
    if after is not None:
        q = q.where(thing_t.c.id > after)
    rows = session.execute(q).all()
    return pages.page(rows, limit, CURSOR, lambda r: r.id, lambda r: _info(r).as_dict()).as_dict()


def all_things(session: Session, types: list[str] | None = None) -> list[ThingInfo]:
    q = select(thing_t)
    if types is not None:
        q = q.where(thing_t.c.type.in_(types))
    return [_info(r) for r in session.execute(q)]


class ThingCache:
    """The registry in memory for the hot path. Ids it does not know are looked up at once
    (a thing registered a moment ago by another process is found); the whole registry is
    reloaded every `refresh_s` to pick up changes."""

    def __init__(self, refresh_s: float = 60.0):
        self.things: dict[str, ThingInfo] = {}
        self.loaded_at = 0.0
        self.refresh_s = refresh_s
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        self.loaded_at = 0.0

    def reload(self, session: Session) -> None:
        with self._lock:
            self.things = {t.thing_id: t for t in all_things(session)}
            self.loaded_at = time.monotonic()

    def lookup(self, session: Session, ids: set[str]) -> dict[str, ThingInfo]:
        """The known things among `ids`."""
        if self.loaded_at == 0.0 or time.monotonic() - self.loaded_at >= self.refresh_s:
            self.reload(session)
        missing = [i for i in ids if i not in self.things]
        if missing:
            for k in range(0, len(missing), 500):
                rows = session.execute(select(thing_t).where(thing_t.c.thing_id.in_(missing[k:k + 500]))).all()
                with self._lock:
                    self.things.update({r.thing_id: _info(r) for r in rows})
        return {i: self.things[i] for i in ids if i in self.things}


_caches: weakref.WeakKeyDictionary[Engine, ThingCache] = weakref.WeakKeyDictionary()


def cache_for(bind) -> ThingCache:
    engine = getattr(bind, "engine", bind)
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = ThingCache()
    return cache
