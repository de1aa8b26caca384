"""我的 Me: my applications and reports with their progress, my licences, who used my data, language."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from twonets.city import orders
from twonets.core import pages
from twonets.core.errors import Forbidden
from twonets.data import access
from twonets.govservices import applications, licences
from twonets.web.pages.common import get_session
from twonets.web.pages.portal import citizen, dept_names, page, subject_of

router = APIRouter(include_in_schema=False)
ACCESSES = "m"  # the cursor kind of the API's /my-data/accesses


@router.get("/portal/me")
def me(request: Request, session: Session = Depends(get_session)):
    actor = citizen(request)
    subject = subject_of(session, actor)
    apps, _ = applications.mine(session, actor, limit=200)
    reports = orders.list_orders(session, actor, limit=200).items
    held = licences.of_holder(session, subject) if subject else []
    used = access.count_accesses(session, subject) if subject else 0
    return page(request, "portal/me.html", "me", linked=subject is not None, apps=apps,
                       reports=reports, held=held, used=used)


@router.get("/portal/me/data")
def who_used(request: Request, cursor: str | None = Query(None, max_length=pages.MAX_LENGTH),
             session: Session = Depends(get_session)):
    actor = citizen(request)
    subject = subject_of(session, actor)
    if subject is None:
        raise Forbidden("your account is not linked to a person; there is no data of yours to show")
    items, nxt = access.my_accesses(session, actor, limit=50, cursor=pages.decode_int(cursor, ACCESSES), subject_id=subject)
    items = [{**a, "at": datetime.fromisoformat(a["at"].replace("Z", "+00:00"))} for a in items]
    return page(request, "portal/data.html", "me", items=items, next=pages.encode(ACCESSES, nxt) if nxt is not None else None,
                       depts=dept_names())
