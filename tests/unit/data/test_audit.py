"""The audit chain: appends link by SHA-256, checkpoints are signed, and verify names the
first entry broken by alteration, deletion or reordering made directly in the database."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import delete, select, text, update

from twonets.core.config import settings
from twonets.core.db import session_factory
from twonets.data import audit
from twonets.data.keys import system_key
from twonets.data.tables import audit_checkpoint, audit_entry, audit_head

from tests.unit.data.support import ADMIN


def _fill(engine, n: int = 12) -> list[audit.Entry]:
    with session_factory(engine)() as s:
        out = [
            audit.append(s, "admin", ADMIN, "thing.change", f"T-{i}", {"i": i, "名": "值"})
            for i in range(1, n + 1)
        ]
        s.commit()
    return out


def _verify(engine) -> audit.VerifyResult:
    with session_factory(engine)() as s:
        return audit.verify(s)


def _sql(engine, stmt) -> None:
    with engine.begin() as conn:
        conn.execute(stmt)


def test_append_links_entries_and_verify_passes(engine):
    entries = _fill(engine, 5)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:]))
    result = _verify(engine)
    assert result.ok, result.problems
    assert result.entries == 5 and result.head_seq == 5 and result.first_broken is None


def test_empty_log_verifies(engine):
    result = _verify(engine)
    assert result.ok and result.entries == 0


def test_unknown_kind_is_invalid_input(engine):
    from twonets.core.errors import InvalidInput

    with session_factory(engine)() as s, pytest.raises(InvalidInput):
        audit.append(s, "gossip", ADMIN, "x", "y", {})


@pytest.mark.parametrize("column,value", [("data", '{"i":999}'), ("actor", "someone-else"), ("action", "x"), ("kind", "access")])
def test_altered_entry_is_named(engine, column, value):
    _fill(engine)
    _sql(engine, update(audit_entry).where(audit_entry.c.seq == 7).values({column: value}))
    result = _verify(engine)
    assert not result.ok
    assert result.first_broken == 7
    assert "altered" in result.reason


def test_altered_timestamp_is_detected(engine):
    entries = _fill(engine)
    from datetime import timedelta

    _sql(engine, update(audit_entry).where(audit_entry.c.seq == 3).values(at=entries[2].at + timedelta(seconds=1)))
    result = _verify(engine)
    assert (result.ok, result.first_broken) == (False, 3)


def test_rehashed_alteration_breaks_the_next_link(engine):
    """An attacker who recomputes the altered entry's hash still breaks the following link."""
    entries = _fill(engine)
    e = entries[4]
    forged = audit.entry_hash(e.prev_hash, e.seq, e.at, e.kind, e.actor, e.action, e.subject, '{"i":0}')
    _sql(engine, update(audit_entry).where(audit_entry.c.seq == 5).values(data='{"i":0}', hash=forged))
    result = _verify(engine)
    assert (result.ok, result.first_broken) == (False, 6)


def test_deleted_entry_is_named(engine):
    _fill(engine)
    _sql(engine, delete(audit_entry).where(audit_entry.c.seq == 4))
    result = _verify(engine)
    assert (result.ok, result.first_broken) == (False, 4)
    assert "missing" in result.reason


def test_deleted_tail_is_detected_by_the_head(engine):
    _fill(engine)
    _sql(engine, delete(audit_entry).where(audit_entry.c.seq >= 11))
    result = _verify(engine)
    assert (result.ok, result.first_broken) == (False, 11)


def test_deleted_tail_and_head_rewritten_is_caught_by_a_checkpoint(engine):
    _fill(engine, 10)
    with session_factory(engine)() as s:
        audit.checkpoint(s)
        s.commit()
    _sql(engine, delete(audit_entry).where(audit_entry.c.seq >= 9))
    with session_factory(engine)() as s:
        h = s.execute(select(audit_entry.c.hash).where(audit_entry.c.seq == 8)).scalar_one()
    _sql(engine, update(audit_head).values(seq=8, hash=h))
    result = _verify(engine)
    assert (result.ok, result.first_broken) == (False, 9)


def test_reordered_entries_are_detected(engine):
    _fill(engine)
    # swap the positions of entries 5 and 6 (seq is the primary key: go through a free value)
    _sql(engine, update(audit_entry).where(audit_entry.c.seq == 5).values(seq=1000))
    _sql(engine, update(audit_entry).where(audit_entry.c.seq == 6).values(seq=5))
    _sql(engine, update(audit_entry).where(audit_entry.c.seq == 1000).values(seq=6))
    result = _verify(engine)
    assert (result.ok, result.first_broken) == (False, 5)


def test_checkpoints_are_signed_every_n_entries(engine, monkeypatch):
    monkeypatch.setenv("TWONETS_AUDIT_CHECKPOINT_EVERY", "4")
    settings.cache_clear()
    _fill(engine, 9)
    with session_factory(engine)() as s:
        cps = list(s.execute(select(audit_checkpoint).order_by(audit_checkpoint.c.seq)))
    assert [c.seq for c in cps] == [4, 8]
    key = system_key()
    sig = base64.b64decode(cps[0].signature)
    assert key.verify(sig, audit.checkpoint_message(4, cps[0].hash))
    assert _verify(engine).checkpoints == 2 and _verify(engine).ok


def test_forged_checkpoint_signature_is_detected(engine):
    _fill(engine, 3)
    with session_factory(engine)() as s:
        audit.checkpoint(s)
        s.commit()
    bad = base64.b64encode(b"\x00" * 64).decode()
    _sql(engine, update(audit_checkpoint).values(signature=bad))
    result = _verify(engine)
    assert (result.ok, result.first_broken) == (False, 3)
    assert "signature" in result.reason


def test_checkpoint_signed_by_another_key_is_detected(engine, tmp_path):
    _fill(engine, 3)
    other = system_key(tmp_path / "other-keys")
    with session_factory(engine)() as s:
        audit._sign(s, 3, s.execute(select(audit_head.c.hash)).scalar_one(), audit.utcnow(), key=other)
        s.commit()
    result = _verify(engine)
    assert not result.ok and "unknown key" in result.reason


def test_a_broken_chain_still_counts_entries(engine):
    _fill(engine, 6)
    _sql(engine, update(audit_entry).where(audit_entry.c.seq == 2).values(subject="X"))
    result = _verify(engine)
    assert result.entries == 6 and result.first_broken == 2


def test_list_entries_newest_first(engine):
    _fill(engine, 5)
    with session_factory(engine)() as s:
        page = audit.list_entries(s, limit=2)
        older = audit.list_entries(s, before=page[-1].seq, limit=10)
    assert [e.seq for e in page] == [5, 4]
    assert [e.seq for e in older] == [3, 2, 1]
    assert page[0].data == {"i": 5, "名": "值"}


def test_bumping_the_head_returns_the_previous_hash_in_one_trip(engine):
    """The fast path (no fallback query): the bump's RETURNING carries the previous hash."""
    entries = _fill(engine, 3)
    with session_factory(engine)() as s:
        seq, prev = s.execute(text(audit.BUMP_SQL)).one()
        s.rollback()
    assert (seq, prev) == (4, entries[-1].hash)


def test_concurrent_appenders_never_fork_the_chain(engine):
    import threading

    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(15):
                with session_factory(engine)() as s:
                    audit.append(s, "access", ADMIN, "read", f"W{n}-{i}", {"i": i})
                    s.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = _verify(engine)
    assert result.ok, result.problems
    assert result.entries == 60 and result.head_seq == 60
