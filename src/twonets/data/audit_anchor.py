"""The audit anchor: signed checkpoints copied, after their commit, to an append-only file in
the key directory (`<key_dir>/audit_anchor.jsonl`, one JSON object a line: seq, hash, at,
key_id, signature).

The database alone cannot prove that nothing was removed from its end: whoever can write it
can delete entries and checkpoints and lower the head's counter. The anchor lives outside the
database, next to the key that signs, and `audit.verify` requires every anchored checkpoint
to be present and equal in the chain. Lines are written with O_APPEND (one write per line, so
concurrent processes never interleave within a line) and fsynced; a checkpoint whose
transaction rolls back is never anchored.

Limits: whoever can also write the key directory can rewrite this file (keep a copy
elsewhere, e.g. with the backups, or publish heads: `twonets audit head`, then
`verify --head`); the entries after the newest anchored checkpoint are protected only by a
published head; and a database emptied together with its anchor file looks new.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from twonets.core.config import settings

ANCHOR_FILE = "audit_anchor.jsonl"
_hooked = False


def anchor_path(key_dir: str | os.PathLike | None = None) -> Path:
    return Path(key_dir or settings().key_dir).resolve() / ANCHOR_FILE


def write(lines: list[dict[str, Any]], key_dir: str | os.PathLike | None = None) -> None:
    """Append anchor lines now (for committed checkpoints only)."""
    if not lines:
        return
    path = anchor_path(key_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for line in lines:
            os.write(fd, (json.dumps(line, sort_keys=True, separators=(",", ":")) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read(key_dir: str | os.PathLike | None = None) -> tuple[list[dict[str, Any]], list[int]]:
    """(anchor lines, numbers of the lines that do not parse)."""
    path = anchor_path(key_dir)
    if not path.exists():
        return [], []
    lines: list[dict[str, Any]] = []
    bad: list[int] = []
    for n, raw in enumerate(path.read_text("ascii", errors="replace").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
            item["seq"] = int(item["seq"])
            for k in ("hash", "key_id", "signature"):
                if not isinstance(item[k], str):
                    raise TypeError(k)
            lines.append(item)
        except (ValueError, KeyError, TypeError):
            bad.append(n)
    return lines, bad


def after_commit(session, line: dict[str, Any]) -> None:
    """Anchor `line` once the session's transaction commits; dropped when the transaction, or
    the savepoint it was signed in, rolls back."""
    _hook()
    tx = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault("audit_anchor", []).append((settings().key_dir, line, tx))


def _inside(tx, ended) -> bool:
    while tx is not None:
        if tx is ended:
            return True
        tx = tx.parent
    return False


def _hook() -> None:
    global _hooked
    if _hooked:
        return
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    @event.listens_for(Session, "after_commit")
    def _write(sess):
        if sess.in_nested_transaction():  # a savepoint released: the transaction goes on
            return
        queued = sess.info.pop("audit_anchor", None)
        by_dir: dict[str, list[dict[str, Any]]] = {}
        for key_dir, line, _tx in queued or ():
            by_dir.setdefault(key_dir, []).append(line)
        for key_dir, lines in by_dir.items():
            write(lines, key_dir)

    @event.listens_for(Session, "after_soft_rollback")
    def _drop(sess, previous_transaction):
        queued = sess.info.get("audit_anchor")
        if queued:
            sess.info["audit_anchor"] = [q for q in queued if not _inside(q[2], previous_transaction)]

    _hooked = True
