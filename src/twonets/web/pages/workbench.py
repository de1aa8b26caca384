"""The department workbench (`/workbench`): a handler's orders, their deadlines on the
working-day clock, and the handler's actions — accept, start, return with a reason, suspend,
resume, resolve with a note and a photo of the work done.

Every listing and action is the city service's (`orders.list_orders`, `orders.get_order`,
`orders.transition`) under the handler's scope: another department's order is not listed and
answers 404, as in the API. A row offers exactly the order's `allowed_actions` for this user.
A photo is stored where order photos go (`core/media`, served at `/media/{key}`) and its key
joins the order with the resolve event.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from twonets.city import orders
from twonets.city.lifecycle import NEEDS_REASON
from twonets.core import media
from twonets.core.calendar import utcnow
from twonets.core.errors import InvalidInput
from twonets.web import deadline, labels, render
from twonets.web import session as web_session
from twonets.web.pages.board import names
from twonets.web.pages.common import get_session, staff

router = APIRouter(include_in_schema=False)
ROLES = frozenset({"department_handler"})
LIMIT = 100
# The views of the list: which statuses each shows.
VIEWS = {
    "open": ["dispatched", "accepted", "in_progress"],
    "suspended": ["suspended"],
    "done": ["resolved", "checked", "closed", "returned"],
}
ROW_ACTIONS = ("accept", "start")  # one click in the row; the rest need words (the order's pane)
HANDLER_ACTIONS = ("accept", "start", "resolve", "return", "suspend", "resume")


def _mine(o) -> list[str]:
    """The order's `allowed_actions` (already narrowed to this user by the service) a handler takes here."""
    return [a for a in o.allowed_actions if a in HANDLER_ACTIONS]


@router.get("/workbench")
def workbench(request: Request, session: Session = Depends(get_session)):
    actor = staff(request, ROLES)
    view = request.query_params.get("view") or "open"
    view = view if view in VIEWS else "open"
    flag = request.query_params.get("flag")
    flag = flag if flag in labels.FLAGS else None
    listing = orders.list_orders(session, actor, limit=LIMIT, status=VIEWS[view], department=actor.department,
                                 **({"flag": flag} if flag else {}))
    now = utcnow()
    rows = [(o, _mine(o), deadline.left(o.due_at, now, running=o.status != "suspended", flag=o.flag))
            for o in listing.items]
    counts = {v: len(orders.list_orders(session, actor, limit=LIMIT, status=s, department=actor.department).items)
              for v, s in VIEWS.items()}
    return render.page(request, "workbench/orders.html", rows=rows, view=view, flag=flag, counts=counts,
                       names=names(session), row_actions=ROW_ACTIONS, limit=LIMIT)


@router.get("/workbench/orders/{order_id}")
def order_pane(order_id: str, request: Request, session: Session = Depends(get_session)):
    actor = staff(request, ROLES)
    o = orders.get_order(session, actor, order_id)  # another department's order: 404
    return render.page(request, "workbench/order.html", o=o, actions=_mine(o), names=names(session),
                       left=deadline.left(o.due_at, utcnow(), running=o.status != "suspended", flag=o.flag),
                       needs_reason=NEEDS_REASON, max_mb=media.MAX_BYTES // (1024 * 1024))


async def _posted(request: Request) -> tuple[dict[str, str], list[UploadFile]]:
    """The form after its CSRF check, with its uploaded files."""
    await web_session.verify_csrf(request)
    data = await request.form()
    files = [v for k, v in data.multi_items() if k == "photo" and isinstance(v, UploadFile) and v.filename]
    return {k: v for k, v in data.items() if isinstance(v, str)}, files


@router.post("/workbench/orders/{order_id}/{action}")
async def act(order_id: str, action: str, request: Request, session: Session = Depends(get_session)):
    actor = staff(request, ROLES)
    data, files = await _posted(request)
    if action not in HANDLER_ACTIONS:
        raise InvalidInput(f"unknown action {action!r}")
    extra: dict = {}
    stored: list[str] = []
    if action == "resolve":
        note = (data.get("note") or "").strip()
        if len(note) < 2:
            raise InvalidInput("say what was done (a note of at least 2 characters)",
                               errors=[{"field": "note", "message": "required"}])
        extra["outcome"] = note
        for f in files[:3]:
            content = await f.read(media.MAX_BYTES + 1)
            stored.append(media.save(content, "orders"))  # refuses what is not an image or too large
        if stored:
            extra["photos"] = stored
    try:
        o = orders.transition(session, actor, order_id, action, (data.get("reason") or "").strip() or None, **extra)
    except BaseException:
        for key in stored:
            media.discard(key)
        raise
    if request.headers.get("hx-request"):
        session.commit()
        fresh = orders.get_order(session, actor, order_id)
        return render.page(request, "workbench/row.html", o=fresh, actions=_mine(fresh), done=action,
                           left=deadline.left(fresh.due_at, utcnow(), running=fresh.status != "suspended", flag=fresh.flag),
                           names=names(session), row_actions=ROW_ACTIONS)
    return render.redirect(request, f"/workbench/orders/{o.id}?done={action}")
