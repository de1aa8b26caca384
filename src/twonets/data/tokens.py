"""Tokens: signed JWT access tokens (issue, decode, JWKS) and rotating refresh tokens of which only a SHA-256 is stored.

Sessions: a sign-in starts a refresh-token family; its id is the access token's `sid` claim.
The session is live while some token of the family is unrevoked and the account is active, so
logout, a reused (revoked) refresh family, a role or password change and deactivation all end
the access tokens of that session at once (`session_is_live`, one indexed query per request).
Tokens minted directly for an Actor (tests, service accounts, benchmarks) carry no `sid` and
are bound to no session: only code holding the signing key can mint them.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.config import settings
from twonets.core.errors import Unauthorized
from twonets.core.i18n import Msg
from twonets.data.account import User, _user
from twonets.data.keys import system_key
from twonets.data.tables import data_refresh_token, data_user


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    user: User

    def as_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "refresh_expires_in": self.refresh_expires_in,
        }


def _signing() -> tuple[Any, Any, str]:
    """(signing key, verifying key, algorithm)."""
    cfg = settings()
    if cfg.jwt_secret:
        return cfg.jwt_secret, cfg.jwt_secret, "HS256"
    key = system_key()
    return key.private, key.public, "EdDSA"


def issue_access_token(
    user: User | Actor, now: datetime | None = None, ttl_s: float | None = None, *, sid: str | None = None
) -> tuple[str, int]:
    """A signed access token for a user (or directly for an Actor: tests, service accounts);
    `sid` binds it to a session (a refresh-token family)."""
    cfg = settings()
    now = now or utcnow()
    ttl = int(ttl_s if ttl_s is not None else cfg.access_token_ttl_s)
    actor = user.actor() if isinstance(user, User) else user
    claims: dict[str, Any] = {
        "iss": cfg.jwt_issuer,
        "aud": cfg.jwt_audience,
        "sub": actor.id,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(now.timestamp()) + ttl,
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "roles": sorted(actor.roles),
    }
    for name in ("department", "street", "grid"):
        value = getattr(actor, name)
        if value:
            claims[name] = value
    if isinstance(user, User):
        claims["preferred_username"] = user.username
    if sid:
        claims["sid"] = sid
    signing, _, alg = _signing()
    headers = {"kid": system_key().key_id} if alg == "EdDSA" else None
    return jwt.encode(claims, signing, algorithm=alg, headers=headers), ttl


def decode_access_token(token: str) -> Actor:
    """The Actor a valid access token names; Unauthorized for anything else. The signature only:
    a caller that serves requests also checks the session (`decode_access_claims`)."""
    return decode_access_claims(token)[0]


def decode_access_claims(token: str) -> tuple[Actor, str | None]:
    """The Actor a valid access token names and its session id (None when bound to none)."""
    cfg = settings()
    _, verifying, alg = _signing()
    try:
        claims = jwt.decode(
            token,
            verifying,
            algorithms=[alg],
            audience=cfg.jwt_audience,
            issuer=cfg.jwt_issuer,
            leeway=10,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized(Msg("the access token has expired; refresh it")) from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized(Msg("the access token is not valid")) from exc
    if claims.get("typ") != "access":
        raise Unauthorized(Msg("not an access token"))
    roles = claims.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthorized(Msg("the access token is not valid"))
    sid = claims.get("sid")
    if sid is not None and not isinstance(sid, str):
        raise Unauthorized(Msg("the access token is not valid"))
    return Actor(
        id=str(claims["sub"]),
        roles=frozenset(roles),
        department=claims.get("department"),
        street=claims.get("street"),
        grid=claims.get("grid"),
    ), sid


def session_is_live(session: Session, user_id: str, sid: str) -> bool:
    """Whether the session `sid` of user `user_id` may still act: a token of its family is
    unrevoked and the account is active (by the family index; at most one row read)."""
    stmt = (
        select(data_refresh_token.c.id)
        .join(data_user, data_user.c.id == data_refresh_token.c.user_id)
        .where(
            data_refresh_token.c.family == sid,
            data_refresh_token.c.revoked_at.is_(None),
            data_user.c.public_id == user_id,
            data_user.c.active.is_(True),
        )
        .limit(1)
    )
    return session.execute(stmt).first() is not None


def _sha(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _issue_refresh(session: Session, user_pk: int, family: str, now: datetime) -> tuple[str, int]:
    ttl = int(settings().refresh_token_ttl_s)
    raw = "rt_" + secrets.token_urlsafe(32)
    session.execute(
        insert(data_refresh_token).values(
            token_hash=_sha(raw), user_id=user_pk, family=family, expires_at=now + timedelta(seconds=ttl), created_at=now
        )
    )
    return raw, ttl


def _pair(session: Session, row, family: str, now: datetime) -> TokenPair:
    user = _user(row)
    access, ttl = issue_access_token(user, now, sid=family)
    refresh, rttl = _issue_refresh(session, row.id, family, now)
    return TokenPair(access, ttl, refresh, rttl, user)


def refresh(session: Session, refresh_token: str, now: datetime | None = None) -> TokenPair:
    """Rotate a refresh token. Reusing a spent token revokes its whole family (theft signal)."""
    now = now or utcnow()
    tok = session.execute(select(data_refresh_token).where(data_refresh_token.c.token_hash == _sha(refresh_token or ""))).first()
    if tok is None:
        raise Unauthorized(Msg("the refresh token is not valid"))
    if tok.used_at is not None or tok.revoked_at is not None:
        session.execute(
            update(data_refresh_token)
            .where(data_refresh_token.c.family == tok.family, data_refresh_token.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        raise Unauthorized(Msg("the refresh token was already used or revoked; sign in again"))
    if tok.expires_at <= now:
        raise Unauthorized(Msg("the refresh token has expired; sign in again"))
    row = session.execute(select(data_user).where(data_user.c.id == tok.user_id)).one()
    if not row.active:
        raise Unauthorized(Msg("the account is disabled"))
    session.execute(update(data_refresh_token).where(data_refresh_token.c.id == tok.id).values(used_at=now))
    return _pair(session, row, tok.family, now)


def logout(session: Session, refresh_token: str | None = None, now: datetime | None = None, *, sid: str | None = None) -> None:
    """End a session, named by one of its refresh tokens or by its id (an access token's `sid`):
    every token of the family is revoked, and with it every access token of the session."""
    now = now or utcnow()
    if refresh_token:
        tok = session.execute(select(data_refresh_token).where(data_refresh_token.c.token_hash == _sha(refresh_token))).first()
        sid = tok.family if tok is not None else None
    if sid:
        session.execute(
            update(data_refresh_token)
            .where(data_refresh_token.c.family == sid, data_refresh_token.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def revoke_all_refresh(session: Session, user_id: str, now: datetime) -> None:
    pk = session.execute(select(data_user.c.id).where(data_user.c.public_id == user_id)).scalar()
    if pk is not None:
        session.execute(
            update(data_refresh_token)
            .where(data_refresh_token.c.user_id == pk, data_refresh_token.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


def jwks() -> dict[str, Any]:
    """Public keys that verify access tokens (empty with a shared HS256 secret)."""
    import base64

    if settings().jwt_secret:
        return {"keys": []}
    key = system_key()
    x = base64.urlsafe_b64encode(key.public_raw()).rstrip(b"=").decode("ascii")
    return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": key.key_id, "alg": "EdDSA", "use": "sig"}]}
