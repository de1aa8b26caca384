"""Events of the data foundation, published after the unit of work commits (`core.events`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from twonets.core.events import DomainEvent


@dataclass(frozen=True)
class RecordsChanged(DomainEvent):
    """Records of a dataset held by the data foundation were added or replaced (a registry update).

    `subjects` are the subject ids the batch touched, `added` the keys that were new. Only ids
    travel: a listener that needs the data reads it through the access service, for its purpose.
    """

    topic: ClassVar[str] = "data.records"
    dataset: str
    subjects: tuple[str, ...]
    added: tuple[str, ...]
    replaced: tuple[str, ...]
    at: str  # ISO 8601
