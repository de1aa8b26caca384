"""Routing: which department gets an order. A rules table (category × street/grid →
department); the most specific matching rule wins; no match goes to the dispatch desk."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from twonets.city.models import RoutingRule, RoutingRuleIn
from twonets.city.reference import reference
from twonets.city.tables import routing_rule
from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, NotFound
from twonets.core.i18n import Msg
from twonets.data import audit

DISPATCH_DESK = "dispatch"


def _specificity(rule, category: str, street: str | None, grid: str | None) -> int:
    """-1 when the rule does not match; otherwise higher is more specific."""
    score = 0
    for value, wanted, weight in ((rule.category, category, 4), (rule.grid_code, grid, 2), (rule.street_code, street, 1)):
        if value is None:
            continue
        if value != wanted:
            return -1
        score += weight
    return score


_CANDIDATES = select(routing_rule).where(
    (routing_rule.c.category == bindparam("category")) | (routing_rule.c.category.is_(None))
)


def route(session: Session, category: str, street: str | None, grid: str | None) -> str:
    rules = session.execute(_CANDIDATES, {"category": category}).all()
    best, best_score = DISPATCH_DESK, -1
    for rule in rules:
        score = _specificity(rule, category, street, grid)
        if score > best_score:
            best, best_score = rule.department, score
    return best


def categories_with_grid_rules(session: Session) -> set[str | None]:
    """Categories that some rule routes per grid (None: a rule for any category does)."""
    return set(session.execute(select(routing_rule.c.category).where(routing_rule.c.grid_code.is_not(None))).scalars())


def list_rules(session: Session) -> list[RoutingRule]:
    rows = session.execute(select(routing_rule).order_by(routing_rule.c.id)).all()
    return [RoutingRule.model_validate(r._mapping) for r in rows]


def add_rule(session: Session, actor: Actor, rule: RoutingRuleIn) -> RoutingRule:
    ref = reference()
    ref.department(rule.department)
    if rule.category is not None:
        ref.category(rule.category)
    values = rule.model_dump() | {"created_at": utcnow(), "created_by": actor.label}
    # NULL never equals NULL in a unique index, so the scope is checked here as well.
    same_scope = [routing_rule.c[k].is_(None) if values[k] is None else routing_rule.c[k] == values[k]
                  for k in ("category", "street_code", "grid_code")]
    if session.execute(select(routing_rule.c.id).where(*same_scope)).first():
        raise Conflict(Msg("A rule for this category, street and grid already exists; delete it first."))
    try:
        with session.begin_nested():
            new_id = session.execute(insert(routing_rule).values(**values).returning(routing_rule.c.id)).scalar_one()
    except IntegrityError:
        raise Conflict(Msg("A rule for this category, street and grid already exists; delete it first.")) from None
    audit.append(session, "admin", actor, "routing_rule.add", str(new_id), rule.model_dump())
    return RoutingRule(id=new_id, **values)


def delete_rule(session: Session, actor: Actor, rule_id: int) -> None:
    if session.execute(delete(routing_rule).where(routing_rule.c.id == rule_id)).rowcount == 0:
        raise NotFound(Msg("No routing rule {rule_id}.", rule_id=rule_id))
    audit.append(session, "admin", actor, "routing_rule.delete", str(rule_id), {})


def seed_default_rules(session: Session) -> int:
    """One rule per category to its default department, where no category-wide rule exists."""
    have = {r.category for r in session.execute(
        select(routing_rule.c.category).where(routing_rule.c.street_code.is_(None), routing_rule.c.grid_code.is_(None))
    )}
    rows = [
        {"category": c.code, "street_code": None, "grid_code": None, "department": c.department,
         "note": "category default", "created_at": utcnow(), "created_by": "system"}
        for c in reference().categories.values() if c.code not in have
    ]
    if rows:
        session.execute(insert(routing_rule), rows)
    return len(rows)
