"""The catalogue dataset `spatial` (owned by 规划 guihua, open data), served from the city's
spatial units (`area`: district, streets, communities, grids) rather than `data_record`."""

from __future__ import annotations

from typing import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.city.tables import area
from twonets.data.sources import SourceRecord

DATASET = "spatial"
_COLUMNS = {"area_code": area.c.code, "level": area.c.level, "name_zh": area.c.name_zh, "area_km2": area.c.area_km2}


def records(session: Session, ds, subject_ids: Sequence[str] | None, filters: Mapping[str, str] | None,
            limit: int) -> list[SourceRecord]:
    """One record per spatial unit, in code order; its subject is none (units are not people)."""
    q = select(*[c.label(name) for name, c in _COLUMNS.items()]).order_by(area.c.code).limit(limit)
    if subject_ids:
        q = q.where(area.c.code.in_(list(subject_ids)))
    for name, value in (filters or {}).items():
        if name in _COLUMNS:
            q = q.where(_COLUMNS[name] == str(value))
    return [SourceRecord(r.area_code, None, dict(r._mapping)) for r in session.execute(q)]
