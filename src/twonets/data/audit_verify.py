"""`verify`: check the whole audit chain, its checkpoints, the anchor file and a published head.

Streams the chain once and names the first broken entry. What it requires is listed in the
`audit` module's docstring, with the limits of what it can prove.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.core.config import settings
from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg
from twonets.data import audit_anchor
from twonets.data.audit_hash import GENESIS, entry_hash
from twonets.data.audit_hash import signed as _signed
from twonets.data.keys import SystemKey, system_key
from twonets.data.tables import audit_checkpoint, audit_entry, audit_head


@dataclass
class VerifyResult:
    ok: bool
    entries: int = 0
    checkpoints: int = 0
    anchored: int = 0
    head_seq: int = 0
    unsigned: int = 0
    first_broken: int | None = None
    reason: str | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "anchored": self.anchored,
            "head_seq": self.head_seq,
            "unsigned": self.unsigned,
            "first_broken": self.first_broken,
            "reason": self.reason,
            "problems": self.problems,
            "seconds": round(self.seconds, 3),
        }


def parse_head(raw: str) -> tuple[int, str]:
    """`SEQ:HASH` as printed by `twonets audit head`."""
    seq, _, digest = (raw or "").strip().partition(":")
    if not seq.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InvalidInput(Msg("a published head reads SEQ:HASH (64 hex digits), not {raw!r}", raw=raw),
                           errors=[{"field": "head", "message": Msg("malformed")}])
    return int(seq), digest


def verify(
    session: Session,
    *,
    key: SystemKey | None = None,
    head: tuple[int, str] | None = None,
    key_dir: str | None = None,
    batch: int = 20000,
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Check the whole chain, every checkpoint, the anchor file and (if given) a published head;
    name the first broken entry."""
    started = time.perf_counter()
    key = key or system_key(key_dir)
    result = VerifyResult(ok=True)

    def broken(seq: int | None, reason: str) -> None:
        result.problems.append({"seq": seq, "reason": reason})
        if result.first_broken is None and seq is not None:
            result.first_broken, result.reason = seq, reason
        elif result.reason is None:
            result.reason = reason
        result.ok = False

    checkpoints: dict[int, list[str]] = {}
    for cp in session.execute(
        select(audit_checkpoint.c.seq, audit_checkpoint.c.hash, audit_checkpoint.c.key_id, audit_checkpoint.c.signature)
    ):
        result.checkpoints += 1
        checkpoints.setdefault(int(cp.seq), []).append(cp.hash)
        if cp.key_id != key.key_id:
            broken(int(cp.seq), Msg("checkpoint at entry {seq} was signed by unknown key {key_id}", seq=cp.seq, key_id=cp.key_id))
        elif not _signed(key, cp.key_id, cp.signature, int(cp.seq), cp.hash):
            broken(int(cp.seq), Msg("checkpoint at entry {seq} has an invalid signature", seq=cp.seq))

    anchors, bad_lines = audit_anchor.read(key_dir)
    where = audit_anchor.anchor_path(key_dir)
    for n in bad_lines:
        broken(None, Msg("line {n} of the anchor file {where} is unreadable", n=n, where=where))
    for a in anchors:
        if not _signed(key, a["key_id"], a["signature"], a["seq"], a["hash"]):
            broken(a["seq"], Msg("the anchor file {where} holds an entry {seq} not validly signed by this key", where=where, seq=a['seq']))
    result.anchored = len(anchors)

    wanted = set(checkpoints) | {a["seq"] for a in anchors} | ({head[0]} if head else set())
    chain_broken = False
    expected = 1
    prev = GENESIS
    hash_at: dict[int, str] = {}
    cols = (
        audit_entry.c.seq, audit_entry.c.at, audit_entry.c.kind, audit_entry.c.actor, audit_entry.c.action,
        audit_entry.c.subject, audit_entry.c.data, audit_entry.c.prev_hash, audit_entry.c.hash,
    )
    stmt = select(*cols).order_by(audit_entry.c.seq).execution_options(yield_per=batch)
    for part in session.execute(stmt).partitions(batch):
        if not chain_broken:
            for seq, at, kind, actor, action, subject, data, prev_hash, digest in part:
                if seq != expected:
                    if seq > expected:
                        broken(expected, Msg("entry {expected} is missing (next present is {seq})", expected=expected, seq=seq))
                    else:
                        broken(seq, Msg("entry {seq} is out of order", seq=seq))
                    chain_broken = True
                    break
                if prev_hash != prev:
                    broken(seq, Msg("entry {seq} does not link to entry {previous} (prev_hash differs)", seq=seq, previous=seq - 1))
                    chain_broken = True
                    break
                if entry_hash(prev, seq, at, kind, actor, action, subject, data) != digest:
                    broken(seq, Msg("entry {seq} was altered (its hash does not match its content)", seq=seq))
                    chain_broken = True
                    break
                if seq in wanted:
                    hash_at[seq] = digest
                prev = digest
                expected += 1
        if progress is not None:
            progress(len(part))
    last_seq = expected - 1
    if chain_broken:
        result.entries = session.execute(select(func.count()).select_from(audit_entry)).scalar_one()
        result.seconds = time.perf_counter() - started
        return result
    result.entries = last_seq

    def holds(seq: int, digest: str, what: Msg) -> None:
        if seq > last_seq:
            broken(last_seq + 1, Msg("entries after {last_seq} are missing ({what} entry {seq})", last_seq=last_seq, what=what, seq=seq))
        elif hash_at.get(seq) != digest:
            broken(seq, Msg("entry {seq} differs from the one {what}", seq=seq, what=what))

    for seq, digests in sorted(checkpoints.items()):
        for digest in digests:
            holds(seq, digest, Msg("its checkpoint signed"))
    every = settings().audit_checkpoint_every
    if every > 0:
        for seq in range(every, last_seq + 1, every):
            if seq not in checkpoints:
                broken(seq, Msg("the checkpoint of entry {seq} is missing (one is signed every {every} entries)", seq=seq, every=every))
                break
    for a in sorted(anchors, key=lambda a: a["seq"]):
        holds(a["seq"], a["hash"], Msg("the anchor file {where} recorded as signed:", where=where))
        if a["seq"] not in checkpoints:
            broken(a["seq"], Msg("the checkpoint of entry {seq} recorded in the anchor file is gone from the database", seq=a['seq']))
    if head is not None:
        holds(head[0], head[1], Msg("the published head names as"))
    row = session.execute(select(audit_head.c.seq).where(audit_head.c.id == 1)).first()
    head_seq = int(row.seq) if row is not None else 0
    result.head_seq = head_seq
    if head_seq > last_seq:
        broken(last_seq + 1, Msg("entries after {last_seq} are missing (the head is at {head_seq})", last_seq=last_seq, head_seq=head_seq))
    elif head_seq < last_seq:
        broken(head_seq + 1, Msg("entries after {head_seq} were added behind the head's back", head_seq=head_seq))
    signed = [s for s in checkpoints if s <= last_seq]
    result.unsigned = last_seq - max(signed, default=0)
    result.problems.sort(key=lambda p: (p["seq"] is None, p["seq"] or 0))
    if result.problems:
        result.first_broken, result.reason = result.problems[0]["seq"], result.problems[0]["reason"]
    result.seconds = time.perf_counter() - started
    return result
