"""The system's Ed25519 signing key: signs audit checkpoints and (without a shared secret) JWTs.

Stored as PEM under ``settings().key_dir`` (default ./var/keys), generated on first use with
owner-only permissions. Verification uses the public key derived from it; `key_id` is the
first 16 hex digits of the SHA-256 of the raw public key.
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

KEY_FILE = "system_ed25519.pem"
_lock = threading.Lock()
_cache: dict[str, "SystemKey"] = {}


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
