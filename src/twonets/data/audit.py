"""The one append-only audit log: data access, decisions and administrative actions.

Each entry is linked to the previous one by SHA-256 over a canonical serialisation:

    hash = sha256(prev_hash || canonical(seq, at, kind, actor, action, subject, data))

and every `checkpoint_every` entries (and on demand) the head is signed with the system's
Ed25519 key. `verify` streams the whole chain once, recomputes every hash, checks that the
sequence has no gap, that each checkpoint's signature is valid and its hash matches the entry
it names, and that the head's counter agrees with the last entry (a deleted tail); it names
the first broken entry. Limit: someone who can write the database, deletes the newest entries
and lowers the head's counter too is caught only for entries a checkpoint has signed, so keep
`checkpoint_every` small enough (and sign on demand with `twonets audit checkpoint`).

Appenders serialise on the `audit_head` row (UPDATE first, so the write lock is taken before
the previous hash is read): the chain never forks, on SQLite or PostgreSQL. Canonical form:
`at` is UTC with microseconds and a 'Z'; `data` is JSON with sorted keys, compact separators
and UTF-8 kept as is; the seven values are hashed as one compact JSON array.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.config import settings
from twonets.core.errors import InvalidInput
from twonets.data.fastpath import Raw
from twonets.data.keys import SystemKey, system_key
from twonets.data.tables import audit_checkpoint, audit_entry, audit_head

GENESIS = "0" * 64
KINDS = ("access", "decision", "admin", "auth")


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    kind: str
    actor: str
    action: str
    subject: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "kind": self.kind,
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def canonical_data(data: dict[str, Any] | None) -> str:
    return json.dumps(data or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def ts(at: datetime) -> str:
    """Canonical timestamp: UTC, microseconds, 'Z'."""
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds") + "Z"


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_sha256 = hashlib.sha256


def entry_hash(prev_hash: str, seq: int, at: datetime, kind: str, actor: str, action: str, subject: str, data: str) -> str:
    body = _dumps([seq, ts(at), kind, actor, action, subject, data])
    return _sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _actor_label(actor: Actor | str) -> str:
    return actor.label if isinstance(actor, Actor) else str(actor)


# Bumping the head takes its row lock (the chain never forks) and, in the same round trip,
# fetches the previous entry's hash. Appends run as DBAPI statements (see fastpath).
_PREV_HASH = select(audit_entry.c.hash).where(audit_entry.c.seq == bindparam("seq"))


BUMP_SQL = (
    "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 "
    "RETURNING seq, (SELECT prev.hash FROM audit_entry AS prev WHERE prev.seq = audit_head.seq - 1)"
)
INSERT_SQL = (
    "INSERT INTO audit_entry (seq, at, kind, actor, action, subject, data, prev_hash, hash) "
    "VALUES (:seq, :at, :kind, :actor, :action, :subject, :data, :prev_hash, :hash)"
)


def _lock_head(session: Session | Connection, raw: Raw) -> tuple[int, str]:
    """Take the head row (creating it on first use); return the new seq and the previous hash."""
    row = raw.execute(BUMP_SQL, {}).fetchone()
    if row is None:
        try:
            with session.begin_nested():
                session.execute(insert(audit_head).values(id=1, seq=0, hash=GENESIS))
        except IntegrityError:
            pass
        row = raw.execute(BUMP_SQL, {}).fetchone()
    seq, prev = int(row[0]), row[1]
    if seq == 1:
        return seq, GENESIS
    if prev is None:
        # PostgreSQL: after waiting for a concurrent appender, the subquery still reads the
        # statement's snapshot; read the entry it has just committed with a fresh one.
        prev = session.execute(_PREV_HASH, {"seq": seq - 1}).scalar()
        if prev is None:  # the previous entry is gone (tampering): verify will name it
            prev = GENESIS
    return seq, prev


def append(
    session: Session | Connection,
    kind: str,
    actor: Actor | str,
    action: str,
    subject: str,
    data: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> Entry:
    """Append one entry to the chain in the caller's unit of work (a Session, or its
    Connection); returns it (with its seq).

    kind: access | decision | admin | auth. `data` must not hold personal data in clear.
    """
    if kind not in KINDS:
        raise InvalidInput(f"unknown audit kind {kind!r}; use one of {', '.join(KINDS)}")
    at = at or utcnow()
    raw = Raw(session)
    try:
        seq, prev = _lock_head(session, raw)
        label = _actor_label(actor)
        subject = str(subject)[:200]
        body = canonical_data(data)
        digest = entry_hash(prev, seq, at, kind, label, action, subject, body)
        raw.execute(
            INSERT_SQL,
            {
                "seq": seq, "at": raw.at(at), "kind": kind, "actor": label, "action": action, "subject": subject,
                "data": body, "prev_hash": prev, "hash": digest,
            },
        )
    finally:
        raw.close()
    every = settings().audit_checkpoint_every
    if every > 0 and seq % every == 0:
        _sign(session, seq, digest, at)
    return Entry(seq, at, kind, label, action, subject, json.loads(body), prev, digest)


# --- checkpoints --------------------------------------------------------------------------


def checkpoint_message(seq: int, digest: str) -> bytes:
    return f"twonets-audit-checkpoint\n{seq}\n{digest}".encode("ascii")


def _sign(session: Session | Connection, seq: int, digest: str, at: datetime, key: SystemKey | None = None) -> dict[str, Any]:
    key = key or system_key()
    signature = base64.b64encode(key.sign(checkpoint_message(seq, digest))).decode("ascii")
    session.execute(
        insert(audit_checkpoint).values(seq=seq, hash=digest, at=at, key_id=key.key_id, signature=signature)
    )
    # the head remembers the last signed hash (its seq is the live counter)
    session.execute(update(audit_head).where(audit_head.c.id == 1, audit_head.c.seq >= seq).values(hash=digest))
    return {"seq": seq, "hash": digest, "at": ts(at), "key_id": key.key_id, "signature": signature}


def checkpoint(session: Session) -> dict[str, Any] | None:
    """Sign the current head now (None when the log is empty)."""
    seq = session.execute(select(audit_head.c.seq).where(audit_head.c.id == 1)).scalar()
    if not seq:
        return None
    digest = session.execute(_PREV_HASH, {"seq": seq}).scalar()
    if digest is None:
        raise InvalidInput(f"the head entry {seq} is missing: run `twonets audit verify`")
    return _sign(session, int(seq), digest, utcnow())


# --- reading ------------------------------------------------------------------------------


def _entry(row) -> Entry:
    return Entry(row.seq, row.at, row.kind, row.actor, row.action, row.subject, json.loads(row.data), row.prev_hash, row.hash)


def list_entries(
    session: Session,
    *,
    kind: str | None = None,
    actor: str | None = None,
    subject: str | None = None,
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[Entry]:
    """Newest first; `before` is a seq to page down from."""
    stmt = select(audit_entry).order_by(audit_entry.c.seq.desc()).limit(limit)
    if kind:
        stmt = stmt.where(audit_entry.c.kind == kind)
    if actor:
        stmt = stmt.where(audit_entry.c.actor == actor)
    if subject:
        stmt = stmt.where(audit_entry.c.subject == subject)
    if before is not None:
        stmt = stmt.where(audit_entry.c.seq < before)
    if after is not None:
        stmt = stmt.where(audit_entry.c.seq > after)
    return [_entry(r) for r in session.execute(stmt)]


# --- verification -------------------------------------------------------------------------


@dataclass
class VerifyResult:
    ok: bool
    entries: int = 0
    checkpoints: int = 0
    head_seq: int = 0
    first_broken: int | None = None
    reason: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "head_seq": self.head_seq,
            "first_broken": self.first_broken,
            "reason": self.reason,
            "problems": self.problems,
            "seconds": round(self.seconds, 3),
        }


def verify(
    session: Session,
    *,
    key: SystemKey | None = None,
    batch: int = 20000,
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Check the whole chain and every checkpoint, streaming; name the first broken entry."""
    import time

    started = time.perf_counter()
    key = key or system_key()
    result = VerifyResult(ok=True)

    def broken(seq: int | None, reason: str) -> None:
        result.problems.append({"seq": seq, "reason": reason})
        if result.first_broken is None and seq is not None:
            result.first_broken, result.reason = seq, reason
        elif result.reason is None:
            result.reason = reason
        result.ok = False

    checkpoints: dict[int, list[tuple[str, str, str]]] = {}
    for cp in session.execute(
        select(audit_checkpoint.c.seq, audit_checkpoint.c.hash, audit_checkpoint.c.key_id, audit_checkpoint.c.signature)
    ):
        result.checkpoints += 1
        checkpoints.setdefault(int(cp.seq), []).append((cp.hash, cp.key_id, cp.signature))
        if cp.key_id != key.key_id:
            broken(int(cp.seq), f"checkpoint at entry {cp.seq} was signed by unknown key {cp.key_id}")
            continue
        try:
            sig = base64.b64decode(cp.signature, validate=True)
        except (ValueError, TypeError):
            sig = b""
        if not key.verify(sig, checkpoint_message(int(cp.seq), cp.hash)):
            broken(int(cp.seq), f"checkpoint at entry {cp.seq} has an invalid signature")

    chain_broken = False
    expected = 1
    prev = GENESIS
    hash_at: dict[int, str] = {}
    cols = (
        audit_entry.c.seq,
        audit_entry.c.at,
        audit_entry.c.kind,
        audit_entry.c.actor,
        audit_entry.c.action,
        audit_entry.c.subject,
        audit_entry.c.data,
        audit_entry.c.prev_hash,
        audit_entry.c.hash,
    )
    stmt = select(*cols).order_by(audit_entry.c.seq).execution_options(yield_per=batch)
    n = 0
    for part in session.execute(stmt).partitions(batch):
        if not chain_broken:
            for seq, at, kind, actor, action, subject, data, prev_hash, digest in part:
                n += 1
                if seq != expected:
                    if seq > expected:
                        broken(expected, f"entry {expected} is missing (next present is {seq})")
                    else:
                        broken(seq, f"entry {seq} is out of order")
                    chain_broken = True
                    break
                if prev_hash != prev:
                    broken(seq, f"entry {seq} does not link to entry {seq - 1} (prev_hash differs)")
                    chain_broken = True
                    break
                if entry_hash(prev, seq, at, kind, actor, action, subject, data) != digest:
                    broken(seq, f"entry {seq} was altered (its hash does not match its content)")
                    chain_broken = True
                    break
                if seq in checkpoints:
                    hash_at[seq] = digest
                prev = digest
                expected += 1
        else:
            n += len(part)
        if progress is not None:
            progress(len(part))
    result.entries = n if chain_broken else expected - 1
    if chain_broken:
        result.entries = session.execute(select(func.count()).select_from(audit_entry)).scalar_one()
    last_seq = expected - 1

    if not chain_broken:
        for seq, items in sorted(checkpoints.items()):
            for digest, _kid, _sig in items:
                if seq > last_seq:
                    broken(last_seq + 1, f"entries after {last_seq} are missing (a checkpoint signed entry {seq})")
                    break
                if hash_at.get(seq) != digest:
                    broken(seq, f"entry {seq} differs from the one its checkpoint signed")
        head = session.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
        head_seq = int(head.seq) if head is not None else 0
        result.head_seq = head_seq
        if head_seq > last_seq:
            broken(last_seq + 1, f"entries after {last_seq} are missing (the head is at {head_seq})")
        elif head_seq < last_seq:
            broken(head_seq + 1, f"entries after {head_seq} were added behind the head's back")
    result.seconds = time.perf_counter() - started
    return result


def iter_entries(session: Session, batch: int = 10000) -> Iterator[Entry]:
    stmt = select(audit_entry).order_by(audit_entry.c.seq).execution_options(yield_per=batch)
    for row in session.execute(stmt):
        yield _entry(row)
