"""The data officer's desk (`/workbench/data`): sharing requests for the department's datasets
to decide (approve, or refuse with a reason), those decided lately, and the catalogue entries
with each field's sensitivity and the dataset's freshness.

The listing and the decision are the data foundation's (`sharing.list_requests`,
`sharing.decide`): only the owner department's data officer decides, as in the API.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from twonets.core.calendar import utcnow
from twonets.core.errors import InvalidInput
from twonets.data import catalogue, sharing
from twonets.web import render
from twonets.web.labels import N_
from twonets.web.pages.board import names
from twonets.web.pages.common import form, get_session, staff

router = APIRouter(include_in_schema=False)
ROLES = frozenset({"data_officer"})
REQUEST_STATUSES = {"pending": N_("Pending"), "approved": N_("Approved"), "refused": N_("Refused"),
                    "withdrawn": N_("Withdrawn"), "revoked": N_("Revoked")}
FREQUENCIES = {"realtime": N_("real time"), "hourly": N_("hourly"), "daily": N_("daily"), "weekly": N_("weekly"),
               "monthly": N_("monthly"), "quarterly": N_("quarterly"), "yearly": N_("yearly"), "irregular": N_("irregularly")}


@router.get("/workbench/data")
def data_desk(request: Request, session: Session = Depends(get_session)):
    actor = staff(request, ROLES)
    scope = request.query_params.get("catalogue")
    scope = scope if scope == "all" else "mine"
    pending, _ = sharing.list_requests(session, actor, status="pending", direction="incoming", limit=100)
    decided = [r for r in sharing.list_requests(session, actor, direction="incoming", limit=30)[0] if r.status != "pending"]
    entries, _ = catalogue.search(session, actor, owner=actor.department if scope == "mine" else None, limit=200)
    asked = {r.dataset for r in pending + decided}
    return render.page(request, "workbench/data.html", pending=pending, decided=decided[:10], entries=entries,
                       scope=scope, now=utcnow(), names=names(session), statuses=REQUEST_STATUSES, frequencies=FREQUENCIES,
                       datasets={code: catalogue.get(session, actor, code) for code in asked})


@router.post("/workbench/data/requests/{request_id}/{decision}")
async def decide(request_id: str, decision: str, request: Request, session: Session = Depends(get_session)):
    actor = staff(request, ROLES)
    data = await form(request)
    if decision not in ("approve", "refuse"):
        raise InvalidInput(f"unknown decision {decision!r}")
    sharing.decide(session, actor, request_id, approve=decision == "approve", reason=(data.get("reason") or "").strip() or None)
    return render.redirect(request, f"/workbench/data?done={decision}&request={request_id}")
