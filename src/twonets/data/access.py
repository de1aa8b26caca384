"""The access service: every read of shared data goes through `read_records`.

It checks the grant (the owner department reads its own data without one), returns only the
granted fields, masks personal fields unless an unmasked read is granted and asked for, and
records the access in the audit chain and in the per-subject access log that answers a
citizen's "who used my data".

**Purpose limitation.** A read under a grant states a meaningful purpose (`purpose.check_purpose`),
and that purpose must match a purpose the grant was given for (`purpose.purpose_matches`): the
read's purpose contains the granted purpose in full (compared without case, spaces or
punctuation; the particulars of the case may be added, e.g. "核验敬老卡持有人享受公园优惠：东门入园"),
or it cites the same law as the grant, a title in 《…》 named in the grant's purpose (its legal basis). "随便看看" matches
nothing: the read is refused (`PurposeMismatch`, 403 naming the granted purposes) and the
refusal is recorded in the audit chain (`read.refused`; adapters commit it). The owner
department reading its own data needs no grant; its purpose is recorded all the same.

Datasets whose records live elsewhere (work orders, applications…) plug in a source with
`register_source(code, fn)` (`data/sources.py`); the default source is the `data_record` table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Forbidden, InvalidInput, NotFound
from twonets.core.i18n import Msg
from twonets.data import audit, catalogue
from twonets.data.fastpath import Raw
from twonets.data.masking import mask
from twonets.data.models import Dataset, _iso
from twonets.data.purpose import check_purpose, purpose_matches
from twonets.data.sources import Source, SourceRecord, register_source, source_of  # noqa: F401  (part of the access API)
from twonets.data.tables import data_access, data_dataset, data_grant, data_record

ACCESS_ROLES = frozenset({"grid_inspector", "dispatcher", "department_handler", "reviewer", "data_officer", "system"})
MAX_SUBJECTS = 200
MAX_RECORDS = 1000




_BY_SUBJECTS = (
    select(data_record.c.record_key, data_record.c.subject_id, data_record.c.data)
    .where(data_record.c.dataset_id == bindparam("dataset_id"), data_record.c.subject_id.in_(bindparam("subjects", expanding=True)))
    .order_by(data_record.c.subject_id, data_record.c.record_key)  # served by the index
    .limit(bindparam("limit"))
)
_BY_SUBJECT = (
    select(data_record.c.record_key, data_record.c.subject_id, data_record.c.data)
    .where(data_record.c.dataset_id == bindparam("dataset_id"), data_record.c.subject_id == bindparam("subject"))
    .order_by(data_record.c.subject_id, data_record.c.record_key)  # served by the index
    .limit(bindparam("limit"))
)
ACCESS_SQL = (
    "INSERT INTO data_access (audit_seq, at, subject_id, dataset_code, actor, department, purpose, matter, fields, unmasked) "
    "VALUES (:audit_seq, :at, :subject_id, :dataset_code, :actor, :department, :purpose, :matter, :fields, :unmasked)"
)
# The dataset and the reader department's active grants on it, in one round trip.
_G = data_grant
_DATASET_AND_GRANTS = (
    select(
        data_dataset,
        _G.c.public_id.label("grant_id"),
        _G.c.fields.label("grant_fields"),
        _G.c.unmasked.label("grant_unmasked"),
        _G.c.purpose.label("grant_purpose"),
    )
    .select_from(
        data_dataset.outerjoin(
            _G,
            and_(
                _G.c.dataset_id == data_dataset.c.id,
                _G.c.department == bindparam("department"),
                _G.c.revoked_at.is_(None),
                _G.c.valid_from <= bindparam("now", type_=_G.c.valid_from.type),
                _G.c.expires_at > bindparam("now", type_=_G.c.expires_at.type),
            ),
        )
    )
    .where(data_dataset.c.code == bindparam("code"))
    .order_by(_G.c.public_id)
)


class PurposeMismatch(Forbidden):
    """A read whose purpose matches none of the grants' purposes. The refusal is already in the
    audit chain (in the caller's unit of work): an adapter commits before answering 403."""


def record_table_source(
    session: Session | Connection, ds: Dataset, subject_ids: Sequence[str] | None, filters: Mapping[str, str] | None, limit: int
) -> list[SourceRecord]:
    if subject_ids and not filters:  # the hot path: prebuilt statements
        if len(subject_ids) == 1:
            rows = session.execute(_BY_SUBJECT, {"dataset_id": ds.id, "subject": subject_ids[0], "limit": limit})
        else:
            rows = session.execute(_BY_SUBJECTS, {"dataset_id": ds.id, "subjects": list(subject_ids), "limit": limit})
        return [SourceRecord(k, s, d) for k, s, d in rows]
    stmt = select(data_record.c.record_key, data_record.c.subject_id, data_record.c.data).where(
        data_record.c.dataset_id == ds.id
    )
    if subject_ids:
        stmt = stmt.where(data_record.c.subject_id.in_(list(subject_ids)))
    for name, value in (filters or {}).items():
        stmt = stmt.where(data_record.c.data[name].as_string() == str(value))
    stmt = stmt.order_by(data_record.c.record_key).limit(limit)
    return [SourceRecord(k, s, d) for k, s, d in session.execute(stmt)]


@dataclass
class ReadResult:
    dataset: str
    fields: list[str]
    masked_fields: list[str]
    unmasked: bool
    records: list[dict[str, Any]]
    audit_seq: int
    grants: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "fields": self.fields,
            "masked_fields": self.masked_fields,
            "unmasked": self.unmasked,
            "items": self.records,
            "audit_seq": self.audit_seq,
            "grants": self.grants,
        }


