"""Typed domain events, published in-process only after the outermost commit.

Domain code queues an event on its unit of work with `queue(session, OrderChanged(...))`. The
event is handed to its subscribers when the *outermost* transaction commits — never when a
savepoint (`begin_nested`) is released, although SQLAlchemy fires `after_commit` for that too —
and it is dropped when that transaction, or the savepoint it was queued in, rolls back. So no
subscriber ever hears of work that did not happen, and an order's event cannot reach the SSE
stream before the rows it speaks of are visible.

Subscribers are either typed (`subscribe(OrderChanged, fn)`: fn gets the event; the table of
these lives in `twonets.bootstrap`) or live feeds by topic (`subscribe("order", fn)`: fn gets
`(topic, payload)`; the SSE stream and the cross-process bridge). Events forwarded from another
process arrive as `publish_remote(topic, payload)` and reach topic subscribers only.

Limit: in-process only. Cross-process fan-out rides on the broker (`city/sensing/bridge.py`).
"""

from __future__ import annotations

import contextvars
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any, ClassVar

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger("twonets.events")


@dataclass(frozen=True)
class DomainEvent:
    """Base of every domain event: a frozen dataclass with a topic for the live feeds."""

    topic: ClassVar[str] = "event"

    def payload(self) -> dict[str, Any]:
        """The event as JSON-ready data (times as ISO 8601), for feeds that leave the process.
        Fields are flat values, so a shallow read does (asdict's deep copy costs more than the insert)."""
        return {k: v.isoformat() if isinstance(v, datetime) else v
                for k in _field_names(type(self)) for v in (getattr(self, k),)}


TopicHandler = Callable[[str, dict[str, Any]], None]
TypedHandler = Callable[[DomainEvent], None]
_by_type: dict[type, list[TypedHandler]] = defaultdict(list)
# The engine of the unit of work whose commit is publishing: a handler that writes opens its own
# unit of work there (`origin_engine()`), so it works on the database the event happened in.
_origin: contextvars.ContextVar[Any] = contextvars.ContextVar("event_origin_engine", default=None)


def origin_engine() -> Any:
    """The engine of the committed work whose events are being published now (None outside)."""
    return _origin.get()
_by_topic: dict[str, list[TopicHandler]] = defaultdict(list)


def subscribe(what: type[DomainEvent] | str, handler: Callable) -> Callable[[], None]:
    """Subscribe to an event class (handler(event)) or a topic, '*' for all (handler(topic, payload)).
    Returns a function that unsubscribes."""
    table: dict = _by_type if isinstance(what, type) else _by_topic
    table[what].append(handler)
    return lambda: table[what].remove(handler)


def _call(handler: Callable, *args: Any) -> None:
    try:
        handler(*args)
    except Exception:  # a broken subscriber must not undo a committed change nor starve the others
        log.exception("event handler %r failed", handler)


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def publish(event: DomainEvent) -> None:
    """Hand a committed event to its typed subscribers, then to the live feeds of its topic."""
    for cls in type(event).__mro__:
        for handler in list(_by_type.get(cls, ())):
            _call(handler, event)
    if _by_topic.get(event.topic) or _by_topic.get("*"):  # the payload only for someone listening
        publish_remote(event.topic, event.payload())


def publish_remote(topic: str, payload: dict[str, Any]) -> None:
    """An event's payload (from this process or forwarded by another) to the topic's live feeds."""
    for handler in list(_by_topic.get(topic, ())) + list(_by_topic.get("*", ())):
        _call(handler, topic, payload)


# --- queued on the unit of work ---------------------------------------------------------------
# session.info["pending_events"]: [(owner transaction, event)], owner = the innermost savepoint
# open when it was queued, else the root transaction.

_PENDING = "pending_events"


def queue(session: Session, event: DomainEvent) -> None:
    """Queue an event on the unit of work: published after the outermost commit, else never."""
    _install()
    owner = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_PENDING, []).append((owner, event))


def _owner_of(tx: SessionTransaction | None) -> SessionTransaction | None:
    """The savepoint or root that events of `tx` belong to once `tx` has ended well."""
    while tx is not None and not (tx.nested or tx.parent is None):
        tx = tx.parent
    return tx


_installed = False


def _install() -> None:
    """One set of listeners for every Session (per-session listeners cost more than the insert)."""
    global _installed
    if _installed:
        return

    @sa_event.listens_for(Session, "after_commit")
    def _committed(session: Session) -> None:
        pending = session.info.get(_PENDING)
        if not pending:
            return
        tx = session.get_nested_transaction()
        if tx is not None:  # a savepoint released: its events now wait with the enclosing one
            parent = _owner_of(tx.parent)
            session.info[_PENDING] = [(parent if owner is tx else owner, e) for owner, e in pending]
            return
        session.info.pop(_PENDING, None)
        token = _origin.set(session.get_bind())
        try:
            for _owner, e in pending:
                publish(e)
        finally:
            _origin.reset(token)

    @sa_event.listens_for(Session, "after_soft_rollback")
    def _rolled_back(session: Session, previous: SessionTransaction) -> None:
        pending = session.info.get(_PENDING)
        if not pending:
            return
        if previous.parent is None:
            session.info.pop(_PENDING, None)
            return
        ended = {previous}
        session.info[_PENDING] = [(o, e) for o, e in pending if not _within(o, ended)]

    @sa_event.listens_for(Session, "after_transaction_end")
    def _ended(session: Session, tx: SessionTransaction) -> None:
        if tx.parent is None:  # the root ended: whatever was not published by its commit is void
            session.info.pop(_PENDING, None)

    _installed = True


def _within(tx: SessionTransaction | None, ended: set[SessionTransaction]) -> bool:
    while tx is not None:
        if tx in ended:
            return True
        tx = tx.parent
    return False
