"""In-process publish/subscribe of domain events (order changes, alarms, decisions…).

Services publish after their unit of work commits; adapters (SSE stream, metrics, other
packages) subscribe. Cross-process fan-out belongs on a real broker, not here.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

Handler = Callable[[str, dict[str, Any]], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(topic: str, handler: Handler) -> Callable[[], None]:
    """Subscribe to a topic ('*' for all). Returns a function that unsubscribes."""
    _handlers[topic].append(handler)
    return lambda: _handlers[topic].remove(handler)


def publish(topic: str, payload: dict[str, Any]) -> None:
    for handler in list(_handlers.get(topic, ())) + list(_handlers.get("*", ())):
        try:
            handler(topic, payload)
        except Exception:  # a broken subscriber must not undo a committed change
            import logging

            logging.getLogger("twonets.events").exception("event handler failed for %s", topic)


def publish_after_commit(session, topic: str, payload: dict[str, Any]) -> None:
    """Queue an event on the unit of work; it is published only if the transaction commits."""
    _hook_sessions()
    session.info.setdefault("pending_events", []).append((topic, payload))


_hooked = False


def _hook_sessions() -> None:
    """One listener for every Session (registering per session costs more than the insert)."""
    global _hooked
    if _hooked:
        return
    from sqlalchemy import event as sa_event
    from sqlalchemy.orm import Session

    @sa_event.listens_for(Session, "after_commit")
    def _flush(sess):
        queued = sess.info.pop("pending_events", None)
        for t, p in queued or ():
            publish(t, p)

    @sa_event.listens_for(Session, "after_rollback")
    def _drop(sess):
        sess.info.pop("pending_events", None)

    _hooked = True
