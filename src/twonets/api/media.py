"""Stored media at ``/media/{key}``: the photos that orders (and Open311 ``media_url``) point to.

Public like the Open311 reads that link here: keys of uploads are random, and nothing but
stored images is served (``core/media``).
"""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter
from fastapi.responses import FileResponse

from twonets.core import media
from twonets.core.errors import NotFound
from twonets.core.i18n import Msg

router = APIRouter(tags=["media"])


@router.get("/media/{key:path}", summary="A stored photo, by its key", response_class=FileResponse)
def get_media(key: str) -> FileResponse:
    path = media.path_of(key)
    if path is None:
        raise NotFound(Msg("No stored media {key!r}.", key=key))
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "public, max-age=86400"})


def url_of(ref: str, base: str) -> str:
    """An absolute URL for a photo reference: outside URLs as they are, keys under ``{base}/media/``."""
    from urllib.parse import quote

    return ref if media.is_url(ref) else f"{base.rstrip('/')}/media/{quote(ref)}"
