"""Life events (人生大事): the matters a citizen meets at one moment of life, as data
(`definitions/life_events.yaml`), so that a portal lists "having a baby" rather than a
department's registration. Every matter an event names must be written out in full."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from twonets.core import definitions
from twonets.govservices import matters

FILE = Path(__file__).with_name("definitions") / "life_events.yaml"


class LifeEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    icon: str = Field(default="", pattern=r"^[a-z_]*$")
    matters: tuple[str, ...] = Field(min_length=1)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    events: tuple[LifeEvent, ...]


def load(path: Path = FILE) -> tuple[LifeEvent, ...]:
    """The life events; a bad file (or a code that is no written-out matter) names file and reason."""
    events = definitions.load(path, _File).events
    known = {m.code for m in matters.written_out()}
    seen: set[str] = set()
    for e in events:
        if e.code in seen:
            raise definitions.DefinitionError(path, None, f"duplicate life event {e.code}")
        seen.add(e.code)
        for code in e.matters:
            if code not in known:
                raise definitions.DefinitionError(path, None, f"{e.code}: {code} is not a written-out matter")
    return events


@lru_cache(maxsize=1)
def events() -> tuple[LifeEvent, ...]:
    return load()


def get(code: str) -> LifeEvent | None:
    return next((e for e in events() if e.code == code), None)
