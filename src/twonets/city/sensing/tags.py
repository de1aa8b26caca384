"""Business tags (业务标签): labels pushed by departmental systems on people, places,
organisations or things, with their source and validity period.

Detectors that require a tag ask `tags_for`: tags on the thing itself and on the places and
organisations it serves are read directly; tags on *people* are personal data and are read
only through the data foundation's access service (`read_records` on the `business_tags`
dataset, whose records this module serves), which checks, records and audits the purpose.
"""

from __future__ import annotations

import contextvars
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from twonets.city.sensing.tables import tag as tag_t
from twonets.city.sensing.things import ThingInfo
from twonets.core import pages
from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Forbidden, InvalidInput
from twonets.core.i18n import Msg
from twonets.data import access

DATASET = "business_tags"
PUSHERS = ("administrator", "data_officer", "department_handler", "dispatcher", "system")
# The detectors read tags on behalf of the data bureau, which owns the business_tags dataset.
DETECTOR_ACTOR = Actor(id="system:sensing", roles=frozenset({"system"}), department="shuju")
_as_of: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("tags_as_of", default=None)


class TagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tag: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    subject_kind: Literal["person", "place", "organisation", "thing"]
    subject_ref: str = Field(min_length=1, max_length=80)
    source_department: str | None = Field(default=None, max_length=40)
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @model_validator(mode="after")
    def _period(self):
        for name in ("valid_from", "valid_to"):
            v = getattr(self, name)
            if v is not None and v.tzinfo is None:
                raise ValueError(f"{name} needs a time zone")
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


def push(session: Session, actor: Actor, items: Sequence[TagIn], at: datetime | None = None) -> dict[str, int]:
    """Add or renew tags (same tag, subject and source: the validity is updated)."""
    if not actor.has(*PUSHERS):
        raise Forbidden(Msg("business tags are pushed by departmental systems and staff"))
    at = at or utcnow()
    created = updated = 0
    for i, item in enumerate(items):
        source = item.source_department or actor.department
        if not source:
            raise InvalidInput(Msg("name the source department"), errors=[{"field": f"{i}.source_department", "message": Msg("required")}])
        if actor.department and source != actor.department and not actor.has("administrator", "system"):
            raise Forbidden(Msg("you push tags for {department}, not {source}", department=actor.department, source=source))
        key = and_(tag_t.c.tag == item.tag, tag_t.c.subject_kind == item.subject_kind,
                   tag_t.c.subject_ref == item.subject_ref, tag_t.c.source_department == source)
        values = {"valid_from": item.valid_from or at, "valid_to": item.valid_to, "pushed_at": at}
        if session.execute(update(tag_t).where(key).values(**values)).rowcount:
            updated += 1
        else:
            session.execute(tag_t.insert().values(tag=item.tag, subject_kind=item.subject_kind,
                                                  subject_ref=item.subject_ref, source_department=source, **values))
            created += 1
    return {"created": created, "updated": updated}


def _valid(at: datetime):
    return and_(tag_t.c.valid_from <= at, or_(tag_t.c.valid_to.is_(None), tag_t.c.valid_to > at))


def _direct(session: Session, refs: Iterable[tuple[str, str]], wanted: set[str], at: datetime) -> dict[tuple[str, str], set[str]]:
    refs = list(set(refs))
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for i in range(0, len(refs), 400):
        chunk = refs[i:i + 400]
        q = select(tag_t.c.subject_kind, tag_t.c.subject_ref, tag_t.c.tag).where(
            tag_t.c.subject_ref.in_([r for _, r in chunk]), tag_t.c.tag.in_(sorted(wanted)),
            tag_t.c.subject_kind != "person", _valid(at))
        keys = set(chunk)
        for kind, ref, tag in session.execute(q):
            if (kind, ref) in keys:
                out[(kind, ref)].add(tag)
    return out