def read_records(
    session: Session,
    actor: Actor,
    dataset: str,
    purpose: str,
    subject_ids: Sequence[str] | None = None,
    filters: Mapping[str, Any] | None = None,
    fields: Sequence[str] | None = None,
    unmasked: bool = False,
    matter: str | None = None,
    *,
    limit: int = 100,
    at: datetime | None = None,
) -> ReadResult:
    """Read records of `dataset` for `purpose`, checked, minimised, masked and recorded.

    - the actor needs a department and a staff role; its department must own the dataset or
      hold an active grant covering every field asked for (and `unmasked` if asked);
    - `fields` defaults to everything the grant covers; `filters` (equality, as strings) may
      only name fields the actor may read; either `subject_ids` or `filters` is required;
    - personal fields come masked (e.g. 3101**********1234) unless `unmasked=True` is granted;
    - one audit entry per read, and one access-log row per subject touched.
    """
    at = at or utcnow()
    if not actor.has(*ACCESS_ROLES) or not actor.department:
        raise Forbidden(Msg("only department staff read shared data, on behalf of their department"))
    purpose = check_purpose(purpose)
    subject_ids = [str(s) for s in (subject_ids or [])]
    filters = {str(k): v for k, v in (filters or {}).items()}
    if not subject_ids and not filters:
        raise InvalidInput(
            Msg("name the subjects or filter the records: whole-dataset reads are not offered"),
            errors=[{"field": "subject_ids", "message": Msg("subject_ids or filters required")}],
        )
    if len(subject_ids) > MAX_SUBJECTS:
        raise InvalidInput(Msg("at most {most} subjects per read", most=MAX_SUBJECTS), errors=[{"field": "subject_ids", "message": Msg("too many")}])
    limit = max(1, min(int(limit), MAX_RECORDS))

    conn = session.connection()  # the hot path runs on the unit of work's connection directly
    rows = conn.execute(_DATASET_AND_GRANTS, {"code": dataset, "department": actor.department, "now": at}).all()
    if not rows:
        raise NotFound(Msg("no dataset {dataset!r} in the catalogue", dataset=dataset))
    ds = catalogue.dataset_from_row(session, rows[0])
    grants = [(r.grant_id, list(r.grant_fields), bool(r.grant_unmasked)) for r in rows if r.grant_id is not None]
    purposes = {r.grant_id: r.grant_purpose for r in rows if r.grant_id is not None}
    fmap = ds.field_map()
    wanted = list(fields) if fields else None
    if wanted is not None:
        unknown = [f for f in wanted if f not in fmap]
        if unknown:
            raise InvalidInput(
                Msg("dataset {code} has no field(s) {unknown}", code=ds.code, unknown=', '.join(unknown)),
                errors=[{"field": "fields", "message": Msg("unknown: {unknown}", unknown=', '.join(unknown))}],
            )
    bad_filters = [f for f in filters if f not in fmap]
    if bad_filters:
        raise InvalidInput(
            Msg("dataset {code} has no field(s) {bad_filters}", code=ds.code, bad_filters=', '.join(bad_filters)),
            errors=[{"field": "filters", "message": Msg("unknown: {bad_filters}", bad_filters=', '.join(bad_filters))}],
        )

    grant_ids: list[str] = []
    if actor.department == ds.owner_department:
        allowed = set(fmap)
        may_unmask = True
    else:
        if not grants:
            raise Forbidden(Msg("your department holds no active grant on {code}; request it first", code=ds.code))
        grants = [g for g in grants if purpose_matches(purpose, purposes[g[0]])] or _refuse_purpose(
            conn, actor, ds.code, purpose, matter, purposes, at)
        allowed = set().union(*(set(g[1]) for g in grants))
        need = set(wanted or allowed) | set(filters)
        covering = [g for g in grants if need <= set(g[1])] or grants
        may_unmask = any(g[2] and need <= set(g[1]) for g in grants)
        grant_ids = [g[0] for g in covering]
    if wanted is None:
        wanted = [f.name for f in ds.fields if f.name in allowed]
    outside = [f for f in list(wanted) + list(filters) if f not in allowed]
    if outside:
        raise Forbidden(Msg("your grant on {code} does not cover field(s) {fields}", code=ds.code, fields=', '.join(sorted(set(outside)))))
    if unmasked and not may_unmask:
        raise Forbidden(Msg("your grant on {code} does not allow unmasked reads", code=ds.code))

    source = source_of(ds.code)
    if source is None:
        rows = record_table_source(conn, ds, subject_ids or None, filters or None, limit)
    else:
        rows = source(session, ds, subject_ids or None, filters or None, limit)

    masks = {name: (None if unmasked else fmap[name].mask) for name in wanted if fmap[name].personal}
    masked_fields = [n for n, m in masks.items() if m]
    out: list[dict[str, Any]] = []
    subjects: list[str] = []
    seen: set[str] = set()
    for r in rows:
        data = r.data or {}
        values = {}
        for name in wanted:
            v = data.get(name)
            m = masks.get(name)
            values[name] = mask(v, m) if m else v
        out.append({"key": r.key, "subject_id": r.subject_id, "data": values})
        if r.subject_id and r.subject_id not in seen:
            seen.add(r.subject_id)
            subjects.append(r.subject_id)

    entry = audit.append(
        session,  # a Session (not its connection), so that a checkpoint it signs is anchored after commit
        "access",
        actor,
        "read.unmasked" if unmasked else "read",
        ds.code,
        {
            "department": actor.department,
            "purpose": purpose,
            "matter": matter,
            "fields": wanted,
            "unmasked": bool(unmasked),
            "subjects": subjects,
            "asked_subjects": subject_ids,
            "filters": sorted(filters),
            "records": len(out),
            "grants": grant_ids,
        },
        at=at,
    )
    if subjects:
        raw = Raw(conn)
        try:
            stamp, fields_json = raw.at(at), raw.json(wanted)
            raw.executemany(
                ACCESS_SQL,
                [
                    {
                        "audit_seq": entry.seq, "at": stamp, "subject_id": s, "dataset_code": ds.code,
                        "actor": actor.label, "department": actor.department, "purpose": purpose,
                        "matter": matter, "fields": fields_json, "unmasked": bool(unmasked),
                    }
                    for s in subjects
                ],
            )
        finally:
            raw.close()
    return ReadResult(ds.code, list(wanted), masked_fields, bool(unmasked), out, entry.seq, grant_ids)


