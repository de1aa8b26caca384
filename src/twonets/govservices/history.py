"""The history of an application: its event rows, and the check that the stored application
is the replay of its events and that its decision replays to the same result."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.data import audit
from twonets.govservices import decisions, lifecycle
from twonets.govservices.applications import _state, get_row
from twonets.govservices.lifecycle import Event
from twonets.govservices.tables import svc_application_event


def events(session: Session, actor: Actor, app_id: str) -> list[dict[str, Any]]:
    row = get_row(session, actor, app_id)
    rows = session.execute(select(svc_application_event).where(svc_application_event.c.application_id == row.id).order_by(svc_application_event.c.seq))
    return [
        {"seq": r.seq, "at": audit.ts(r.at), "actor": r.actor, "action": r.action, "from_state": r.from_state,
         "to_state": r.to_state, "reason": r.reason, "data": r.data}
        for r in rows
    ]


def replay(session: Session, actor: Actor, app_id: str) -> dict[str, Any]:
    """The stored application against the replay of its events, and its decision replayed."""
    row = get_row(session, actor, app_id)
    evs = [
        Event(r.action, r.at, r.actor, r.reason, dict(r.data or {}))
        for r in session.execute(select(svc_application_event).where(svc_application_event.c.application_id == row.id).order_by(svc_application_event.c.seq))
    ]
    replayed = lifecycle.replay(evs)
    out: dict[str, Any] = {"state_matches": replayed == _state(row), "state": replayed.state, "events": len(evs)}
    if row.decision:
        out["decision"] = decisions.replay(session, row.decision)
    return out
