"""Work orders over HTTP: create, list, read with timeline, and every transition."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from twonets.api.auth import current_actor
from twonets.api.deps import get_session, idempotent
from twonets.city import lifecycle, orders
from twonets.city.models import Order, OrderCreate, OrderPage, TickResult, TransitionRequest
from twonets.core.actor import Actor
from twonets.core.i18n import Msg

router = APIRouter(prefix="/api/v1", tags=["work orders"])
Action = Literal[tuple(a for a in lifecycle.ACTIONS if a not in lifecycle.SYSTEM_ACTIONS)]  # type: ignore[valid-type]


@router.post("/orders", status_code=201, response_model=Order, summary="Create a work order (auto, proactive or citizen)")
def create_order(body: OrderCreate, request: Request, session: Session = Depends(get_session),
                 actor: Actor = Depends(current_actor)):
    def produce():
        order = orders.create_order(session, actor, body)
        return 201, order.model_dump(mode="json")

    return idempotent(session, request, "POST /orders", produce)


class OrderQuery(BaseModel):
    """Filters of the order listing (query parameters), validated as one model."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, max_length=200)
    source: Literal["auto", "proactive", "citizen"] | None = None
    channel: str | None = Field(None, max_length=30)
    category: str | None = Field(None, max_length=60)
    severity: Literal["normal", "urgent"] | None = None
    status: Literal[lifecycle.STATES] | None = None  # type: ignore[valid-type]
    department: str | None = Field(None, max_length=40)
    street_code: str | None = Field(None, max_length=40)
    community_code: str | None = Field(None, max_length=40)
    grid_code: str | None = Field(None, max_length=40)
    flag: Literal["ok", "warning", "overdue"] | None = None
    master_id: str | None = Field(None, max_length=40)
    created_from: AwareDatetime | None = Field(None, description="ISO 8601 with a time zone, inclusive")
    created_to: AwareDatetime | None = Field(None, description="ISO 8601 with a time zone, exclusive")


@router.get("/orders", response_model=OrderPage, summary="List work orders, newest first")
def list_orders(query: Annotated[OrderQuery, Query()], session: Session = Depends(get_session),
                actor: Actor = Depends(current_actor)):
    page = orders.list_orders(session, actor, **query.model_dump())
    # The page is already a validated OrderPage: serialize it once, without FastAPI re-validating it.
    return Response(page.model_dump_json(), media_type="application/json")


@router.get("/orders/{order_id}", response_model=Order, summary="One work order with its timeline")
def get_order(order_id: str, session: Session = Depends(get_session), actor: Actor = Depends(current_actor)) -> Order:
    return orders.get_order(session, actor, order_id)


@router.get("/orders/{order_id}/reporter", summary="The reporter's contact in full, for a stated purpose (audited)")
def reporter_contact(order_id: str, purpose: str = Query(min_length=1, max_length=200, description="why, e.g. 回访 callback (at least 2 Chinese characters or 4 letters)"),
                     session: Session = Depends(get_session), actor: Actor = Depends(current_actor)) -> dict:
    contact, audit_seq = orders.reporter_contact(session, actor, order_id, purpose)
    return {"order_id": order_id, "name": contact.name, "phone": contact.phone, "audit_seq": audit_seq}


@router.post("/orders/{order_id}/{action}", response_model=Order,
             summary="Take an action: dispatch, reassign, return, accept, start, resolve, check, callback, "
                     "reopen, close, suspend, resume, escalate, merge, cancel")
def act(order_id: str, action: Action, request: Request,  # type: ignore[valid-type]
        body: Annotated[TransitionRequest | None, Body()] = None,
        session: Session = Depends(get_session), actor: Actor = Depends(current_actor)):
    # Every field is optional, so is the body: `POST …/accept` with nothing to say needs no `{}`.
    # An action that needs a field (dispatch: department) says so as a 422 naming it.
    body = body or TransitionRequest()

    def produce():
        order = orders.transition(session, actor, order_id, action, body.reason, **body.data())
        return 200, order.model_dump(mode="json")

    return idempotent(session, request, f"POST /orders/{order_id}/{action}", produce)


@router.post("/timer/tick", response_model=TickResult, summary="Run the deadline timer now (idempotent)")
def run_tick(session: Session = Depends(get_session), actor: Actor = Depends(current_actor)) -> TickResult:
    from twonets.core.errors import Forbidden

    if not actor.has("dispatcher", "administrator", "system"):
        raise Forbidden(Msg("Only the dispatch desk runs the timer by hand."))
    return orders.tick(session)
