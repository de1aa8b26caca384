"""The public-data catalogue: every dataset in the system, its schema and sensitivity,
freshness, sharing class and open-data flag; search, DCAT-AP export, open-data rows.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import String, bindparam, cast, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import SYSTEM, Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.data import audit
from twonets.data.masking import generalise
from twonets.data.models import DataField, Dataset, DatasetPatch, DatasetSpec
from twonets.data.tables import data_dataset, data_field, data_record

DEFINITIONS = Path(__file__).with_name("definitions") / "catalogue.yaml"

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
        raise NotFound(f"no dataset {code!r} in the catalogue")
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


def get(session: Session, actor: Actor | None, code: str) -> Dataset:
    """A catalogue entry as `actor` may see it: staff see every entry, others only open data."""
    ds = load(session, code)
    if not ds.open_data and not is_staff(actor):
        raise NotFound(f"no dataset {code!r} in the catalogue")
    return ds


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
    items = [_dataset(r, fields.get(r.id, ())) for r in rows]
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
        raise Forbidden("only administrators and the owner department's data officers add catalogue entries")
    at = at or utcnow()
    if session.execute(select(data_dataset.c.id).where(data_dataset.c.code == spec.code)).first() is not None:
        raise Conflict(f"dataset {spec.code!r} already exists")
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
        raise Forbidden("only administrators and the owner department's data officers change this entry")
    at = at or utcnow()
    values = patch.model_dump(exclude_unset=True, exclude={"fields"})
    values = {k: v for k, v in values.items() if v is not None}
    sharing = values.get("sharing_class", ds.sharing_class)
    if values.get("open_data", ds.open_data) and sharing == "not_shared":
        raise InvalidInput("an open dataset cannot be 'not_shared'", errors=[{"field": "open_data", "message": "conflicts with sharing_class"}])
    values["updated_at"] = at
    session.execute(update(data_dataset).where(data_dataset.c.id == ds.id).values(**values))
    changed = sorted(k for k in values if k != "updated_at")
    if patch.fields is not None:
        names = [f.name for f in patch.fields]
        if len(set(names)) != len(names):
            raise InvalidInput("duplicate field names", errors=[{"field": "fields", "message": "duplicate names"}])
        session.execute(delete(data_field).where(data_field.c.dataset_id == ds.id))
        _insert_fields(session, ds.id, patch.fields)
        changed.append("fields")
    audit.append(session, "admin", actor, "dataset.update", code, {"changed": changed}, at=at)
    return load(session, code)


def mark_updated(session: Session, actor: Actor, code: str, at: datetime | None = None) -> Dataset:
    ds = load(session, code)
    if not can_write_records(actor, ds):
        raise Forbidden("only the owner department records an update of its dataset")
    at = at or utcnow()
    session.execute(update(data_dataset).where(data_dataset.c.id == ds.id).values(last_updated_at=at))
    return load(session, code)


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=120)
    subject_id: str | None = Field(default=None, max_length=80)
    data: dict[str, Any]


def upsert_records(
    session: Session, actor: Actor, code: str, records: Iterable[RecordIn | dict], *, at: datetime | None = None
) -> int:
    """Add or replace records of a dataset the data foundation holds; marks it updated."""
    ds = load(session, code)
    if not can_write_records(actor, ds):
        raise Forbidden("only the owner department writes records of its dataset")
    at = at or utcnow()
    known = ds.field_map()
    items: list[RecordIn] = []
    errors: list[dict[str, str]] = []
    for i, rec in enumerate(records):
        try:
            item = rec if isinstance(rec, RecordIn) else RecordIn.model_validate(rec)
        except ValidationError as exc:
            errors.extend({"field": f"records.{i}." + ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors())
            continue
        unknown = sorted(set(item.data) - set(known))
        if unknown:
            errors.append({"field": f"records.{i}.data", "message": f"unknown fields: {', '.join(unknown)}"})
        items.append(item)
    if errors:
        raise InvalidInput(f"{len(errors)} record(s) do not match the schema of {code}", errors=errors[:50])
    keys = [r.key for r in items]
    if len(set(keys)) != len(keys):
        raise InvalidInput("duplicate record keys in one batch")
    existing: set[str] = set()
    for chunk_start in range(0, len(keys), 500):
        chunk = keys[chunk_start : chunk_start + 500]
        existing.update(
            session.execute(
                select(data_record.c.record_key).where(data_record.c.dataset_id == ds.id, data_record.c.record_key.in_(chunk))
            ).scalars()
        )
    new = [
        {"dataset_id": ds.id, "record_key": r.key, "subject_id": r.subject_id, "data": r.data, "updated_at": at}
        for r in items
        if r.key not in existing
    ]
    if new:
        session.execute(insert(data_record), new)
    for r in items:
        if r.key in existing:
            session.execute(
                update(data_record)
                .where(data_record.c.dataset_id == ds.id, data_record.c.record_key == r.key)
                .values(subject_id=r.subject_id, data=r.data, updated_at=at)
            )
    session.execute(update(data_dataset).where(data_dataset.c.id == ds.id).values(last_updated_at=at))
    return len(items)


# --- definitions --------------------------------------------------------------------------


class CatalogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    datasets: list[DatasetSpec]


class DefinitionError(ValueError):
    """A bad definition: names the file, line and reason."""


def read_definitions(path: Path = DEFINITIONS) -> list[DatasetSpec]:
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text) or {}
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise DefinitionError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return CatalogueFile.model_validate(raw).datasets
    except ValidationError as exc:
        err = exc.errors()[0]
        line = _line_of(node, err["loc"])
        where = ".".join(map(str, err["loc"]))
        raise DefinitionError(f"{path}:{line}: {where}: {err['msg']}") from exc


def _line_of(node, loc: tuple) -> int:
    """1-based line of the deepest node reachable along `loc`."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if node is None:
            break
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == part:
                    nxt = v
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def sync_definitions(session: Session, path: Path = DEFINITIONS, *, at: datetime | None = None) -> dict[str, int]:
    """Create the catalogue entries named in the definitions file that do not exist yet and
    refresh the schema of those that do (the database keeps freshness and edits made since)."""
    specs = read_definitions(path)
    created = updated = 0
    for spec in specs:
        row = session.execute(select(data_dataset.c.id).where(data_dataset.c.code == spec.code)).first()
        if row is None:
            create(session, SYSTEM, spec, at=at)
            created += 1
        else:
            current = load(session, spec.code)
            wanted = tuple(
                DataField(f.name, f.title, f.type, f.sensitivity, f.effective_mask, f.generalise) for f in spec.fields
            )
            if current.fields != wanted:
                update_entry(session, SYSTEM, spec.code, DatasetPatch(fields=spec.fields), at=at)
                updated += 1
    return {"created": created, "updated": updated, "total": len(specs)}


