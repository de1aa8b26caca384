"""The operation-center console (`/console`, a 1920×1080 wall): district map, vital signs, KPIs.

The page is rendered with today's figures; its script (static/js/console.js) then loads the map
layers, markers and 30-day trends from the JSON routes below and follows `/console/stream` (web/stream.py:
the API's SSE feed, authenticated by the session cookie).
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from twonets.city import kpi, orders, spatial, vitals
from twonets.city.lifecycle import OPEN
from twonets.city.sensing import alarms
from twonets.core.calendar import local_date, utcnow
from twonets.core.errors import InvalidInput, NotFound
from twonets.core.i18n import Msg
from twonets.web import i18n, labels, render
from twonets.web import stream as live
from twonets.web.labels import N_
from twonets.web.pages.board import names as board_names
from twonets.web.pages.common import get_session, staff

router = APIRouter(include_in_schema=False)
TREND_DAYS = 30
MARKER_LIMIT = 500

# The four KPIs the district is judged by: (KpiRow field, label msgid, target, "higher is better").
SEED_KPIS = [
    ("same_day_rate", N_("Auto same-day rate"), 1.0, True),
    ("proactive_resolution_rate", N_("Proactive resolution rate"), 0.99, True),
    ("resolved_and_satisfied_rate", N_("Citizen resolved and satisfied"), 0.80, True),
    ("avg_resolution_working_days", N_("Mean resolution time"), None, False),
]


def today() -> date:
    return local_date(utcnow())


def period(days: int = TREND_DAYS) -> tuple[date, date]:
    end = today()
    return end - timedelta(days=days - 1), end


def kpi_row(session: Session, first: date, last: date) -> kpi.KpiRow:
    return kpi.compute(session, kpi.KpiQuery.parse(first.isoformat(), last.isoformat()))[0]


def met(field: str, value, target) -> bool | None:
    if value is None or target is None:
        return None
    return value >= target if field != "proactive_resolution_rate" else value > target


@router.get("/console")
def console(request: Request, session: Session = Depends(get_session)):
    actor = staff(request, render.CONSOLE_ROLES)
    first, last = period()
    row = kpi_row(session, first, last)
    seeds = [dict(field=f, label=label, target=target, value=getattr(row, f), met=met(f, getattr(row, f), target))
             for f, label, target, _ in SEED_KPIS]
    open_now = vitals.open_by_source_status(session, actor)
    order = [s for s in ("created", "dispatched", "accepted", "in_progress", "returned")]
    t = i18n.translations(render.locale_of(request))
    chart = {"statuses": [t.gettext(labels.STATUSES[s]) for s in order],
             "series": [{"source": src, "name": t.gettext(labels.SOURCES[src]), "data": [open_now[src][s] for s in order]}
                        for src in ("auto", "proactive", "citizen")]}
    return render.page(request, "console/wall.html", row=row, seeds=seeds, first=first, last=last,
                       vitals=vitals.today_counts(session, actor, today()), now=utcnow(),
                       open_chart=json.dumps(chart, ensure_ascii=False),
                       open_total=sum(sum(v.values()) for v in open_now.values()))


@router.get("/console/data/areas.json")
def areas(request: Request, level: str = Query("street", pattern="^(street|grid)$"),
          session: Session = Depends(get_session)) -> dict:
    staff(request, render.BOARD_ROLES)  # the map of the order page too; the same data as GET /api/v1/areas
    return spatial.feature_collection(session, level)


def marker(o) -> dict:
    return {"id": o.id, "lon": o.lon, "lat": o.lat, "source": o.source, "status": o.status, "flag": o.flag,
            "category": o.category, "severity": o.severity, "open": o.status in OPEN}


@router.get("/console/data/markers.json")
def markers(request: Request, session: Session = Depends(get_session)) -> dict:
    """The newest open orders that have a position, and the newest active alarms."""
    actor = staff(request, render.CONSOLE_ROLES)
    page = orders.list_orders(session, actor, limit=MARKER_LIMIT, status=sorted(OPEN))
    return {"orders": [marker(o) for o in page.items if o.lon is not None],
            "alarms": alarms.list_alarms(session, status="active", limit=30)["items"]}


@router.get("/console/data/orders/{order_id}.json")
def one_marker(order_id: str, request: Request, session: Session = Depends(get_session)) -> dict:
    actor = staff(request, render.CONSOLE_ROLES)
    return marker(orders.get_order(session, actor, order_id))


@router.get("/console/data/trends.json")
def trends(request: Request, session: Session = Depends(get_session)) -> dict:
    """Each seed KPI per local day over the last 30 days (None where a day has nothing to measure)."""
    staff(request, render.CONSOLE_ROLES)
    first, last = period()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    rows = [kpi_row(session, d, d) for d in days]
    return {"days": [d.isoformat() for d in days],
            "series": {f: [getattr(r, f) for r in rows] for f, *_ in SEED_KPIS},
            "targets": {f: t for f, _, t, _ in SEED_KPIS}}


@router.get("/console/grids/{grid_code}")
def grid_panel(grid_code: str, request: Request, session: Session = Depends(get_session)):
    """The panel shown when a grid is clicked on the map: its open orders and 30-day KPIs."""
    actor = staff(request, render.CONSOLE_ROLES)
    try:
        place = spatial.place_of_grid(session, grid_code)
    except InvalidInput:
        raise NotFound(Msg("No grid {grid_code}.", grid_code=grid_code)) from None
    first, last = period()
    row = kpi.compute(session, kpi.KpiQuery.parse(first.isoformat(), last.isoformat(), grid=grid_code))[0]
    open_orders = orders.list_orders(session, actor, limit=10, grid_code=grid_code, status=sorted(OPEN)).items
    return render.page(request, "partials/grid_panel.html", place=place, row=row, open_orders=open_orders,
                       seeds=[(f, label, getattr(row, f)) for f, label, *_ in SEED_KPIS], first=first, last=last,
                       names=board_names(session))


@router.get("/console/stream")
async def stream(request: Request):
    actor = staff(request, render.CONSOLE_ROLES)
    return await live.feed(request, actor)
