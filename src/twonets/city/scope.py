"""Who may see and act on which work orders. Enforced here, in the service layer, for every adapter.

- The dispatch desk, administrators and the system see and act on every order.
- A department handler sees their department's orders and takes the handler's actions on them.
- A grid inspector sees their grid's orders and checks (or resolves) them.
- Whoever filed an order (its `reporter_account`: a citizen, an inspector reporting outside his
  grid) sees it and finds it in their listing, read-only; other reporters' contacts stay masked
  as in every listing.
"""

from __future__ import annotations

from twonets.city.lifecycle import OrderState
from twonets.core.actor import Actor
from twonets.core.errors import Forbidden, NotFound
from twonets.core.i18n import Msg

ALL_SCOPE = ("system", "dispatcher", "administrator")
HANDLER_ACTIONS = frozenset({"accept", "start", "resolve", "return", "suspend", "resume"})
INSPECTOR_ACTIONS = frozenset({"check", "resolve"})


def sees(actor: Actor, s: OrderState) -> bool:
    if actor.has(*ALL_SCOPE):
        return True
    if s.reporter_account is not None and s.reporter_account == actor.id:
        return True
    if actor.has("department_handler") and actor.department and s.department == actor.department:
        return True
    if actor.has("grid_inspector") and actor.grid and s.grid_code == actor.grid:
        return True
    return False


def _permits(actor: Actor, department: str | None, grid_code: str | None, action: str) -> bool:
    if actor.has(*ALL_SCOPE):
        return True
    if actor.has("department_handler") and actor.department and department == actor.department \
            and action in HANDLER_ACTIONS:
        return True
    if actor.has("grid_inspector") and actor.grid and grid_code == actor.grid and action in INSPECTOR_ACTIONS:
        return True
    return False


def may(actor: Actor, s: OrderState, action: str) -> None:
    if not sees(actor, s):
        raise NotFound(Msg("No work order {public_id}.", public_id=s.public_id))
    if not _permits(actor, s.department, s.grid_code, action):
        raise Forbidden(Msg("Your role may not {action} this order.", action=action))


def permitted(actor: Actor, department: str | None, grid_code: str | None, actions) -> list[str]:
    """Of the actions the order's state allows, those this actor may take (the rule of `may`)."""
    return [a for a in actions if _permits(actor, department, grid_code, a)]


def visible(actor: Actor) -> dict[str, str] | None:
    """The orders a listing shows `actor`: None for all, else column → value (any one suffices)."""
    if actor.has(*ALL_SCOPE):
        return None
    out: dict[str, str] = {"reporter_account": actor.id}  # their own reports, whatever the role
    if actor.has("department_handler") and actor.department:
        out["department"] = actor.department
    if actor.has("grid_inspector") and actor.grid:
        out["grid_code"] = actor.grid
    return out