# --- open data ----------------------------------------------------------------------------


def open_columns(ds: Dataset) -> list[tuple[DataField, Callable[[Any], Any]]]:
    """The columns published as open data: public fields as they are, personal fields with a
    generalisation rule generalised, every other field (internal, personal, sensitive) removed."""
    out: list[tuple[DataField, Callable[[Any], Any]]] = []
    for f in ds.fields:
        if f.sensitivity == "public":
            out.append((f, lambda v: v))
        elif f.sensitivity == "personal" and f.generalise:
            out.append((f, lambda v, rule=f.generalise: generalise(v, rule)))
    return out


def open_rows(session: Session, code: str, batch: int = 2000) -> tuple[Dataset, list[str], Iterator[list[Any]]]:
    ds = load(session, code)
    if not ds.open_data:
        raise NotFound(f"dataset {code!r} is not open data")
    cols = open_columns(ds)

    def rows() -> Iterator[list[Any]]:
        stmt = (
            select(data_record.c.data)
            .where(data_record.c.dataset_id == ds.id)
            .order_by(data_record.c.record_key)
            .execution_options(yield_per=batch)
        )
        for (data,) in session.execute(stmt):
            yield [fn((data or {}).get(f.name)) for f, fn in cols]

    return ds, [f.name for f, _ in cols], rows()


# --- DCAT-AP ------------------------------------------------------------------------------

FREQ_URI = "http://publications.europa.eu/resource/authority/frequency/"
FREQ = {
    "realtime": "UPDATE_CONT",
    "hourly": "HOURLY",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "yearly": "ANNUAL",
    "irregular": "IRREG",
}
ACCESS_URI = "http://publications.europa.eu/resource/authority/access-right/"
ACCESS = {"unconditional": "PUBLIC", "conditional": "RESTRICTED", "not_shared": "NON_PUBLIC"}

DCAT_CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "twonets": "urn:twonets:",
}


def dcat(datasets: list[Dataset], base_url: str, now: datetime | None = None) -> dict[str, Any]:
    """The catalogue as DCAT-AP JSON-LD; open datasets carry CSV distributions."""
    now = now or utcnow()
    base = base_url.rstrip("/")

    def lit(value: str, lang: str) -> dict[str, str]:
        return {"@value": value, "@language": lang}

    out = []
    for d in datasets:
        entry: dict[str, Any] = {
            "@id": f"{base}/api/v1/catalogue/{d.code}",
            "@type": "dcat:Dataset",
            "dct:identifier": d.code,
            "dct:title": [lit(d.name_zh, "zh"), lit(d.name_en, "en")],
            "dct:description": lit(d.description, "zh") if d.description else None,
            "dct:publisher": {"@type": "foaf:Organization", "@id": f"urn:twonets:department:{d.owner_department}", "foaf:name": d.owner_department},
            "dct:accrualPeriodicity": {"@id": FREQ_URI + FREQ[d.update_frequency]},
            "dct:accessRights": {"@id": ACCESS_URI + ("PUBLIC" if d.open_data else ACCESS[d.sharing_class])},
            "dcat:keyword": list(d.keywords),
            "dct:issued": {"@value": audit.ts(d.created_at), "@type": "xsd:dateTime"},
            "twonets:sharingClass": d.sharing_class,
            "twonets:stale": d.is_stale(now),
        }
        if d.last_updated_at is not None:
            entry["dct:modified"] = {"@value": audit.ts(d.last_updated_at), "@type": "xsd:dateTime"}
        if d.open_data:
            entry["dcat:distribution"] = [
                {
                    "@type": "dcat:Distribution",
                    "dct:title": f"{d.name_en} (CSV)",
                    "dcat:downloadURL": {"@id": f"{base}/api/v1/catalogue/{d.code}/download.csv"},
                    "dcat:mediaType": {"@id": "http://www.iana.org/assignments/media-types/text/csv"},
                    "dct:format": {"@id": "http://publications.europa.eu/resource/authority/file-type/CSV"},
                    "dct:license": {"@id": "http://creativecommons.org/licenses/by/4.0/"},
                }
            ]
        out.append({k: v for k, v in entry.items() if v is not None})
    return {
        "@context": DCAT_CONTEXT,
        "@id": f"{base}/api/v1/catalogue.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": [lit("公共数据目录", "zh"), lit("Public data catalogue", "en")],
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": "District Data Bureau"},
        "dct:modified": {"@value": audit.ts(now), "@type": "xsd:dateTime"},
        "dcat:dataset": out,
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
