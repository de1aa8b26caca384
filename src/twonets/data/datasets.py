"""Catalogue entries: who sees and manages them, loading and searching them, creating and changing them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import String, bindparam, cast, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.core.i18n import Msg
from twonets.data import audit, sources
from twonets.data.models import DataField, Dataset, DatasetPatch, DatasetSpec
from twonets.data.tables import data_dataset, data_field

STAFF_ROLES = frozenset(
    {"grid_inspector", "dispatcher", "department_handler", "reviewer", "data_officer", "administrator", "system"}
)


def is_staff(actor: Actor | None) -> bool:
    return actor is not None and bool(actor.roles & STAFF_ROLES)


def can_manage(actor: Actor, owner_department: str) -> bool:
    """Administrators, the system, and the owner department's data officers manage an entry."""
    if actor.has("administrator", "system"):
        return True
    return actor.has("data_officer") and actor.department == owner_department


def can_write_records(actor: Actor, ds: Dataset) -> bool:
    if actor.has("system"):
        return True
    return actor.has("data_officer", "department_handler") and actor.department == ds.owner_department


# --- loading ------------------------------------------------------------------------------


def _fields_of(session: Session, dataset_ids: list[int]) -> dict[int, tuple[DataField, ...]]:
    out: dict[int, list[DataField]] = {i: [] for i in dataset_ids}
    if not dataset_ids:
        return {}
    rows = session.execute(
        select(data_field).where(data_field.c.dataset_id.in_(dataset_ids)).order_by(data_field.c.dataset_id, data_field.c.position)
    )
    for r in rows:
        out[r.dataset_id].append(DataField(r.name, r.title, r.type, r.sensitivity, r.mask, r.generalise))
    return {k: tuple(v) for k, v in out.items()}


def _dataset(row, fields: tuple[DataField, ...]) -> Dataset:
    return Dataset(
        id=row.id,
        code=row.code,
        name_zh=row.name_zh,
        name_en=row.name_en,
        owner_department=row.owner_department,
        description=row.description,
        kind=row.kind,
        keywords=list(row.keywords or []),
        update_frequency=row.update_frequency,
        last_updated_at=row.last_updated_at,
        sharing_class=row.sharing_class,
        open_data=bool(row.open_data),
        created_at=row.created_at,
        updated_at=row.updated_at,
        fields=fields,
    )


_BY_CODE = select(data_dataset).where(data_dataset.c.code == bindparam("code"))
# Schemas by (database, dataset id, updated_at): every schema change bumps updated_at, so a
# hit is always current. Bounded: cleared when it grows past a few thousand entries.
_field_cache: dict[tuple[str, int, datetime], tuple[DataField, ...]] = {}


def load(session: Session, code: str) -> Dataset:
    """A dataset by code, whoever asks (service-internal; callers check visibility)."""
    row = session.execute(_BY_CODE, {"code": code}).first()
    if row is None:
        raise NotFound(Msg("no dataset {code!r} in the catalogue", code=code))
    return dataset_from_row(session, row)


def dataset_from_row(session: Session, row) -> Dataset:
    """A Dataset from a data_dataset row, its schema from the cache when current."""
    key = (str(session.get_bind().url), row.id, row.updated_at)
    fields = _field_cache.get(key)
    if fields is None:
        fields = _fields_of(session, [row.id]).get(row.id, ())
        if len(_field_cache) > 4096:
            _field_cache.clear()
        _field_cache[key] = fields
    return _dataset(row, fields)


def _fresh(session: Session, ds: Dataset) -> Dataset:
    """The entry with its freshness taken from its source's tables where they live elsewhere."""
    at = sources.last_updated(session, ds.code, ds.last_updated_at)
    return ds if at == ds.last_updated_at else replace(ds, last_updated_at=at)


def get(session: Session, actor: Actor | None, code: str) -> Dataset:
    """A catalogue entry as `actor` may see it: staff see every entry, others only open data."""
    ds = load(session, code)
    if not ds.open_data and not is_staff(actor):
        raise NotFound(Msg("no dataset {code!r} in the catalogue", code=code))
    return _fresh(session, ds)


