"""The system's Ed25519 signing key: signs audit checkpoints and (without a shared secret) JWTs.

Stored as PEM under ``settings().key_dir`` (default ./var/keys), generated on first use with
owner-only permissions. Verification uses the public key derived from it; `key_id` is the
first 16 hex digits of the SHA-256 of the raw public key.

A database that has been signed is bound to its keys: `require_keys` (run by `serve` and the
CLI commands that sign or verify) refuses to go on when the key that signed its audit
checkpoints, or a department's current e-seal, is missing from the key directory — a new key
would silently change licence seals and JWTs and make the audit chain unverifiable. The key
directory is part of every backup (`twonets backup`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from twonets.core.config import settings
from twonets.core.i18n import Joined, Msg

KEY_FILE = "system_ed25519.pem"
_lock = threading.Lock()
_cache: dict[str, SystemKey] = {}


@dataclass(frozen=True)
class SystemKey:
    private: Ed25519PrivateKey
    public: Ed25519PublicKey
    key_id: str
    path: Path

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    def verify(self, signature: bytes, message: bytes) -> bool:
        try:
            self.public.verify(signature, message)
            return True
        except InvalidSignature:
            return False

    def public_raw(self) -> bytes:
        return self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_system_key(key_dir: str | os.PathLike | None = None) -> SystemKey | None:
    """The system key if the key directory holds one (never generates)."""
    directory = Path(key_dir or settings().key_dir).resolve()
    cached = _cache.get(str(directory))
    if cached is not None:
        return cached
    if not (directory / KEY_FILE).exists():
        return None
    return system_key(directory)


class KeysMissing(Exception):
    """The key directory lacks keys the database was signed with (a one-line message)."""


def missing_keys(session, key_dir: str | os.PathLike | None = None) -> str | None:
    """What the database needs from the key directory and it lacks, in one line; None if all there.

    The database names its keys itself: the key id of its newest audit checkpoint, and the
    current e-seal of each department (`svc_seal_key`, read by name: the data foundation does
    not import the services package). A database that has signed nothing needs nothing."""
    from sqlalchemy import inspect, text

    directory = Path(key_dir or settings().key_dir).resolve()
    tables = set(inspect(session.connection()).get_table_names())
    lacking: list[str] = []
    if "audit_checkpoint" in tables:
        signer = session.execute(text("SELECT key_id FROM audit_checkpoint ORDER BY seq DESC, id DESC LIMIT 1")).scalar()
        if signer is not None:
            key = load_system_key(directory)
            if key is None:
                lacking.append(Msg("the system key {signer} that signed the audit chain ({file})", signer=signer, file=KEY_FILE))
            elif key.key_id != signer:
                lacking.append(Msg("the system key {signer} that signed the audit chain (the directory holds {held})",
                                   signer=signer, held=key.key_id))
    if "svc_seal_key" in tables:
        seals = session.execute(text("SELECT key_id FROM svc_seal_key WHERE retired_at IS NULL ORDER BY key_id")).scalars()
        gone = [k for k in seals if not (directory / "eseals" / f"{k}.pem").exists()]
        if gone:
            lacking.append(Msg("{count} e-seal key(s) ({keys})", count=len(gone),
                               keys=", ".join(gone[:3]) + ("…" if len(gone) > 3 else "")))
    if not lacking:
        return None
    return Msg(
        "the signing keys of this database are missing from {directory}: {lacking}. Restore them with `twonets restore "
        "BACKUP` or point TWONETS_KEY_DIR at the directory that holds them; twonets makes no new keys for a database "
        "that has been signed.", directory=directory, lacking=Joined(lacking))


def require_keys(engine=None, key_dir: str | os.PathLike | None = None) -> None:
    """Raise KeysMissing unless the key directory holds every key the database was signed with."""
    from twonets.core.db import default_engine, session_factory

    with session_factory(engine or default_engine())() as session:
        problem = missing_keys(session, key_dir)
    if problem:
        raise KeysMissing(problem)


def system_key(key_dir: str | os.PathLike | None = None) -> SystemKey:
    """The system key, loaded (or generated) once per process and key directory."""
    directory = Path(key_dir or settings().key_dir).resolve()
    cached = _cache.get(str(directory))
    if cached is not None:
        return cached
    with _lock:
        cached = _cache.get(str(directory))
        if cached is not None:
            return cached
        path = directory / KEY_FILE
        if path.exists():
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(private, Ed25519PrivateKey):
                raise ValueError(f"{path} is not an Ed25519 private key")
        else:
            directory.mkdir(parents=True, exist_ok=True)
            private = Ed25519PrivateKey.generate()
            pem = private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
            os.replace(tmp, path)
        public = private.public_key()
        key = SystemKey(private=private, public=public, key_id=key_id_of(public), path=path)
        _cache[str(directory)] = key
        return key
