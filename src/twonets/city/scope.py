"""Who may see and act on which work orders. Enforced here, in the service layer, for every adapter."""

from __future__ import annotations

from twonets.city.lifecycle import OrderState
from twonets.core.actor import Actor
from twonets.core.errors import Forbidden, NotFound

ALL_SCOPE = ("system", "dispatcher", "administrator")
HANDLER_ACTIONS = frozenset({"accept", "start", "resolve", "return", "suspend", "resume"})
INSPECTOR_ACTIONS = frozenset({"check", "resolve"})


def sees(actor: Actor, s: OrderState) -> bool:
    if actor.has(*ALL_SCOPE):
        return True
    if actor.has("department_handler") and actor.department and s.department == actor.department:
        return True
    if actor.has("grid_inspector") and actor.grid and s.grid_code == actor.grid:
        return True
    return False


def may(actor: Actor, s: OrderState, action: str) -> None:
    if not sees(actor, s):
        raise NotFound(f"No work order {s.public_id}.")
    if actor.has(*ALL_SCOPE):
        return
    if actor.has("department_handler") and s.department == actor.department and action in HANDLER_ACTIONS:
        return
    if actor.has("grid_inspector") and s.grid_code == actor.grid and action in INSPECTOR_ACTIONS:
        return
    raise Forbidden(f"Your role may not {action} this order.")


def visible(actor: Actor) -> dict[str, str] | None:
    """The orders a listing shows `actor`: None for all, else column → value (any one suffices)."""
    if actor.has(*ALL_SCOPE):
        return None
    out: dict[str, str] = {}
    if actor.has("department_handler") and actor.department:
        out["department"] = actor.department
    if actor.has("grid_inspector") and actor.grid:
        out["grid_code"] = actor.grid
    if not out:
        raise Forbidden("Your role may not list work orders.")
    return out
