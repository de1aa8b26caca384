"""KPIs over HTTP: JSON, or CSV with format=csv."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from twonets.api.auth import current_actor
from twonets.api.deps import get_session
from twonets.city import kpi
from twonets.core.actor import Actor
from twonets.core.errors import Forbidden
from twonets.core.i18n import Msg

router = APIRouter(prefix="/api/v1", tags=["kpi"])


@router.get("/kpi", summary="The KPI table for a period and cut", response_model=None)
def get_kpi(
    session: Session = Depends(get_session),
    actor: Actor = Depends(current_actor),
    date_from: str | None = Query(None, alias="from", description="first local day, YYYY-MM-DD"),
    date_to: str | None = Query(None, alias="to", description="last local day, YYYY-MM-DD"),
    group_by: Literal["department", "source", "category", "street", "grid", "channel"] | None = None,
    department: str | None = Query(None, max_length=40),
    source: Literal["auto", "proactive", "citizen"] | None = None,
    category: str | None = Query(None, max_length=60),
    street: str | None = Query(None, max_length=40),
    grid: str | None = Query(None, max_length=40),
    channel: str | None = Query(None, max_length=30),
    format: Literal["json", "csv"] = "json",
):
    if actor.has("citizen") and not actor.has("dispatcher", "administrator", "system", "department_handler"):
        raise Forbidden(Msg("KPIs are for staff."))
    query = kpi.KpiQuery.parse(date_from, date_to, group_by, department=department, source=source,
                               category=category, street=street, grid=grid, channel=channel)
    rows = kpi.compute(session, query)
    if format == "csv":
        return Response(kpi.to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="kpi.csv"'})
    return {"items": [r.model_dump() for r in rows], "next": None, "query": query.model_dump(mode="json")}
