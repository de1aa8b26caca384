"""The review queue (`/workbench/review`): a reviewer's department's applications in review,
each with what came from government registries (marked as such), the rule's outcome and
reason, and the promised deadline on the working-day clock; approve, reject with a reason,
ask for a supplement.

The queue is `stats.queue`, the application `applications.get` with `actions_for`, the
decisions `review.review` and `review.request_supplement`: the API's functions, under the
reviewer's department (another department's application answers 404).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from twonets.core.calendar import utcnow
from twonets.core.errors import InvalidInput
from twonets.data import masking
from twonets.govservices import applications, lifecycle, matters, review, stats
from twonets.web import deadline, render
from twonets.web.labels import N_
from twonets.web.pages.common import form, get_session, staff

router = APIRouter(include_in_schema=False)
ROLES = frozenset({"reviewer"})
APP_STATES = {"draft": N_("Draft"), "in_review": N_("In review"), "supplement_requested": N_("Waiting for a supplement"),
              "approved": N_("Approved"), "rejected": N_("Rejected"), "licence_issued": N_("Licence issued"),
              "withdrawn": N_("Withdrawn")}
LIMIT = 100


def _names(session: Session, codes) -> dict[str, tuple[str, str]]:
    out = {}
    for code in set(codes):
        m = matters.get(session, code)
        out[code] = (m.name_zh, m.name_en)
    return out


# Personal values held for the applicant are shown to the reviewer masked, as in every listing:
# the decision needs that they are there and match, not to read them again in full.
PERSONAL = {"name": "name", "id_number": "id_number", "phone": "phone", "address": "address"}


def shown(key: str, value):
    kind = PERSONAL.get(key) or next((k for k in PERSONAL if key.endswith("_" + k)), None)
    return masking.mask(str(value), kind) if kind and value else value


def _left(app, flag):
    s = app.state
    return deadline.left(s.due_at, utcnow(), running=s.clock_started_at is not None, flag=flag or "ok")


@router.get("/workbench/review")
def queue(request: Request, session: Session = Depends(get_session)):
    actor = staff(request, ROLES)
    flag = request.query_params.get("flag")
    flag = flag if flag in ("warning", "overdue") else None
    items, _ = stats.queue(session, actor, flag=flag, limit=LIMIT)
    now = utcnow()
    rows = []
    for item in items:
        app = applications.get(session, actor, item["id"])
        rows.append((item, app, deadline.left(app.state.due_at, now, running=app.state.clock_started_at is not None,
                                              flag=item["flag"] or "ok")))
    return render.page(request, "workbench/review.html", rows=rows, flag=flag,
                       names=_names(session, [i["matter"] for i in items]))


@router.get("/workbench/applications/{app_id}")
def application(app_id: str, request: Request, session: Session = Depends(get_session)):
    actor = staff(request, ROLES)
    app = applications.get(session, actor, app_id)  # another department's: 404
    matter = matters.get(session, app.matter)
    f = lifecycle.flag(app.state, utcnow())
    return render.page(request, "workbench/application.html", app=app, matter=matter,
                       allowed=applications.actions_for(session, actor, app), left=_left(app, f), shown=shown)


@router.post("/workbench/applications/{app_id}/{decision}")
async def decide(app_id: str, decision: str, request: Request, session: Session = Depends(get_session)):
    actor = staff(request, ROLES)
    data = await form(request)
    reason = (data.get("reason") or "").strip()
    if decision == "approve":
        review.review(session, actor, app_id, approve=True, reason=reason)
    elif decision == "reject":
        review.review(session, actor, app_id, approve=False, reason=reason)
    elif decision == "request-supplement":
        review.request_supplement(session, actor, app_id, reason=reason)
    else:
        raise InvalidInput(f"unknown decision {decision!r}")
    return render.redirect(request, f"/workbench/review?done={decision}&app={app_id}")
