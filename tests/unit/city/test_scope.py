"""`scope.permitted` (decided once per order for listings) is the rule of `scope.may` per action."""

from __future__ import annotations

import itertools

from twonets.city import lifecycle, scope
from twonets.core.actor import Actor

ACTORS = [Actor("d", frozenset({"dispatcher"})), Actor("h", frozenset({"department_handler"}), department="lvhua"),
          Actor("n", frozenset({"department_handler"})), Actor("g", frozenset({"grid_inspector"}), grid="G1"),
          Actor("hg", frozenset({"department_handler", "grid_inspector"}), department="lvhua", grid="G1"),
          Actor("c", frozenset({"citizen"}))]


def test_permitted_is_the_rule_of_may_for_every_action():
    actions = lifecycle.ACTIONS
    for actor, dept, grid in itertools.product(ACTORS, ("lvhua", "shuiwu", None), ("G1", "G2", None)):
        assert scope.permitted(actor, dept, grid, actions) == [a for a in actions if scope._permits(actor, dept, grid, a)]
        assert scope.permitted(actor, dept, grid, actions) != [] or not actor.has("dispatcher")
