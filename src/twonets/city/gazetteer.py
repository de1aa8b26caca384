"""The district's gazetteer: its streets and communities (the `area` table), roads and
landmarks (`definitions/gazetteer.yaml`), as the entries `twonets.ai.places` matches text
against. A landmark is placed by its point; a road by the communities named after it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.city import spatial
from twonets.city.tables import area
from twonets.core import definitions

FILE = Path(__file__).with_name("definitions") / "gazetteer.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Road(_Strict):
    name_zh: str = Field(min_length=2)
    name_en: str


class Landmark(_Strict):
    name_zh: str = Field(min_length=2)
    name_en: str
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    aliases: list[str] = Field(default_factory=list)


class GazetteerFile(_Strict):
    roads: list[Road]
    landmarks: list[Landmark]


@lru_cache(maxsize=1)
def definitions_file() -> GazetteerFile:
    return definitions.load(FILE, GazetteerFile)


def road_names() -> list[str]:
    return [r.name_zh for r in definitions_file().roads]


def areas(session: Session) -> list:
    return session.execute(select(area.c.code, area.c.level, area.c.name_zh, area.c.name_en, area.c.street_code,
                                  area.c.community_code, area.c.center_lon, area.c.center_lat)
                           .where(area.c.level.in_(("street", "community")))).all()


def locate(session: Session, lon: float, lat: float) -> spatial.Place | None:
    return spatial.locate(session, lon, lat)
