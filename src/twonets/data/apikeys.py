"""API keys for Open311 clients and devices: issuing, listing, revoking and authenticating them."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from twonets.core.i18n import Msg
from twonets.core.ids import next_id
from twonets.data import audit
from twonets.data.models import _iso
from twonets.data.tables import data_api_key
from twonets.data.tokens import _sha

# Roles carried by API-key actors (not user roles): what an Open311 client or a device may do.
API_KEY_ROLES = {"open311": "open311_client", "device": "device"}


@dataclass(frozen=True)
class ApiKey:
    id: str
    kind: str
    name: str
    department: str | None
    prefix: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "department": self.department,
            "prefix": self.prefix,
            "created_by": self.created_by,
            "created_at": _iso(self.created_at),
            "last_used_at": _iso(self.last_used_at),
            "revoked_at": _iso(self.revoked_at),
        }


def _api_key(row) -> ApiKey:
    return ApiKey(
        row.public_id, row.kind, row.name, row.department, row.prefix, row.created_by, row.created_at, row.last_used_at, row.revoked_at
    )


def create_api_key(
    session: Session, actor: Actor, *, kind: str, name: str, department: str | None = None, at: datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key; the raw secret is returned once and never stored (only its SHA-256)."""
    if not actor.has("administrator", "system"):
        raise Forbidden(Msg("only administrators issue API keys"))
    if kind not in API_KEY_ROLES:
        raise InvalidInput(Msg("kind is one of {api_key_roles}", api_key_roles=', '.join(API_KEY_ROLES)), errors=[{"field": "kind", "message": Msg("unknown")}])
    name = (name or "").strip()
    if not name:
        raise InvalidInput(Msg("name the client or device"), errors=[{"field": "name", "message": Msg("required")}])
    at = at or utcnow()
    prefix = secrets.token_hex(4)
    raw = f"tnk_{prefix}_{secrets.token_urlsafe(32)}"
    public_id = next_id(session, "KEY", at)
    session.execute(
        insert(data_api_key).values(
            public_id=public_id,
            prefix=prefix,
            key_hash=_sha(raw),
            kind=kind,
            name=name[:200],
            department=department,
            created_by=actor.label,
            created_at=at,
        )
    )
    audit.append(session, "admin", actor, "api_key.create", public_id, {"kind": kind, "department": department}, at=at)
    return get_api_key(session, public_id), raw


def get_api_key(session: Session, key_id: str) -> ApiKey:
    row = session.execute(select(data_api_key).where(data_api_key.c.public_id == key_id)).first()
    if row is None:
        raise NotFound(Msg("no API key {key_id}", key_id=key_id))
    return _api_key(row)


def list_api_keys(session: Session, actor: Actor, *, limit: int = 50, cursor: str | None = None) -> tuple[list[ApiKey], str | None]:
    if not actor.has("administrator", "system"):
        raise Forbidden(Msg("only administrators list API keys"))
    stmt = select(data_api_key).order_by(data_api_key.c.public_id).limit(limit + 1)
    if cursor:
        stmt = stmt.where(data_api_key.c.public_id > cursor)
    keys = [_api_key(r) for r in session.execute(stmt)]
    nxt = keys[limit - 1].id if len(keys) > limit else None
    return keys[:limit], nxt


def revoke_api_key(session: Session, actor: Actor, key_id: str, at: datetime | None = None) -> ApiKey:
    if not actor.has("administrator", "system"):
        raise Forbidden(Msg("only administrators revoke API keys"))
    at = at or utcnow()
    key = get_api_key(session, key_id)
    if key.revoked_at is not None:
        raise Conflict(Msg("API key {key_id} is already revoked", key_id=key_id))
    session.execute(update(data_api_key).where(data_api_key.c.public_id == key_id).values(revoked_at=at))
    audit.append(session, "admin", actor, "api_key.revoke", key_id, {}, at=at)
    return get_api_key(session, key_id)


def authenticate_api_key(session: Session, raw: str, *, kind: str | None = None, now: datetime | None = None) -> Actor:
    """The Actor an API key stands for (id 'key:KEY-…', role open311_client or device).

    The Actor carries no department even when the key was issued for one: a key has only the
    rights of its kind, never a department's staff rights (the key's department is a label)."""
    now = now or utcnow()
    parts = (raw or "").split("_")
    if len(parts) < 3 or parts[0] != "tnk":
        raise Unauthorized(Msg("the API key is not valid"))
    row = session.execute(select(data_api_key).where(data_api_key.c.prefix == parts[1])).first()
    if row is None or not hmac.compare_digest(row.key_hash, _sha(raw)) or row.revoked_at is not None:
        raise Unauthorized(Msg("the API key is not valid"))
    if kind is not None and row.kind != kind:
        raise Forbidden(Msg("this API key is for {kind}, not {kind2}", kind=row.kind, kind2=kind))
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        session.execute(update(data_api_key).where(data_api_key.c.id == row.id).values(last_used_at=now))
    return Actor(id=f"key:{row.public_id}", roles=frozenset({API_KEY_ROLES[row.kind]}))
