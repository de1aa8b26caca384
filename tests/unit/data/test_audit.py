"""The audit chain: appends link by SHA-256, checkpoints are signed, and verify names the
first entry broken by alteration, deletion or reordering made directly in the database."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import delete, insert, select, text, update

from tests.unit.data.support import ADMIN
from twonets.core.config import settings
from twonets.core.db import session_factory
from twonets.data import audit
from twonets.data.keys import system_key
from twonets.data.tables import audit_checkpoint, audit_entry, audit_head


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


def _sql(engine, *stmts) -> None:
    """Write straight into the tables, as someone who owns the database would: on PostgreSQL
    with triggers off (the append-only trigger stops everyone else)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        for stmt in stmts:
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
        audit._sign(s, 3, s.execute(select(audit_entry.c.hash).where(audit_entry.c.seq == 3)).scalar_one(),
                    audit.utcnow(), key=other)
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


# --- tampering by someone who can write the database ---------------------------------------

EVERY = 4  # checkpoints at 4 and 8 of the 10 entries; 9 and 10 are after the last one


def _rows(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_entry).order_by(audit_entry.c.seq)))


def _recompute(engine, start: int) -> None:
    """Re-link every entry from `start` on, as an attacker covering an edit would."""
    rows = _rows(engine)
    prev = audit.GENESIS if start == 1 else next(r.hash for r in rows if r.seq == start - 1)
    stmts = []
    for r in rows:
        if r.seq < start:
            continue
        digest = audit.entry_hash(prev, r.seq, r.at, r.kind, r.actor, r.action, r.subject, r.data)
        stmts.append(update(audit_entry).where(audit_entry.c.seq == r.seq).values(prev_hash=prev, hash=digest))
        prev = digest
    _sql(engine, *stmts)


def _change(engine, seq: int, **values) -> None:
    _sql(engine, update(audit_entry).where(audit_entry.c.seq == seq).values(**values))


def _lower_head(engine, seq: int) -> None:
    _sql(engine, update(audit_head).values(seq=seq))


def _t_change(engine):
    _change(engine, 3, data='{"i":999}')


def _t_change_and_rehash_one(engine):
    _change(engine, 5, data='{"i":0}')
    r = next(r for r in _rows(engine) if r.seq == 5)
    _change(engine, 5, hash=audit.entry_hash(r.prev_hash, 5, r.at, r.kind, r.actor, r.action, r.subject, r.data))


def _t_change_and_recompute_the_rest(engine):
    _change(engine, 3, actor="mallory")
    _recompute(engine, 3)


def _t_delete_checkpoints_and_recompute(engine):
    _sql(engine, delete(audit_checkpoint))
    _change(engine, 2, data='{"i":-2}')
    _recompute(engine, 2)


def _t_delete_checkpoints(engine):
    _sql(engine, delete(audit_checkpoint))


def _t_delete_an_entry(engine):
    _sql(engine, delete(audit_entry).where(audit_entry.c.seq == 4))


def _t_delete_a_signed_range_and_lower_the_head(engine):
    _sql(engine, delete(audit_entry).where(audit_entry.c.seq <= 8), delete(audit_checkpoint))
    _sql(engine, *[update(audit_entry).where(audit_entry.c.seq == s).values(seq=s - 8) for s in (9, 10)])
    _recompute(engine, 1)
    _lower_head(engine, 2)


def _t_truncate_after_the_last_checkpoint(engine):
    _sql(engine, delete(audit_entry).where(audit_entry.c.seq > 8))
    _lower_head(engine, 8)


def _t_truncate_through_a_checkpoint(engine):
    _sql(engine, delete(audit_entry).where(audit_entry.c.seq > 6), delete(audit_checkpoint).where(audit_checkpoint.c.seq > 6))
    _lower_head(engine, 6)


def _t_empty_the_log(engine):
    _sql(engine, delete(audit_entry), delete(audit_checkpoint), delete(audit_head))


def _t_reorder(engine):
    _sql(
        engine,
        update(audit_entry).where(audit_entry.c.seq == 5).values(seq=1000),
        update(audit_entry).where(audit_entry.c.seq == 6).values(seq=5),
        update(audit_entry).where(audit_entry.c.seq == 1000).values(seq=6),
    )


def _t_rewrite_after_the_last_checkpoint(engine):
    _change(engine, 9, data='{"i":"nothing happened"}')
    _recompute(engine, 9)


def _t_append_behind_the_heads_back(engine):
    last = _rows(engine)[-1]
    digest = audit.entry_hash(last.hash, 11, last.at, "admin", "mallory", "x", "y", "{}")
    _sql(engine, insert(audit_entry).values(seq=11, at=last.at, kind="admin", actor="mallory", action="x", subject="y",
                                            data="{}", prev_hash=last.hash, hash=digest))


def _t_forge_a_checkpoint(engine):
    _sql(engine, update(audit_checkpoint).where(audit_checkpoint.c.seq == 8).values(hash="f" * 64))


