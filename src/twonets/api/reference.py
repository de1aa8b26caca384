"""Reference data over HTTP: departments, categories, spatial units (GeoJSON), routing rules."""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from twonets.api.auth import current_actor
from twonets.api.deps import get_session
from twonets.city import routing, spatial
from twonets.city.models import RoutingRule, RoutingRuleIn
from twonets.city.reference import reference
from twonets.core.actor import Actor
from twonets.core.errors import Forbidden
from twonets.core.i18n import Msg

router = APIRouter(prefix="/api/v1", tags=["reference"])


class GeoJSONResponse(JSONResponse):
    """GeoJSON (RFC 7946) under its registered media type."""

    media_type = spatial.GEOJSON_MEDIA_TYPE


@router.get("/departments", summary="The district's departments")
def departments() -> dict:
    return {"items": [d.model_dump() for d in reference().departments.values()], "next": None}


@router.get("/categories", summary="Event categories (major → minor) with time limits")
def categories() -> dict:
    return {"items": [c.model_dump(mode="json") for c in reference().categories.values()], "next": None}


@router.get("/escalation-levels", summary="Who an order reaches at each escalation level")
def escalation_levels() -> dict:
    return {"items": [e.model_dump() for e in reference().escalation], "next": None}


@router.get("/areas", summary="Spatial units of one level as a GeoJSON FeatureCollection", response_class=GeoJSONResponse)
def areas(level: str = Query("street", description="district, street, community or grid"),
          parent: str | None = Query(None, max_length=40), session: Session = Depends(get_session)) -> GeoJSONResponse:
    return GeoJSONResponse(spatial.feature_collection(session, level, parent))


@router.get("/grids", summary="Grid cells as GeoJSON (optionally of one community)", response_class=GeoJSONResponse)
def grids(parent: str | None = Query(None, max_length=40), session: Session = Depends(get_session)) -> GeoJSONResponse:
    return GeoJSONResponse(spatial.feature_collection(session, "grid", parent))


@router.get("/locate", summary="Which grid, community and street a point is in")
def locate(lon: float = Query(ge=-180, le=180), lat: float = Query(ge=-90, le=90),
           session: Session = Depends(get_session)) -> dict:
    from twonets.core.errors import NotFound

    place = spatial.locate(session, lon, lat)
    if place is None:
        raise NotFound(Msg("({lon}, {lat}) is outside the district.", lon=lon, lat=lat))
    return {"grid_code": place.grid_code, "community_code": place.community_code, "street_code": place.street_code}


@router.put("/areas", summary="Replace the spatial hierarchy from a GeoJSON FeatureCollection")
def import_areas(collection: dict = Body(...), session: Session = Depends(get_session),
                 actor: Actor = Depends(current_actor)) -> dict:
    if not actor.has("administrator", "system"):
        raise Forbidden(Msg("Only an administrator replaces the district's map."))
    from twonets.data import audit

    count = spatial.import_geojson(session, collection)
    audit.append(session, "admin", actor, "areas.replace", "areas", {"features": count})
    return {"imported": count}


@router.get("/routing-rules", response_model=list[RoutingRule], summary="Routing rules")
def list_rules(session: Session = Depends(get_session), actor: Actor = Depends(current_actor)) -> list[RoutingRule]:
    if not actor.has("dispatcher", "administrator", "system", "department_handler"):
        raise Forbidden(Msg("Routing rules are for staff."))
    return routing.list_rules(session)


@router.post("/routing-rules", response_model=RoutingRule, status_code=201, summary="Add a routing rule")
def add_rule(rule: RoutingRuleIn, session: Session = Depends(get_session), actor: Actor = Depends(current_actor)) -> RoutingRule:
    if not actor.has("dispatcher", "administrator", "system"):
        raise Forbidden(Msg("Only the dispatch desk edits routing rules."))
    return routing.add_rule(session, actor, rule)


@router.delete("/routing-rules/{rule_id}", status_code=204, summary="Delete a routing rule")
def delete_rule(rule_id: int = Path(ge=1, le=2**31 - 1), session: Session = Depends(get_session), actor: Actor = Depends(current_actor)) -> None:
    if not actor.has("dispatcher", "administrator", "system"):
        raise Forbidden(Msg("Only the dispatch desk edits routing rules."))
    routing.delete_rule(session, actor, rule_id)


@router.get("/route", summary="Which department a category at a place would be routed to")
def route(category: str = Query(max_length=60), street_code: str | None = Query(None, max_length=40),
          grid_code: str | None = Query(None, max_length=40), session: Session = Depends(get_session)) -> dict:
    reference().category(category)
    return {"department": routing.route(session, category, street_code, grid_code)}
