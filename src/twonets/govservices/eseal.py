"""Department e-seals (电子印章): one Ed25519 signing key per department at a time.

The private key lives as PEM (owner-only) under `<key_dir>/eseals/`, like the system key of
`twonets.data.keys`; the public key is registered in `svc_seal_key`, where it stays after a
rotation (marked retired) so that licences signed earlier keep verifying. A key id reads
`<department>-<first 12 hex digits of the SHA-256 of the raw public key>`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.config import settings
from twonets.core.errors import Forbidden, NotFound
from twonets.core.i18n import Msg
from twonets.data import audit
from twonets.govservices.tables import svc_seal_key

_lock = threading.Lock()
_private: dict[str, Ed25519PrivateKey] = {}


@dataclass(frozen=True)
class SealKey:
    key_id: str
    department: str
    public_key: str  # base64 of the raw 32 bytes
    created_at: datetime
    retired_at: datetime | None

    def public(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(self.public_key))

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self.public().verify(signature, message)
            return True
        except (InvalidSignature, ValueError):
            return False

    def as_dict(self) -> dict:
        return {
            "key_id": self.key_id,
            "department": self.department,
            "public_key": self.public_key,
            "created_at": audit.ts(self.created_at),
            "retired_at": audit.ts(self.retired_at) if self.retired_at else None,
        }


def _dir() -> Path:
    return Path(settings().key_dir).resolve() / "eseals"


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _key(row) -> SealKey:
    return SealKey(row.key_id, row.department, row.public_key, row.created_at, row.retired_at)


def _load_private(key_id: str) -> Ed25519PrivateKey | None:
    path = _dir() / f"{key_id}.pem"
    cache_key = str(path)
    hit = _private.get(cache_key)
    if hit is not None:
        return hit
    if not path.exists():
        return None
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        return None
    _private[cache_key] = key
    return key


def _create(session: Session, department: str, at: datetime) -> tuple[SealKey, Ed25519PrivateKey]:
    private = Ed25519PrivateKey.generate()
    raw = _raw(private.public_key())
    key_id = f"{department}-{hashlib.sha256(raw).hexdigest()[:12]}"
    directory = _dir()
    directory.mkdir(parents=True, exist_ok=True)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path = directory / f"{key_id}.pem"
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.replace(tmp, path)
    _private[str(path)] = private
    public = base64.b64encode(raw).decode()
    session.execute(insert(svc_seal_key).values(key_id=key_id, department=department, public_key=public, created_at=at))
    return SealKey(key_id, department, public, at, None), private


_CURRENT = (
    select(svc_seal_key)
    .where(svc_seal_key.c.department == bindparam("department"), svc_seal_key.c.retired_at.is_(None))
    .order_by(svc_seal_key.c.id.desc())
    .limit(1)
)


def signing_key(session: Session, department: str, *, at: datetime | None = None) -> tuple[SealKey, Ed25519PrivateKey]:
    """The department's current key (made on first use, or when its private part is gone)."""
    at = at or utcnow()
    with _lock:
        row = session.execute(_CURRENT, {"department": department}).first()
        if row is not None:
            private = _load_private(row.key_id)
            if private is not None:
                return _key(row), private
            session.execute(update(svc_seal_key).where(svc_seal_key.c.key_id == row.key_id).values(retired_at=at))
        return _create(session, department, at)


def rotate(session: Session, actor: Actor, department: str, *, at: datetime | None = None) -> SealKey:
    """Retire the department's key and make a new one; earlier licences keep verifying."""
    if not (actor.has("administrator", "system") or (actor.has("data_officer") and actor.department == department)):
        raise Forbidden(Msg("only administrators and the department's data officers rotate its e-seal"))
    from twonets.data.departments import departments

    if department not in departments():
        raise NotFound(Msg("no department {department!r}", department=department))
    at = at or utcnow()
    session.execute(
        update(svc_seal_key).where(svc_seal_key.c.department == department, svc_seal_key.c.retired_at.is_(None)).values(retired_at=at)
    )
    key, _ = _create(session, department, at)
    audit.append(session, "admin", actor, "eseal.rotate", department, {"key_id": key.key_id}, at=at)
    return key


def get(session: Session, key_id: str) -> SealKey:
    row = session.execute(select(svc_seal_key).where(svc_seal_key.c.key_id == key_id)).first()
    if row is None:
        raise NotFound(Msg("no e-seal key {key_id}", key_id=key_id))
    return _key(row)


def all_keys(session: Session, department: str | None = None) -> list[SealKey]:
    stmt = select(svc_seal_key).order_by(svc_seal_key.c.id)
    if department:
        stmt = stmt.where(svc_seal_key.c.department == department)
    return [_key(r) for r in session.execute(stmt)]