# (tampering, needs the head published before it): each must make `audit verify` fail
TAMPERING = {
    "change an entry": (_t_change, False),
    "change an entry and rehash it": (_t_change_and_rehash_one, False),
    "change an entry and recompute the chain": (_t_change_and_recompute_the_rest, False),
    "delete every checkpoint and recompute the chain": (_t_delete_checkpoints_and_recompute, False),
    "delete every checkpoint": (_t_delete_checkpoints, False),
    "delete an entry": (_t_delete_an_entry, False),
    "delete a signed range, renumber and lower the head": (_t_delete_a_signed_range_and_lower_the_head, False),
    "truncate through a checkpoint and lower the head": (_t_truncate_through_a_checkpoint, False),
    "empty the whole log": (_t_empty_the_log, False),
    "reorder two entries": (_t_reorder, False),
    "append behind the head's back": (_t_append_behind_the_heads_back, False),
    "forge a checkpoint": (_t_forge_a_checkpoint, False),
    "truncate after the last checkpoint": (_t_truncate_after_the_last_checkpoint, True),
    "rewrite after the last checkpoint": (_t_rewrite_after_the_last_checkpoint, True),
}


def _cli_verify(engine, *args: str):
    from typer.testing import CliRunner

    from twonets.data.cli import audit_app

    url = engine.url.render_as_string(hide_password=False)
    r = CliRunner().invoke(audit_app, ["verify", "--json", "--database-url", url, *args])
    import json

    return r.exit_code, json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture
def signed_chain(engine, monkeypatch):
    """10 entries, checkpoints at 4 and 8 (anchored), and the head published after entry 10."""
    monkeypatch.setenv("TWONETS_AUDIT_CHECKPOINT_EVERY", str(EVERY))
    settings.cache_clear()
    _fill(engine, 10)
    with session_factory(engine)() as s:
        published = audit.head(s)["head"]
    code, result = _cli_verify(engine, "--head", published)
    assert (code, result["ok"], result["checkpoints"], result["anchored"], result["unsigned"]) == (0, True, 2, 2, 2), result
    return published


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_detected(engine, signed_chain, case):
    tamper, needs_head = TAMPERING[case]
    tamper(engine)
    code, result = _cli_verify(engine, *(["--head", signed_chain] if needs_head else []))
    assert code == 1 and not result["ok"], result
    assert result["reason"]


def test_a_published_head_is_what_catches_a_short_truncation(engine, signed_chain):
    """Without the published head, the entries after the last anchored checkpoint are not
    protected (the limit the module states); with it, their removal is named."""
    _t_truncate_after_the_last_checkpoint(engine)
    assert _cli_verify(engine)[0] == 0
    code, result = _cli_verify(engine, "--head", signed_chain)
    assert code == 1 and result["first_broken"] == 9


def test_a_malformed_published_head_is_bad_input(engine):
    code, result = _cli_verify(engine, "--head", "10:xyz")
    assert code == 2 and result["status"] == 422


def test_a_broken_chain_is_never_signed(engine, monkeypatch):
    from twonets.core.errors import Conflict

    monkeypatch.setenv("TWONETS_AUDIT_CHECKPOINT_EVERY", str(EVERY))
    settings.cache_clear()
    _fill(engine, 6)
    _change(engine, 5, data='{"i":0}')
    with session_factory(engine)() as s, pytest.raises(Conflict):
        audit.checkpoint(s)
    _fill(engine, 2)  # entry 8 would be signed: it is not, and the writes still go through
    with session_factory(engine)() as s:
        assert [c for c in s.execute(select(audit_checkpoint.c.seq)).scalars()] == [4]
    _sql(engine, delete(audit_checkpoint))
    with session_factory(engine)() as s, pytest.raises(Conflict):  # a required checkpoint is missing
        audit.checkpoint(s)


def test_a_rolled_back_checkpoint_is_never_anchored(engine, monkeypatch, data_env):
    from twonets.data import audit_anchor

    monkeypatch.setenv("TWONETS_AUDIT_CHECKPOINT_EVERY", str(EVERY))
    settings.cache_clear()
    with session_factory(engine)() as s:
        for i in range(4):
            audit.append(s, "admin", ADMIN, "x", str(i))
        s.rollback()
    assert audit_anchor.read()[0] == []
    _fill(engine, 4)
    assert [a["seq"] for a in audit_anchor.read()[0]] == [4]


def test_audit_entries_cannot_be_changed_or_deleted_on_postgresql(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's (SQLite has no roles to keep out)")
    from sqlalchemy.exc import DBAPIError

    _fill(engine, 3)
    for stmt in (update(audit_entry).where(audit_entry.c.seq == 2).values(actor="mallory"),
                 delete(audit_entry).where(audit_entry.c.seq == 3)):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(stmt)
    assert _verify(engine).ok


def test_a_checkpoint_signed_in_a_rolled_back_savepoint_is_never_anchored(engine, monkeypatch):
    from twonets.data import audit_anchor

    monkeypatch.setenv("TWONETS_AUDIT_CHECKPOINT_EVERY", str(EVERY))
    settings.cache_clear()
    _fill(engine, 3)
    with session_factory(engine)() as s:
        sp = s.begin_nested()
        audit.append(s, "admin", ADMIN, "x", "signed, then undone")
        sp.rollback()
        audit.append(s, "admin", ADMIN, "x", "the real entry 4")
        s.commit()
    assert [a["seq"] for a in audit_anchor.read()[0]] == [4]
    assert _verify(engine).ok
