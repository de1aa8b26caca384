"""Dataset sources: datasets whose records live in another package's tables (work orders,
applications, licences, tags, spatial units) are served from there, not from `data_record`.

Sources are registered by the composition root (`twonets.bootstrap.SOURCES`); the access
service and open data read through `source_of`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy.orm import Session

from twonets.data.models import Dataset


@dataclass(frozen=True)
class SourceRecord:
    key: str
    subject_id: str | None
    data: Mapping[str, Any]


# fn(session, dataset, subject_ids, filters, limit) -> list[SourceRecord]
Source = Callable[[Session, Dataset, Sequence[str] | None, Mapping[str, str] | None, int], list[SourceRecord]]
_sources: dict[str, Source] = {}


def register_source(code: str, fn: Source) -> None:
    """Serve dataset `code` from another package's tables instead of `data_record`."""
    _sources[code] = fn


def source_of(code: str) -> Source | None:
    """The source registered for dataset `code` (None: its records are in `data_record`)."""
    return _sources.get(code)
