"""Records of the datasets the data foundation holds: checked against the schema, added or replaced in batches."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Forbidden, InvalidInput
from twonets.core.i18n import Msg
from twonets.core.validation_messages import message as validation_message
from twonets.data.datasets import can_write_records, load
from twonets.data.tables import data_dataset, data_record


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
        raise Forbidden(Msg("only the owner department writes records of its dataset"))
    at = at or utcnow()
    known = ds.field_map()
    items: list[RecordIn] = []
    errors: list[dict[str, str]] = []
    for i, rec in enumerate(records):
        try:
            item = rec if isinstance(rec, RecordIn) else RecordIn.model_validate(rec)
        except ValidationError as exc:
            errors.extend({"field": f"records.{i}." + ".".join(map(str, e["loc"])), "message": validation_message(e)}
                          for e in exc.errors())
            continue
        unknown = sorted(set(item.data) - set(known))
        if unknown:
            errors.append({"field": f"records.{i}.data", "message": Msg("unknown fields: {fields}", fields=", ".join(unknown))})
        items.append(item)
    if errors:
        raise InvalidInput(Msg("{count} record(s) do not match the schema of {code}", count=len(errors), code=code), errors=errors[:50])
    keys = [r.key for r in items]
    if len(set(keys)) != len(keys):
        raise InvalidInput(Msg("duplicate record keys in one batch"))
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


def count_records(session: Session, code: str) -> int:
    """How many records the dataset `code` holds (0 for a dataset with none; NotFound if unknown)."""
    ds = load(session, code)
    return session.execute(select(func.count()).select_from(data_record).where(data_record.c.dataset_id == ds.id)).scalar_one()
