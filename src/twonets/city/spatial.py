"""District → streets → communities → grids as polygons; a point finds its grid by
point-in-polygon over an STRtree index. GeoJSON in and out.

GeoJSON out follows RFC 7946: every exterior ring counter-clockwise and every hole clockwise
(the right-hand rule of §3.1.6), whatever the orientation of the stored or imported rings;
the API serves it as `application/geo+json` (`GEOJSON_MEDIA_TYPE`).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from twonets.city.tables import area
from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg

LEVELS = ("district", "street", "community", "grid")
GEOJSON_MEDIA_TYPE = "application/geo+json"
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Place:
    grid_code: str
    community_code: str | None
    street_code: str | None


class GridIndex:
    def __init__(self, rows: list[Any]):
        self.codes = [r.code for r in rows]
        self.places = [Place(r.code, r.community_code, r.street_code) for r in rows]
        self.geoms = [shape(r.geometry) for r in rows]
        self.tree = shapely.STRtree(self.geoms) if self.geoms else None
        self.by_code = {p.grid_code: p for p in self.places}

    def locate(self, lon: float, lat: float) -> Place | None:
        if self.tree is None:
            return None
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        return self.places[int(min(hits))] if len(hits) else None


_cache: dict[str, tuple[float, GridIndex]] = {}
_lock = threading.Lock()
# Another process may replace the map (twonets demo, PUT /areas): re-read it at most this often.
INDEX_TTL_S = 30.0


def _key(session: Session) -> str:
    return str(session.get_bind().url)


def grid_index(session: Session) -> GridIndex:
    """The grid index for this database: rebuilt when this process replaces the map, and
    re-read every INDEX_TTL_S seconds in case another process did."""
    key = _key(session)
    now = time.monotonic()
    with _lock:
        cached = _cache.get(key)
        if cached and now - cached[0] < INDEX_TTL_S:
            return cached[1]
    rows = session.execute(select(area).where(area.c.level == "grid")).all()
    index = GridIndex(rows)
    with _lock:
        _cache[key] = (now, index)
    return index


def locate(session: Session, lon: float, lat: float) -> Place | None:
    return grid_index(session).locate(lon, lat)


def place_of_grid(session: Session, grid_code: str) -> Place:
    place = grid_index(session).by_code.get(grid_code)
    if place is None:
        raise InvalidInput(Msg("Unknown grid {grid_code!r}. See GET /api/v1/grids.", grid_code=grid_code),
                           errors=[{"field": "grid_code", "message": Msg("unknown grid")}])
    return place


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def bbox_around(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def area_km2(geom) -> float:
    """Area of a lon/lat polygon in km², by a local equirectangular projection (fine at district scale)."""
    lat0 = geom.centroid.y
    kx = math.cos(math.radians(lat0)) * math.pi / 180 * EARTH_RADIUS_M / 1000
    ky = math.pi / 180 * EARTH_RADIUS_M / 1000
    return shapely.transform(geom, lambda c: c * [kx, ky]).area


def area_row(code: str, level: str, name_zh: str, name_en: str, geom, *, parent: str | None = None,
             street: str | None = None, community: str | None = None) -> dict[str, Any]:
    if level not in LEVELS:
        raise InvalidInput(Msg("level must be one of {levels}", levels=', '.join(LEVELS)))
    c = geom.centroid
    return dict(code=code, level=level, parent_code=parent, street_code=street, community_code=community,
                name_zh=name_zh, name_en=name_en, geometry=rfc7946_geometry(geom), center_lon=c.x, center_lat=c.y,
                area_km2=area_km2(geom))


def rfc7946_geometry(geom) -> dict[str, Any]:
    """GeoJSON of a (multi)polygon by the right-hand rule: exteriors counter-clockwise, holes clockwise."""
    if not hasattr(geom, "geom_type"):
        geom = shape(geom)
    return mapping(shapely.orient_polygons(geom, exterior_cw=False))


def replace_areas(session: Session, rows: list[dict[str, Any]]) -> int:
    session.execute(delete(area))
    for i in range(0, len(rows), 500):
        session.execute(insert(area), rows[i:i + 500])
    _cache.pop(_key(session), None)
    return len(rows)


def feature_collection(session: Session, level: str, parent: str | None = None) -> dict[str, Any]:
    if level not in LEVELS:
        raise InvalidInput(Msg("level must be one of {levels}", levels=', '.join(LEVELS)),
                           errors=[{"field": "level", "message": Msg("invalid choice")}])
    q = select(area).where(area.c.level == level)
    if parent:
        q = q.where(area.c.parent_code == parent)
    features = [
        {
            "type": "Feature",
            "id": r.code,
            # Rows stored before the right-hand rule was applied are oriented on the way out.
            "geometry": rfc7946_geometry(r.geometry),
            "properties": {"code": r.code, "level": r.level, "name_zh": r.name_zh, "name_en": r.name_en,
                           "parent": r.parent_code, "street": r.street_code, "community": r.community_code,
                           "area_km2": round(r.area_km2, 4)},
        }
        for r in session.execute(q.order_by(area.c.code)).all()
    ]
    return {"type": "FeatureCollection", "features": features}


def import_geojson(session: Session, collection: dict[str, Any]) -> int:
    """Replace the spatial hierarchy from a GeoJSON FeatureCollection (properties as exported)."""
    if collection.get("type") != "FeatureCollection" or not isinstance(collection.get("features"), list):
        raise InvalidInput(Msg("Expected a GeoJSON FeatureCollection."))
    rows = []
    for i, f in enumerate(collection["features"]):
        p = f.get("properties") or {}
        try:
            geom = shape(f["geometry"])
        except Exception as exc:
            raise InvalidInput(Msg("feature {i}: invalid geometry ({exc})", i=i, exc=exc),
                               errors=[{"field": f"features.{i}.geometry", "message": str(exc)}]) from None
        if not geom.is_valid:
            raise InvalidInput(Msg("feature {i}: geometry is not valid ({reason})", i=i, reason=shapely.is_valid_reason(geom)))
        rows.append(area_row(p.get("code") or f.get("id"), p.get("level"), p.get("name_zh", ""), p.get("name_en", ""),
                             geom, parent=p.get("parent"), street=p.get("street"), community=p.get("community")))
    return replace_areas(session, rows)


# --- the `spatial` dataset of the catalogue, served from the area table ---------------------

SPATIAL_DATASET = "spatial"
_DATASET_COLUMNS = {"area_code": area.c.code, "level": area.c.level, "name_zh": area.c.name_zh, "area_km2": area.c.area_km2}


def records(session: Session, ds, subject_ids, filters, limit: int) -> list:
    """Records of `spatial`: one per spatial unit (no data subject: areas are not people)."""
    from twonets.data.sources import SourceRecord

    if subject_ids:
        return []
    q = select(*[c.label(name) for name, c in _DATASET_COLUMNS.items()])
    for name, value in (filters or {}).items():
        if name in _DATASET_COLUMNS:
            q = q.where(_DATASET_COLUMNS[name] == str(value))
    rows = session.execute(q.order_by(area.c.code).limit(limit)).all()
    return [SourceRecord(r.area_code, None, {**r._mapping, "area_km2": round(r.area_km2, 4)}) for r in rows]
