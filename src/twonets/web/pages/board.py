"""The dispatch board (`/console/board`) and the order page (`/console/orders/{id}`).

Rows offer only the actions this user may take now: the order's `allowed_actions` (its state)
narrowed by the role's scope (city/scope.py). Actions post a CSRF-checked form; from the board
HTMX swaps the updated row in place, without HTMX the browser comes back to the order page.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from twonets.city import orders, reporters, scope, spatial
from twonets.city.lifecycle import NEEDS_REASON, SOURCES, STATES
from twonets.city.models import Order
from twonets.city.reference import reference
from twonets.core.actor import Actor
from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg
from twonets.web import labels, render
from twonets.web.pages.common import form, get_session, staff

router = APIRouter(include_in_schema=False)
BOARD_LIMIT = 100
FILTERS = ("street_code", "category", "source", "status", "flag")
BOARD_ACTIONS = ("dispatch", "reassign")  # offered in the row; the rest on the order page


def may_do(actor: Actor, o: Order) -> list[str]:
    """The order's allowed actions that this actor's role and scope permit."""
    if actor.has(*scope.ALL_SCOPE):
        return list(o.allowed_actions)
    out: set[str] = set()
    if actor.has("department_handler") and actor.department and o.department == actor.department:
        out |= scope.HANDLER_ACTIONS
    if actor.has("grid_inspector") and actor.grid and o.grid_code == actor.grid:
        out |= scope.INSPECTOR_ACTIONS
    return [a for a in o.allowed_actions if a in out]


def choices(session: Session) -> dict:
    ref = reference()
    streets = spatial.feature_collection(session, "street")["features"]
    return {
        "streets": [(f["properties"]["code"], f["properties"]["name_zh"], f["properties"]["name_en"]) for f in streets],
        "categories": sorted(((c.code, c.name_zh, c.name_en) for c in ref.categories.values()), key=lambda c: c[0]),
        "departments": [(d.code, d.name_zh, d.name_en) for d in ref.departments.values()],
        "sources": list(SOURCES), "statuses": list(STATES),
    }


def names(session: Session, c: dict | None = None) -> dict:
    """code → (zh, en) for streets, categories and departments, for showing codes as words."""
    c = c or choices(session)
    return {code: (zh, en) for code, zh, en in c["streets"] + c["categories"] + c["departments"]}


def page_context(session: Session) -> dict:
    c = choices(session)
    return {"choices": c, "names": names(session, c), "board_actions": BOARD_ACTIONS, "needs_reason": NEEDS_REASON}


@router.get("/console/board")
def board(request: Request, session: Session = Depends(get_session)):
    actor = staff(request, render.BOARD_ROLES)
    chosen = {k: request.query_params.get(k) or None for k in FILTERS}
    ctx = page_context(session)
    valid = {"street_code": {s[0] for s in ctx["choices"]["streets"]},
             "category": {c[0] for c in ctx["choices"]["categories"]},
             "source": set(SOURCES), "status": set(STATES), "flag": set(labels.FLAGS)}
    chosen = {k: v for k, v in chosen.items() if v in valid[k]}  # an unknown value is no filter
    listing = orders.list_orders(session, actor, limit=BOARD_LIMIT, **chosen)
    rows = [(o, may_do(actor, o)) for o in listing.items]
    return render.page(request, "console/board.html", rows=rows, chosen=chosen, **ctx)


@router.get("/console/orders/{order_id}")
def order_page(order_id: str, request: Request, session: Session = Depends(get_session)):
    actor = staff(request, render.BOARD_ROLES)
    o = orders.get_order(session, actor, order_id)  # NotFound outside the actor's scope → 404 page
    return render.page(request, "console/order.html", o=o, actions=may_do(actor, o), **page_context(session))


@router.post("/console/orders/{order_id}/contact")
async def show_contact(order_id: str, request: Request, session: Session = Depends(get_session)):
    """The reporter's contact in full, for a stated purpose, through the access service (audited)."""
    actor = staff(request, render.BOARD_ROLES)
    data = await form(request)
    purpose = (data.get("purpose") or "").strip()
    if len(purpose) < 4:
        raise InvalidInput(Msg("say why you need the contact (at least 4 characters)"))
    contact, audit_seq = reporters.reporter_contact(session, actor, order_id, purpose)
    return render.page(request, "partials/contact.html", contact=contact, audit_seq=audit_seq, purpose=purpose)


@router.post("/console/orders/{order_id}/{action}")
async def act(order_id: str, action: str, request: Request, session: Session = Depends(get_session)):
    actor = staff(request, render.BOARD_ROLES)
    data = await form(request)
    if action not in labels.ACTIONS:
        raise InvalidInput(Msg("unknown action {action!r}", action=action))
    extra = {k: data[k] for k in ("department", "master", "outcome") if data.get(k)}
    if action == "callback":
        extra["actually_resolved"] = data.get("actually_resolved") == "yes"
        extra["satisfaction"] = data.get("satisfaction") or "satisfied"
    o = orders.transition(session, actor, order_id, action, data.get("reason") or None, **extra)
    if request.headers.get("hx-request"):
        session.commit()  # the row shows the committed state
        fresh = orders.get_order(session, actor, order_id)
        return render.page(request, "partials/board_row.html", o=fresh, actions=may_do(actor, fresh),
                           done=action, **page_context(session))
    return render.redirect(request, f"/console/orders/{o.id}")
