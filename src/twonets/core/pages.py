"""One page of a listing and its opaque cursor: the one way every list is paginated.

    rows = query.where(table.c.id < pages.decode_int(cursor, "o")).limit(limit + 1)   # None: first page
    return Page[Order](items=items, next=pages.next_cursor(rows, limit, "o", lambda r: r.id))

Rules and limits:
- A cursor is `base64url("<kind>:<value>")` without padding. Clients treat it as opaque and pass
  back the `next` of the previous page; `kind` (one or a few letters per listing) makes a cursor
  of one listing useless to another.
- Integer values (keysets on surrogate keys) are 0..2**63-1, the range of a 64-bit column on
  SQLite and PostgreSQL; anything else — not base64, not UTF-8, the wrong kind, not a number, a
  negative or larger number, longer than MAX_LENGTH — is `InvalidInput` (422) on the field
  `cursor`, never a 500.
- Text values (public ids, codes) and timestamps (`decode_time`: ISO 8601 with an offset) are
  refused the same way when they do not parse.
- `next` is None on the last page. A page holds at most the `limit` it was asked for; the query
  reads `limit + 1` rows to know whether another page follows.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg

T = TypeVar("T")
R = TypeVar("R")

MAX_LENGTH = 400
MAX_INT = 2**63 - 1


class Page(BaseModel, Generic[T]):
    """A page of a listing: its items and the cursor of the next page (None on the last)."""

    items: list[T]
    next: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "next": self.next}


def invalid(message: str = Msg("invalid")) -> InvalidInput:
    return InvalidInput(Msg("The cursor is not valid; use the `next` value of the previous page."),
                        errors=[{"field": "cursor", "message": message}])


def encode(kind: str, value: int | str | datetime) -> str:
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    return base64.urlsafe_b64encode(f"{kind}:{text}".encode()).decode().rstrip("=")


def decode(cursor: str, kind: str) -> str:
    """The text value inside a cursor of `kind`, or InvalidInput."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_LENGTH:
        raise invalid()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, ValueError):
        raise invalid() from None
    found, sep, value = raw.partition(":")
    if not sep or found != kind or not value:
        raise invalid()
    return value


def decode_int(cursor: str | None, kind: str) -> int | None:
    """The integer keyset value of a cursor (None for the first page), or InvalidInput."""
    if cursor is None or cursor == "":
        return None
    value = decode(cursor, kind)
    if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) > MAX_INT:
        raise invalid(Msg("not a position in this listing"))
    return int(value)


def decode_time(cursor: str | None, kind: str) -> datetime | None:
    """The timestamp of a cursor (None for the first page), or InvalidInput."""
    if cursor is None or cursor == "":
        return None
    try:
        at = datetime.fromisoformat(decode(cursor, kind))
    except ValueError:
        raise invalid() from None
    if at.tzinfo is None:
        raise invalid()
    return at


def check_limit(limit: int, most: int = 500) -> None:
    if not isinstance(limit, int) or not 1 <= limit <= most:
        raise InvalidInput(Msg("limit must be between 1 and {most}", most=most), errors=[{"field": "limit", "message": Msg("out of range")}])


def next_cursor(rows: Sequence[R], limit: int, kind: str, key: Callable[[R], int | str | datetime]) -> str | None:
    """The cursor after the `limit`-th row when the query (read with `limit + 1`) found more."""
    return encode(kind, key(rows[limit - 1])) if len(rows) > limit else None


def page(rows: Sequence[R], limit: int, kind: str, key: Callable[[R], int | str | datetime],
         item: Callable[[R], T]) -> Page[T]:
    """A Page from rows read with `limit + 1`: the first `limit` rows as items, and the cursor."""
    return Page[Any](items=[item(r) for r in rows[:limit]], next=next_cursor(rows, limit, kind, key))