def _refuse_purpose(conn, actor: Actor, dataset: str, purpose: str, matter: str | None,
                    purposes: dict[str, str], at: datetime) -> list:
    granted = sorted(set(purposes.values()))
    audit.append(conn, "access", actor, "read.refused", dataset, {
        "department": actor.department, "purpose": purpose, "matter": matter, "reason": "purpose not granted",
        "grants": sorted(purposes), "granted_purposes": granted,
    }, at=at)
    shown = "; ".join(f"“{p[:200]}”" for p in granted)
    raise PurposeMismatch(
        Msg("the purpose “{purpose}” is not one your department's grant on {dataset} was given for; state the granted purpose ({shown}) or its legal basis, or request a grant for this purpose", purpose=purpose[:200], dataset=dataset, shown=shown),
        errors=[{"field": "purpose", "message": Msg("not a granted purpose")}],
    )


# --- who used my data ---------------------------------------------------------------------


def my_accesses(
    session: Session, actor: Actor, *, limit: int = 50, cursor: int | None = None, subject_id: str | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """Every access to the citizen's records: when, which department, purpose, matter, fields."""
    subject = subject_id
    if subject is None:
        raise Forbidden(Msg("your account is not linked to a person; there is no data of yours to show"))
    stmt = (
        select(data_access, data_dataset.c.name_zh, data_dataset.c.name_en)
        .join(data_dataset, data_dataset.c.code == data_access.c.dataset_code, isouter=True)
        .where(data_access.c.subject_id == subject)
        .order_by(data_access.c.id.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        stmt = stmt.where(data_access.c.id < cursor)
    rows = list(session.execute(stmt))
    items = [
        {
            "at": _iso(r.at),
            "department": r.department,
            "dataset": r.dataset_code,
            "dataset_name_zh": r.name_zh,
            "dataset_name_en": r.name_en,
            "purpose": r.purpose,
            "matter": r.matter,
            "fields": list(r.fields),
            "unmasked": bool(r.unmasked),
            "audit_seq": r.audit_seq,
        }
        for r in rows[:limit]
    ]
    nxt = rows[limit - 1].id if len(rows) > limit else None
    return items, nxt


def count_accesses(session: Session, subject_id: str) -> int:
    return session.execute(select(func.count()).select_from(data_access).where(data_access.c.subject_id == subject_id)).scalar_one()
