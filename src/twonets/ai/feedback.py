"""What the router said about each order, and what dispatchers corrected: stored, read back
for the board, and fed to training."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from twonets.ai.routing import Suggestion
from twonets.ai.tables import routing_correction, routing_suggestion


def store_suggestion(session: Session, order_id: str, suggestion: Suggestion, model: str, at: datetime) -> None:
    session.execute(insert(routing_suggestion).values(
        order_id=order_id, created_at=at, model=model[:80], category=suggestion.category,
        department=suggestion.department, probability=suggestion.departments[0].probability,
        auto_routed=suggestion.auto_route, suggestion=suggestion.as_dict()))


def suggestions(session: Session, order_ids: list[str]) -> dict[str, dict]:
    """order id → the stored suggestion (as_dict, plus `auto_routed` and `model`)."""
    if not order_ids:
        return {}
    rows = session.execute(select(routing_suggestion).where(routing_suggestion.c.order_id.in_(order_ids))).all()
    return {r.order_id: dict(r.suggestion, auto_routed=r.auto_routed, model=r.model) for r in rows}


def add_correction(session: Session, *, order_id: str | None, text: str, suggested: str | None, category: str,
                   department: str, by: str, at: datetime) -> int:
    return session.execute(insert(routing_correction).values(
        order_id=order_id, text=text, suggested=suggested, category=category, department=department,
        created_at=at, created_by=by[:80]).returning(routing_correction.c.id)).scalar_one()


def corrections(session: Session) -> list[tuple[str, str]]:
    """(text, category) of every correction, oldest first: the latest one for an order wins."""
    rows = session.execute(select(routing_correction.c.order_id, routing_correction.c.text, routing_correction.c.category)
                           .order_by(routing_correction.c.id)).all()
    latest: dict[object, tuple[str, str]] = {}
    for i, r in enumerate(rows):
        latest[r.order_id or ("row", i)] = (r.text, r.category)
    return list(latest.values())
