"""Dataset sources: datasets whose records live in another package's tables (work orders,
applications, licences, tags, spatial units) are served from there, not from `data_record`.

Sources are registered by the composition root (`twonets.bootstrap.SOURCES`, and
`LAST_UPDATED` where the table knows when its records changed). The access service and open
data read through `source_of`; the catalogue takes a dataset's freshness (`last_updated_at`)
from the later of its own record (`mark_updated`) and the latest change in those tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from twonets.data.models import Dataset


@dataclass(frozen=True)
class SourceRecord:
    key: str
    subject_id: str | None
    data: Mapping[str, Any]


# fn(session, dataset, subject_ids, filters, limit) -> list[SourceRecord]
Source = Callable[[Session, Dataset, Sequence[str] | None, Mapping[str, str] | None, int], list[SourceRecord]]
# fn(session) -> the latest change of the dataset's records, or None
LastUpdated = Callable[[Session], datetime | None]

_sources: dict[str, Source] = {}
_last_updated: dict[str, LastUpdated] = {}


def register_source(code: str, fn: Source, last_updated: LastUpdated | None = None) -> None:
    """Serve dataset `code` from another package's tables instead of `data_record`."""
    _sources[code] = fn
    if last_updated is not None:
        _last_updated[code] = last_updated


def source_of(code: str) -> Source | None:
    """The source registered for dataset `code` (None: its records are in `data_record`)."""
    return _sources.get(code)


def last_updated(session: Session, code: str, recorded: datetime | None) -> datetime | None:
    """The later of the catalogue's `recorded` time and the latest change in the source's tables."""
    fn = _last_updated.get(code)
    seen = fn(session) if fn is not None else None
    if seen is None or (recorded is not None and recorded >= seen):
        return recorded
    return seen
