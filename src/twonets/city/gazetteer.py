"""The district's gazetteer: its streets and communities (the `area` table), roads and
landmarks (`definitions/gazetteer.yaml`), as the entries `twonets.ai.places` matches text
against. A landmark is placed by its point; a road by the communities named after it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.ai import places
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
    outside: list[str] = Field(default_factory=list)


@lru_cache(maxsize=1)
def definitions_file() -> GazetteerFile:
    return definitions.load(FILE, GazetteerFile)


def road_names() -> list[str]:
    return [r.name_zh for r in definitions_file().roads]


def areas(session: Session) -> list:
    return session.execute(select(area.c.code, area.c.level, area.c.name_zh, area.c.name_en, area.c.street_code,
                                  area.c.community_code, area.c.center_lon, area.c.center_lat)
                           .where(area.c.level.in_(("street", "community")))).all()


COMMUNITY_SUFFIX = "居民区"


def _community_aliases(name: str) -> tuple[str, ...]:
    base = name.removesuffix(COMMUNITY_SUFFIX)
    return (f"{base}居委会", f"{base}居委", f"{base}社区") if base != name else ()


def _street_aliases(name: str) -> tuple[str, ...]:
    return (f"{name}办事处", f"{name}办") if name.endswith("街道") else ()


_cache: dict[str, tuple[int, places.Gazetteer]] = {}


def cached(session: Session) -> places.Gazetteer:
    """The gazetteer of this database, rebuilt when the grid index is (the map was replaced)."""
    key = str(session.get_bind().url)
    index = spatial.grid_index(session)
    hit = _cache.get(key)
    if hit and hit[0] == id(index):
        return hit[1]
    built = build(session)
    _cache[key] = (id(index), built)
    return built


def place_of_text(session: Session, *texts: str | None) -> spatial.Place | None:
    """The grid a demand's address (or, failing that, its description) names, if it names one."""
    g = cached(session)
    for text in texts:
        if text:
            r = g.resolve(text)
            if r.status == "placed" and r.grid_code:
                return spatial.grid_index(session).by_code.get(r.grid_code)
    return None


def build(session: Session) -> places.Gazetteer:
    """The gazetteer of the district in this database, for `twonets.ai.places`."""
    index = spatial.grid_index(session)
    rows = areas(session)
    entries: list[places.Entry] = []
    communities = []
    for r in rows:
        here = index.locate(r.center_lon, r.center_lat)
        grid = here.grid_code if here and here.community_code == (r.code if r.level == "community" else here.community_code) else None
        if r.level == "street":
            entries.append(places.Entry(r.name_zh, "street", _street_aliases(r.name_zh), street_code=r.code))
        else:
            communities.append((r.name_zh, r.code, r.street_code, grid))
            entries.append(places.Entry(r.name_zh, "community", _community_aliases(r.name_zh), street_code=r.street_code,
                                        community_code=r.code, grid_code=grid))
    defs = definitions_file()
    for road in defs.roads:
        along = tuple((code, street, grid) for name, code, street, grid in communities if name.startswith(road.name_zh))
        if along:  # a road no community is named after cannot be placed: it is not in the gazetteer
            entries.append(places.Entry(road.name_zh, "road", communities=along))
    for mark in defs.landmarks:
        here = index.locate(mark.lon, mark.lat)
        if here is None:
            entries.append(places.Entry(mark.name_zh, "outside", tuple(mark.aliases)))
        else:
            entries.append(places.Entry(mark.name_zh, "landmark", tuple(mark.aliases), street_code=here.street_code,
                                        community_code=here.community_code, grid_code=here.grid_code))
    entries += [places.Entry(name, "outside") for name in defs.outside]
    return places.Gazetteer(entries)
