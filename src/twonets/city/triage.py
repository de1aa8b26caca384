"""Triage of citizen demands by the AI router (issue 14): the city's side of `twonets.ai`.

A citizen order created with no category is classified from its description. At or above the
model's threshold it is routed automatically (its category's routing rules decide the
department); below it the order goes to the dispatch desk with the suggestions, to a person.
With no trained model the order goes to the desk as category `other`. Dispatchers' corrections
are stored and become training data (`twonets ai train`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from twonets.ai import feedback
from twonets.ai import routing as ai_routing
from twonets.ai.store import ModelFileError
from twonets.city import order_repository as repo
from twonets.city import scope
from twonets.city.reference import reference
from twonets.core import calendar
from twonets.core.actor import Actor
from twonets.core.config import settings
from twonets.core.errors import Forbidden
from twonets.core.logging import get_logger

log = get_logger(__name__)
ROUTING_MODEL = "routing.skops"
FALLBACK_CATEGORY = "other"


@dataclass(frozen=True)
class Triage:
    category: str
    auto_route: bool  # route by the category's rules; otherwise to the dispatch desk
    suggestion: ai_routing.Suggestion | None
    model: str | None
    why: str


def model_path() -> Path:
    return Path(settings().model_dir) / ROUTING_MODEL


def taxonomy() -> dict[str, str]:
    return {c.code: c.department for c in reference().categories.values()}


def router() -> ai_routing.RoutingModel | None:
    try:
        return ai_routing.cached(model_path(), taxonomy())
    except ModelFileError as exc:
        log.warning("routing model unusable", reason=str(exc))
        return None


def classify(text: str) -> Triage:
    model = router()
    if model is None:
        return Triage(FALLBACK_CATEGORY, False, None, None, "no routing model (twonets ai train): to the dispatch desk")
    s = model.suggest(text)
    name = str(model.info.get("trained_at", "unknown"))
    if s.auto_route:
        return Triage(s.category, True, s, name, f"AI routing {s.departments[0].probability:.2f} ≥ {s.threshold:.2f}")
    return Triage(s.category, False, s, name,
                  f"AI routing {s.departments[0].probability:.2f} < {s.threshold:.2f}: to the dispatch desk with suggestions")


def record(session: Session, order_id: str, t: Triage, at: datetime) -> None:
    if t.suggestion is not None:
        feedback.store_suggestion(session, order_id, t.suggestion, t.model or "unknown", at)


def suggestions_for(session: Session, order_ids: list[str]) -> dict[str, dict]:
    return feedback.suggestions(session, order_ids)


def correct(session: Session, actor: Actor, order_id: str, category: str) -> int:
    """A dispatcher says which category the order's demand really is: stored as training data."""
    if not actor.has(*scope.ALL_SCOPE):
        raise Forbidden("Only the dispatch desk corrects the routing of demands.")
    cat = reference().category(category)
    state = repo.load(session, order_id)  # NotFound when there is none
    stored = feedback.suggestions(session, [order_id]).get(order_id)
    suggested = stored["categories"][0]["code"] if stored else None
    return feedback.add_correction(session, order_id=order_id, text=state.description, suggested=suggested,
                                   category=cat.code, department=cat.department, by=actor.label, at=calendar.utcnow())