def _people(session: Session, refs: set[str], wanted: set[str], at: datetime, purpose: str) -> dict[str, set[str]]:
    """Tags on people, read through the access service (checked, recorded, audited)."""
    out: dict[str, set[str]] = defaultdict(set)
    people = sorted(refs)
    token = _as_of.set(at)
    try:
        for i in range(0, len(people), access.MAX_SUBJECTS):
            for tag in sorted(wanted):
                result = access.read_records(session, DETECTOR_ACTOR, DATASET, purpose,
                                             subject_ids=people[i:i + access.MAX_SUBJECTS], filters={"tag": tag},
                                             fields=["tag", "subject_kind"], limit=access.MAX_RECORDS, at=at)
                for rec in result.records:
                    if rec["data"].get("subject_kind") == "person":
                        out[rec["subject_id"]].add(rec["data"]["tag"])
    finally:
        _as_of.reset(token)
    return out


def tags_for(session: Session, things: Sequence[ThingInfo], wanted: set[str], at: datetime,
             purpose: str = "detector: required business tag check") -> dict[str, set[str]]:
    """The wanted tags each thing carries, itself or through the subjects it serves."""
    if not wanted or not things:
        return {}
    refs = [("thing", t.thing_id) for t in things]
    refs += [(k, r) for t in things for k, r in t.subjects if k != "person"]
    direct = _direct(session, refs, wanted, at)
    person_refs = {r for t in things for k, r in t.subjects if k == "person"}
    people = _people(session, person_refs, wanted, at, purpose) if person_refs else {}
    out: dict[str, set[str]] = {}
    for t in things:
        found = set(direct.get(("thing", t.thing_id), ()))
        for k, r in t.subjects:
            found |= people.get(r, set()) if k == "person" else direct.get((k, r), set())
        out[t.thing_id] = found
    return out


CURSOR = "g"  # the kind of a tags listing's cursor (core/pages.py)


def list_tags(session: Session, *, subject_ref: str | None = None, tag: str | None = None, limit: int = 100,
              cursor: str | None = None) -> dict:
    pages.check_limit(limit)
    q = select(tag_t).order_by(tag_t.c.id).limit(limit + 1)
    if subject_ref:
        q = q.where(tag_t.c.subject_ref == subject_ref)
    if tag:
        q = q.where(tag_t.c.tag == tag)
    after = pages.decode_int(cursor, CURSOR)
    if after is not None:
        q = q.where(tag_t.c.id > after)
    rows = session.execute(q).all()
    from twonets.data.masking import mask

    items = [{"tag": r.tag, "subject_kind": r.subject_kind,
              "subject_ref": mask(r.subject_ref, "partial") if r.subject_kind == "person" else r.subject_ref,
              "source_department": r.source_department, "valid_from": r.valid_from.isoformat(),
              "valid_to": r.valid_to.isoformat() if r.valid_to else None} for r in rows[:limit]]
    return {"items": items, "next": pages.next_cursor(rows, limit, CURSOR, lambda r: r.id)}


# --- the business_tags dataset of the catalogue, served from this table --------------------


def last_updated(session: Session):
    """The latest tag pushed: the dataset's freshness."""
    return session.execute(select(func.max(tag_t.c.pushed_at))).scalar()


def records(session: Session, ds, subject_ids: Sequence[str] | None, filters: Mapping[str, str] | None,
            limit: int) -> list[access.SourceRecord]:
    at = _as_of.get() or utcnow()
    q = select(tag_t).where(_valid(at)).order_by(tag_t.c.subject_ref, tag_t.c.id).limit(limit)
    if subject_ids:
        q = q.where(tag_t.c.subject_ref.in_(list(subject_ids)))
    columns = {"tag": tag_t.c.tag, "subject_kind": tag_t.c.subject_kind, "subject_ref": tag_t.c.subject_ref,
               "source_department": tag_t.c.source_department}
    for name, value in (filters or {}).items():
        if name not in columns:
            raise InvalidInput(Msg("business tags cannot be filtered by {name}", name=name))
        q = q.where(columns[name] == str(value))
    return [
        access.SourceRecord(str(r.id), r.subject_ref, {
            "tag": r.tag, "subject_kind": r.subject_kind, "subject_ref": r.subject_ref,
            "source_department": r.source_department, "at": r.pushed_at.isoformat()})
        for r in session.execute(q)
    ]

