"""The audit chain's hashing and checkpoint signatures, shared by writing (`audit`) and
verifying (`audit_verify`): an entry's hash covers the previous hash and the entry's canonical
fields; a checkpoint signs (seq, hash) with the system's Ed25519 key.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from twonets.data.keys import SystemKey

GENESIS = "0" * 64


def canonical_data(data: dict[str, Any] | None) -> str:
    return json.dumps(data or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def ts(at: datetime) -> str:
    """Canonical timestamp: UTC, microseconds, 'Z'."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds") + "Z"


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_sha256 = hashlib.sha256


def entry_hash(prev_hash: str, seq: int, at: datetime, kind: str, actor: str, action: str, subject: str, data: str) -> str:
    body = _dumps([seq, ts(at), kind, actor, action, subject, data])
    return _sha256((prev_hash + body).encode("utf-8")).hexdigest()


def checkpoint_message(seq: int, digest: str) -> bytes:
    return f"twonets-audit-checkpoint\n{seq}\n{digest}".encode("ascii")


def signed(key: SystemKey, key_id: str, signature: str, seq: int, digest: str) -> bool:
    if key_id != key.key_id:
        return False
    try:
        sig = base64.b64decode(signature, validate=True)
    except (ValueError, TypeError):
        return False
    return key.verify(sig, checkpoint_message(seq, digest))
