"""Stored media (photos of reported problems): files under ``settings().media_dir``, named by key.

A key is a relative path of safe segments (``open311/2026/12/01/…​.jpg``); orders keep keys
(or outside URLs) in ``photos``. Only images are stored, at most MAX_BYTES each, and a key
never reaches outside the media directory.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from twonets.core import calendar
from twonets.core.config import settings
from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg

MAX_BYTES = 5 * 1024 * 1024
# The image types a reporter's photo may have, by the file's first bytes (not its claimed type).
_SIGNATURES = ((b"\xff\xd8\xff", ".jpg"), (b"\x89PNG\r\n\x1a\n", ".png"), (b"GIF8", ".gif"), (b"RIFF", ".webp"))
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def root() -> Path:
    return Path(settings().media_dir)


def is_url(ref: str) -> bool:
    return ref.startswith(("http://", "https://"))


def path_of(key: str) -> Path | None:
    """The file a key names, or None when the key is malformed or nothing is stored under it."""
    parts = key.split("/")
    if not parts or len(parts) > 8 or not all(_SEGMENT.match(p) and ".." not in p for p in parts):
        return None
    path = root().joinpath(*parts)
    return path if path.is_file() else None


def save(data: bytes, folder: str) -> str:
    """Store an image under a new key in ``folder`` (one safe segment); returns the key."""
    if not _SEGMENT.match(folder):
        raise ValueError(f"bad media folder {folder!r}")
    if len(data) > MAX_BYTES:
        raise InvalidInput(Msg("A photo may have at most {mb} MB.", mb=MAX_BYTES // (1024 * 1024)),
                           errors=[{"field": "media", "message": Msg("too large")}])
    suffix = next((s for sig, s in _SIGNATURES if data.startswith(sig)), None)
    if suffix is None or (suffix == ".webp" and data[8:12] != b"WEBP"):
        raise InvalidInput(Msg("A photo must be a JPEG, PNG, GIF or WebP image."),
                           errors=[{"field": "media", "message": Msg("not an image")}])
    day = calendar.local_date(calendar.utcnow()).strftime("%Y/%m/%d")
    key = f"{folder}/{day}/{secrets.token_hex(12)}{suffix}"
    path = root().joinpath(*key.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return key


def discard(key: str) -> None:
    """Remove a stored file (a photo whose request was not created after all)."""
    path = path_of(key)
    if path is not None:
        path.unlink(missing_ok=True)
