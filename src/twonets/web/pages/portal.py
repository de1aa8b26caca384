"""The citizen portal, phone first (390×844): home with the matter search, services by life event
and by department, a matter's guide. Applications, the wallet and benefits are in
`portal_apply`, reports (12345) in `portal_report`, "me" in `portal_me`.

Every portal page is for a signed-in citizen (`citizen`) and calls the service functions the API
calls, as that citizen: nothing here reads data the citizen could not read through the API.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from twonets.city import orders
from twonets.core.actor import Actor
from twonets.core.errors import NotFound
from twonets.data import identity
from twonets.data.departments import departments
from twonets.govservices import applications, benefits, life_events, matters
from twonets.web import render
from twonets.web.labels import N_
from twonets.web.pages import portal_search
from twonets.web.pages.common import get_session, staff

router = APIRouter(include_in_schema=False)
CITIZEN = frozenset({"citizen"})
PENDING_APPS = ("draft", "in_review", "supplement_requested")
PAGE = 50
# Plain words for where things stand, as a citizen reads them.
APP_STATES = {
    "draft": N_("Not sent yet"), "in_review": N_("Being reviewed"), "supplement_requested": N_("More needed from you"),
    "approved": N_("Approved"), "rejected": N_("Not approved"), "licence_issued": N_("Done, licence issued"),
    "withdrawn": N_("Withdrawn"),
}
REPORT_STATES = {
    "created": N_("Received"), "dispatched": N_("Sent to the department"), "accepted": N_("Being handled"),
    "in_progress": N_("Being handled"), "resolved": N_("Fixed: please tell us"), "checked": N_("Done"), "closed": N_("Done"),
    "returned": N_("Being passed on"), "suspended": N_("On hold"), "merged": N_("Handled with a similar report"),
    "cancelled": N_("Cancelled"),
}
SATISFACTION_WORDS = {"satisfied": N_("Satisfied"), "basically_satisfied": N_("Basically satisfied"),
                      "dissatisfied": N_("Dissatisfied")}


def page(request: Request, template: str, tab: str, status: int = 200, **extra):
    """A portal page: the layout's tab and the portal's words come with every one."""
    return render.page(request, template, status=status, tab=tab, STATE_WORDS=APP_STATES, REPORT_WORDS=REPORT_STATES,
                       SAT_WORDS=SATISFACTION_WORDS, **extra)


def citizen(request: Request) -> Actor:
    """The signed-in citizen (sign-in page otherwise; a 403 page for staff accounts)."""
    return staff(request, CITIZEN)


def subject_of(session: Session, actor: Actor) -> str | None:
    return identity.subject_of(session, actor)


def dept_names() -> dict[str, tuple[str, str]]:
    return {code: (d.name_zh, d.name_en) for code, d in departments().items()}


def matter_names(session: Session, codes) -> dict[str, tuple[str, str]]:
    out = {}
    for code in set(codes):
        try:
            m = matters.get(session, code)
        except NotFound:
            continue
        out[code] = (m.name_zh, m.name_en)
    return out


def pending(session: Session, actor: Actor) -> dict:
    """What waits on the citizen or on the government for them: open applications, reports
    still being handled, and reports resolved and waiting for the citizen's answer."""
    apps, _ = applications.mine(session, actor, limit=20)
    open_apps = [a for a in apps if a.state.state in PENDING_APPS]
    mine = orders.list_orders(session, actor, limit=20).items  # a citizen sees only what they filed
    return {"apps": open_apps, "callbacks": [o for o in mine if "callback" in o.allowed_actions],
            "reports": [o for o in mine if o.status in ("created", "dispatched", "accepted", "in_progress", "returned", "suspended")]}


@router.get("/portal")
def home(request: Request, session: Session = Depends(get_session)):
    actor = citizen(request)
    offers = [b for b in benefits.offers(session, actor) if b["granted"] is None]
    todo = pending(session, actor)
    names = matter_names(session, [a.matter for a in todo["apps"]])
    return page(request, "portal/home.html", "home", offers=offers, todo=todo, names=names, q="", hits=None,
                       events=life_events.events()[:6])


@router.get("/portal/search")
def search(request: Request, q: str = Query("", max_length=portal_search.MAX_QUERY),
           session: Session = Depends(get_session)):
    citizen(request)
    hits = portal_search.find(session, q) if q.strip() else None
    template = "portal/_results.html" if request.headers.get("hx-request") else "portal/search.html"
    return page(request, template, "home", q=q, hits=hits, depts=dept_names())


@router.get("/portal/services")
def services(request: Request, dept: str | None = Query(None, max_length=40), cursor: str | None = Query(None, max_length=40),
             session: Session = Depends(get_session)):
    citizen(request)
    names = dept_names()
    if dept:
        if dept not in names:
            raise NotFound(f"no department {dept}")
        items, nxt = matters.search(session, department=dept, limit=PAGE, cursor=cursor)
        items.sort(key=lambda m: (not m["full"], m["code"]))
        return page(request, "portal/department.html", "services", dept=dept, depts=names, items=items, next=nxt)
    counts = {code: n for code, n in matters.count_by_department(session).items() if code in names}
    listed = sorted(counts, key=lambda c: (-counts[c], c))
    return page(request, "portal/services.html", "services", events=life_events.events(), depts=names, listed=listed,
                       counts=counts)


@router.get("/portal/services/events/{code}")
def life_event(code: str, request: Request, session: Session = Depends(get_session)):
    citizen(request)
    event = life_events.get(code)
    if event is None:
        raise NotFound(f"no life event {code}")
    items = [matters.get(session, c) for c in event.matters]
    return page(request, "portal/event.html", "services", event=event, items=items, depts=dept_names())


@router.get("/portal/matters/{code}")
def guide(code: str, request: Request, session: Session = Depends(get_session)):
    actor = citizen(request)
    m = matters.get(session, code)
    return page(request, "portal/guide.html", "services", m=m, depts=dept_names(), can_apply=can_apply(m),
                       has_subject=subject_of(session, actor) is not None)


def can_apply(m) -> bool:
    """Whether a citizen applies for this matter here: written out, for a person, online."""
    return m.full and m.subject == "person" and m.channels != "hall" and not m.no_application