def search(
    session: Session,
    actor: Actor | None,
    *,
    q: str | None = None,
    owner: str | None = None,
    sharing_class: str | None = None,
    open_data: bool | None = None,
    stale: bool | None = None,
    kind: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    now: datetime | None = None,
) -> tuple[list[Dataset], str | None]:
    """Entries in code order; `cursor` is the last code of the previous page."""
    now = now or utcnow()
    stmt = select(data_dataset).order_by(data_dataset.c.code)
    if not is_staff(actor):
        stmt = stmt.where(data_dataset.c.open_data.is_(True))
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(
            or_(
                data_dataset.c.code.ilike(like),
                data_dataset.c.name_zh.ilike(like),
                data_dataset.c.name_en.ilike(like),
                data_dataset.c.description.ilike(like),
                cast(data_dataset.c.keywords, String).ilike(like),
            )
        )
    if owner:
        stmt = stmt.where(data_dataset.c.owner_department == owner)
    if sharing_class:
        stmt = stmt.where(data_dataset.c.sharing_class == sharing_class)
    if open_data is not None:
        stmt = stmt.where(data_dataset.c.open_data.is_(open_data))
    if kind:
        stmt = stmt.where(data_dataset.c.kind == kind)
    if cursor:
        stmt = stmt.where(data_dataset.c.code > cursor)
    rows = list(session.execute(stmt))
    fields = _fields_of(session, [r.id for r in rows])
    items = [_fresh(session, _dataset(r, fields.get(r.id, ()))) for r in rows]
    if stale is not None:
        items = [d for d in items if d.is_stale(now) == stale]
    page = items[:limit]
    nxt = page[-1].code if len(items) > limit else None
    return page, nxt


# --- writing ------------------------------------------------------------------------------


def _insert_fields(session: Session, dataset_id: int, fields) -> None:
    session.execute(
        insert(data_field),
        [
            {
                "dataset_id": dataset_id,
                "position": i,
                "name": f.name,
                "title": f.title,
                "type": f.type,
                "sensitivity": f.sensitivity,
                "mask": f.effective_mask,
                "generalise": f.generalise,
            }
            for i, f in enumerate(fields)
        ],
    )


def create(session: Session, actor: Actor, spec: DatasetSpec, *, at: datetime | None = None) -> Dataset:
    if not can_manage(actor, spec.owner_department):
        raise Forbidden(Msg("only administrators and the owner department's data officers add catalogue entries"))
    at = at or utcnow()
    if session.execute(select(data_dataset.c.id).where(data_dataset.c.code == spec.code)).first() is not None:
        raise Conflict(Msg("dataset {code!r} already exists", code=spec.code))
    dataset_id = session.execute(
        insert(data_dataset)
        .values(
            code=spec.code,
            name_zh=spec.name_zh,
            name_en=spec.name_en,
            owner_department=spec.owner_department,
            description=spec.description,
            kind=spec.kind,
            keywords=spec.keywords,
            update_frequency=spec.update_frequency,
            last_updated_at=None,
            sharing_class=spec.sharing_class,
            open_data=spec.open_data,
            created_at=at,
            updated_at=at,
        )
        .returning(data_dataset.c.id)
    ).scalar_one()
    _insert_fields(session, dataset_id, spec.fields)
    audit.append(session, "admin", actor, "dataset.create", spec.code, {"owner": spec.owner_department}, at=at)
    return load(session, spec.code)


def update_entry(session: Session, actor: Actor, code: str, patch: DatasetPatch, *, at: datetime | None = None) -> Dataset:
    ds = get(session, actor, code)
    if not can_manage(actor, ds.owner_department):
        raise Forbidden(Msg("only administrators and the owner department's data officers change this entry"))
    at = at or utcnow()
    values = patch.model_dump(exclude_unset=True, exclude={"fields"})
    values = {k: v for k, v in values.items() if v is not None}
    sharing = values.get("sharing_class", ds.sharing_class)
    if values.get("open_data", ds.open_data) and sharing == "not_shared":
        raise InvalidInput(Msg("an open dataset cannot be 'not_shared'"), errors=[{"field": "open_data", "message": Msg("conflicts with sharing_class")}])
    values["updated_at"] = at
    session.execute(update(data_dataset).where(data_dataset.c.id == ds.id).values(**values))
    changed = sorted(k for k in values if k != "updated_at")
    if patch.fields is not None:
        names = [f.name for f in patch.fields]
        if len(set(names)) != len(names):
            raise InvalidInput(Msg("duplicate field names"), errors=[{"field": "fields", "message": Msg("duplicate names")}])
        session.execute(delete(data_field).where(data_field.c.dataset_id == ds.id))
        _insert_fields(session, ds.id, patch.fields)
        changed.append("fields")
    audit.append(session, "admin", actor, "dataset.update", code, {"changed": changed}, at=at)
    return load(session, code)


def mark_updated(session: Session, actor: Actor, code: str, at: datetime | None = None) -> Dataset:
    ds = load(session, code)
    if not can_write_records(actor, ds):
        raise Forbidden(Msg("only the owner department records an update of its dataset"))
    at = at or utcnow()
    session.execute(update(data_dataset).where(data_dataset.c.id == ds.id).values(last_updated_at=at))
    return load(session, code)
