"""Datasets whose records live in another package's tables (work orders, applications, the
spatial units…): the package registers how to read them, and, where the table knows it, when
they last changed (`register_source`, wired by `twonets.bootstrap`).

The access service reads such records through `source`; the open-data CSV publishes their rows;
the catalogue takes their freshness (`last_updated_at`) from the latest change in those tables,
or from the catalogue's own record (`mark_updated`), whichever is later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class SourceRecord:
    key: str
    subject_id: str | None
    data: Mapping[str, Any]


# fn(session, dataset, subject_ids, filters, limit) -> list[SourceRecord]
Source = Callable[[Session, Any, Sequence[str] | None, Mapping[str, str] | None, int], list[SourceRecord]]
# fn(session) -> the latest change of the dataset's records, or None
LastUpdated = Callable[[Session], datetime | None]

_sources: dict[str, Source] = {}
_last_updated: dict[str, LastUpdated] = {}


def register_source(code: str, fn: Source, last_updated: LastUpdated | None = None) -> None:
    """Serve dataset `code` from another package's tables instead of `data_record`."""
    _sources[code] = fn
    if last_updated is not None:
        _last_updated[code] = last_updated


def source(code: str) -> Source | None:
    return _sources.get(code)


def last_updated(session: Session, code: str, recorded: datetime | None) -> datetime | None:
    """The later of the catalogue's `recorded` time and the latest change in the source's tables."""
    fn = _last_updated.get(code)
    seen = fn(session) if fn is not None else None
    if seen is None or (recorded is not None and recorded >= seen):
        return recorded
    return seen
