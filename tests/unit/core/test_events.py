"""Domain events leave the process only after the outermost commit, on SQLite and PostgreSQL.

A savepoint (`begin_nested`) is released on every POST with an Idempotency-Key, on the first id
of a day, in alarms, routing and audit; SQLAlchemy fires `after_commit` for that release too. An
event queued inside such a savepoint must still wait for the outer transaction, and must be
dropped when the outer transaction (or the savepoint itself) rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
from sqlalchemy import text

from twonets.core import events
from twonets.core.db import session_factory, unit_of_work


@dataclass(frozen=True)
class Probe(events.DomainEvent):
    topic: ClassVar[str] = "probe"
    n: int


@pytest.fixture
def seen():
    got: list = []
    off_typed = events.subscribe(Probe, got.append)
    off_topic = events.subscribe("probe", lambda topic, payload: got.append((topic, payload)))
    yield got
    off_typed()
    off_topic()


def test_event_inside_a_released_savepoint_of_a_rolled_back_transaction_is_never_published(engine, seen):
    with pytest.raises(RuntimeError):
        with unit_of_work(engine) as session:
            session.execute(text("SELECT 1"))
            with session.begin_nested():
                events.queue(session, Probe(1))
            assert seen == []  # the savepoint's release is not the commit
            raise RuntimeError("the outer work fails")
    assert seen == []


def test_outer_commit_publishes_what_released_savepoints_queued_in_order(engine, seen):
    with unit_of_work(engine) as session:
        events.queue(session, Probe(1))
        with session.begin_nested():
            events.queue(session, Probe(2))
            with session.begin_nested():
                events.queue(session, Probe(3))
        assert seen == []
    assert [e.n for e in seen if isinstance(e, Probe)] == [1, 2, 3]
    assert [p["n"] for t, p in (x for x in seen if isinstance(x, tuple))] == [1, 2, 3]


def test_a_rolled_back_savepoint_drops_only_its_own_events(engine, seen):
    with unit_of_work(engine) as session:
        events.queue(session, Probe(1))
        try:
            with session.begin_nested():
                events.queue(session, Probe(2))
                raise ValueError("this part fails and is retried another way")
        except ValueError:
            pass
        events.queue(session, Probe(3))
    assert [e.n for e in seen if isinstance(e, Probe)] == [1, 3]


def test_a_session_closed_without_commit_publishes_nothing(engine, seen):
    session = session_factory(engine)()
    session.execute(text("SELECT 1"))
    events.queue(session, Probe(1))
    session.close()
    with unit_of_work(engine) as again:  # a later commit of a new session does not carry it over
        again.execute(text("SELECT 1"))
    assert seen == []


def test_a_failing_handler_does_not_stop_the_others(engine, seen):
    def broken(_event):
        raise RuntimeError("broken subscriber")

    off = events.subscribe(Probe, broken)
    try:
        with unit_of_work(engine) as session:
            events.queue(session, Probe(1))
    finally:
        off()
    assert [e.n for e in seen if isinstance(e, Probe)] == [1]
