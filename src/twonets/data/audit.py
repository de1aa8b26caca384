"""The one append-only audit log: data access, decisions and administrative actions.

Each entry is linked to the previous one by SHA-256 over a canonical serialisation:

    hash = sha256(prev_hash || canonical(seq, at, kind, actor, action, subject, data))

and every `checkpoint_every` entries (and on demand) the head is signed with the system's
Ed25519 key — after checking the entries since the previous checkpoint, so that a broken
chain is never signed. Each signed checkpoint is also copied, once committed, to the anchor
file in the key directory (`audit_anchor`), outside the database.

`verify` (in `audit_verify`) streams the whole chain once and requires: no gap in the
sequence, every link and hash right, a valid checkpoint at every multiple of
`checkpoint_every`, each checkpoint equal to the entry it names, the head's counter equal to
the last entry, every anchored checkpoint present and equal, and, if given, a published head
(`twonets audit head`, later `verify --head SEQ:HASH`) present and equal.

Limits, honestly: whoever can write the database can still rewrite or remove the entries
after the newest anchored checkpoint (at most `checkpoint_every - 1` of them, or since the last
`twonets audit checkpoint`) unless a head published later says otherwise; whoever can also
write the key directory can rewrite the anchor file and, holding the private key, re-sign a
forged chain (keep a copy of the anchor and published heads elsewhere); a database emptied
together with its anchor file looks new. On PostgreSQL a trigger refuses UPDATE and DELETE
on `audit_entry`; the table's owner can disable it. `checkpoint_every` may be raised to a
multiple of its value on an existing chain, never lowered (the earlier intervals would lack
the checkpoints verify then requires).

Appenders serialise on the `audit_head` row (UPDATE first, so the write lock is taken before
the previous hash is read): the chain never forks, on SQLite or PostgreSQL. Canonical form:
`at` is UTC with microseconds and a 'Z'; `data` is JSON with sorted keys, compact separators
and UTF-8 kept as is; the seven values are hashed as one compact JSON array.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.config import settings
from twonets.core.errors import Conflict, InvalidInput
from twonets.core.i18n import Msg
from twonets.core.logging import get_logger
from twonets.data import audit_anchor
from twonets.data.audit_hash import GENESIS, canonical_data, checkpoint_message, entry_hash, ts  # noqa: F401  (part of the audit API)
from twonets.data.audit_hash import signed as _signed
from twonets.data.fastpath import Raw
from twonets.data.keys import SystemKey, system_key
from twonets.data.tables import audit_checkpoint, audit_entry, audit_head

log = get_logger(__name__)
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
        raise InvalidInput(Msg("unknown audit kind {kind!r}; use one of {kinds}", kind=kind, kinds=', '.join(KINDS)))
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
        try:
            _sign(session, seq, digest, at)
        except Conflict as exc:  # keep the write; verify reports the missing checkpoint
            log.error("audit.checkpoint_refused", seq=seq, reason=exc.detail)
    return Entry(seq, at, kind, label, action, subject, json.loads(body), prev, digest)


# --- checkpoints --------------------------------------------------------------------------




_SEGMENT = (
    select(audit_entry.c.seq, audit_entry.c.at, audit_entry.c.kind, audit_entry.c.actor, audit_entry.c.action,
           audit_entry.c.subject, audit_entry.c.data, audit_entry.c.prev_hash, audit_entry.c.hash)
    .where(audit_entry.c.seq > bindparam("after"), audit_entry.c.seq <= bindparam("upto"))
    .order_by(audit_entry.c.seq)
)


def _check_segment(session: Session | Connection, key: SystemKey, seq: int, digest: str) -> None:
    """Before signing entry `seq`: the previous checkpoint is valid and every entry since it
    links and hashes right up to `seq` (whose hash is `digest`); the checkpoints the interval
    requires exist. Raises Conflict naming the first problem."""
    prev_cp = session.execute(
        select(audit_checkpoint.c.seq, audit_checkpoint.c.hash, audit_checkpoint.c.key_id, audit_checkpoint.c.signature)
        .where(audit_checkpoint.c.seq < seq).order_by(audit_checkpoint.c.seq.desc()).limit(1)
    ).first()
    every = settings().audit_checkpoint_every
    after, prev = 0, GENESIS
    if prev_cp is not None:
        if not _signed(key, prev_cp.key_id, prev_cp.signature, int(prev_cp.seq), prev_cp.hash):
            raise Conflict(Msg("the checkpoint of entry {seq} is not validly signed: run `twonets audit verify`", seq=prev_cp.seq))
        after, prev = int(prev_cp.seq), prev_cp.hash
    if every > 0 and (seq - 1) // every > after // every:
        missing = (after // every + 1) * every
        raise Conflict(Msg("the checkpoint of entry {missing} is missing: run `twonets audit verify`", missing=missing))
    expected = after + 1
    first = True
    for e in session.execute(_SEGMENT, {"after": after - 1 if after else 0, "upto": seq}):
        if first and after:  # the checkpointed entry itself
            first = False
            if e.seq != after or e.hash != prev:
                raise Conflict(Msg("entry {after} differs from the one its checkpoint signed", after=after))
            continue
        first = False
        if e.seq != expected or e.prev_hash != prev or entry_hash(
            prev, e.seq, e.at, e.kind, e.actor, e.action, e.subject, e.data
        ) != e.hash:
            raise Conflict(Msg("entry {expected} is missing or altered: run `twonets audit verify`", expected=expected))
        prev = e.hash
        expected += 1
    if expected != seq + 1 or prev != digest:
        raise Conflict(Msg("entry {seq} is missing or altered: run `twonets audit verify`", seq=seq))


def _sign(session: Session | Connection, seq: int, digest: str, at: datetime, key: SystemKey | None = None) -> dict[str, Any]:
    key = key or system_key()
    _check_segment(session, key, seq, digest)
    signature = base64.b64encode(key.sign(checkpoint_message(seq, digest))).decode("ascii")
    session.execute(
        insert(audit_checkpoint).values(seq=seq, hash=digest, at=at, key_id=key.key_id, signature=signature)
    )
    # the head remembers the last signed hash (its seq is the live counter)
    session.execute(update(audit_head).where(audit_head.c.id == 1, audit_head.c.seq >= seq).values(hash=digest))
    signed = {"seq": seq, "hash": digest, "at": ts(at), "key_id": key.key_id, "signature": signature}
    if isinstance(session, Session):
        audit_anchor.after_commit(session, signed)
    return signed


def checkpoint(session: Session) -> dict[str, Any] | None:
    """Sign the current head now (None when the log is empty). Conflict when the entries since
    the previous checkpoint do not verify: a broken chain is never signed."""
    seq = session.execute(select(audit_head.c.seq).where(audit_head.c.id == 1)).scalar()
    if not seq:
        return None
    digest = session.execute(_PREV_HASH, {"seq": seq}).scalar()
    if digest is None:
        raise InvalidInput(Msg("the head entry {seq} is missing: run `twonets audit verify`", seq=seq))
    return _sign(session, int(seq), digest, utcnow())


def entry_count(session: Session | Connection) -> int:
    """How many entries the chain holds: the head's sequence number (one row, for `/metrics`)."""
    return int(session.execute(select(audit_head.c.seq).where(audit_head.c.id == 1)).scalar() or 0)


def head(session: Session) -> dict[str, Any] | None:
    """The current head (seq and hash) to publish, e.g. in a daily report; `verify --head`
    later proves that the chain still holds it."""
    seq = session.execute(select(audit_head.c.seq).where(audit_head.c.id == 1)).scalar()
    if not seq:
        return None
    digest = session.execute(_PREV_HASH, {"seq": seq}).scalar()
    return {"seq": int(seq), "hash": digest, "head": f"{int(seq)}:{digest}"}


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


def iter_entries(session: Session, batch: int = 10000) -> Iterator[Entry]:
    stmt = select(audit_entry).order_by(audit_entry.c.seq).execution_options(yield_per=batch)
    for row in session.execute(stmt):
        yield _entry(row)


from twonets.data.audit_verify import VerifyResult, verify  # noqa: E402,F401  (part of the audit API; it imports no audit)
