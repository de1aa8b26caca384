"""Identity and access: users with roles, argon2 passwords, signed JWT access tokens with
rotating refresh tokens, API keys for Open311 clients and devices, login throttling.

Access tokens are short-lived JWTs with OIDC-style claims (iss, aud, sub, exp, iat, nbf,
jti, roles, department, street, grid, preferred_username). They are signed with the system's
Ed25519 key (EdDSA) unless TWONETS_JWT_SECRET is set, in which case HS256 with that secret.
Refresh tokens and API keys are random strings of which only a SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import ROLES, Actor
from twonets.core.calendar import utcnow
from twonets.core.config import settings
from twonets.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unauthorized
from twonets.core.ids import next_id
from twonets.data import audit
from twonets.data.keys import system_key
from twonets.data.models import _iso
from twonets.data.tables import data_api_key, data_login_throttle, data_refresh_token, data_user

USER_ROLES = tuple(r for r in ROLES if r != "system")
STAFF_ROLES = frozenset(USER_ROLES) - {"citizen", "company_agent"}
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,80}$")
MIN_PASSWORD = 10

# Roles carried by API-key actors (not user roles): what an Open311 client or a device may do.
API_KEY_ROLES = {"open311": "open311_client", "device": "device"}

HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile

# Throttling: failures per key within WINDOW lock the key for LOCKOUT.
WINDOW = timedelta(minutes=15)
USER_MAX_FAILURES = 5
IP_MAX_FAILURES = 20
LOCKOUT = timedelta(minutes=5)


class Throttled(DomainError):
    status = 429
    title = "Too many requests"

    def __init__(self, retry_after: int):
        super().__init__(f"Too many failed logins; try again in {retry_after} seconds.", retry_after=retry_after)
        self.retry_after = retry_after


# --- users --------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    id: str
    username: str
    roles: tuple[str, ...]
    department: str | None
    street: str | None
    grid: str | None
    subject_id: str | None
    active: bool
    created_at: datetime

    def actor(self) -> Actor:
        return Actor(
            id=self.id,
            roles=frozenset(self.roles),
            department=self.department,
            street=self.street,
            grid=self.grid,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "roles": list(self.roles),
            "department": self.department,
            "street": self.street,
            "grid": self.grid,
            "subject_id": self.subject_id,
            "active": self.active,
            "created_at": _iso(self.created_at),
        }


def _user(row) -> User:
    return User(
        id=row.public_id,
        username=row.username,
        roles=tuple(row.roles),
        department=row.department,
        street=row.street,
        grid=row.grid,
        subject_id=row.subject_id,
        active=bool(row.active),
        created_at=row.created_at,
    )


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def _check_roles(roles: list[str], department: str | None) -> list[str]:
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in USER_ROLES]
    if not roles or unknown:
        raise InvalidInput(
            f"unknown role(s): {', '.join(unknown)}" if unknown else "a user has at least one role",
            errors=[{"field": "roles", "message": f"use {', '.join(USER_ROLES)}"}],
        )
    if set(roles) & (STAFF_ROLES - {"administrator"}) and not department:
        raise InvalidInput("staff belong to a department", errors=[{"field": "department", "message": "required for staff roles"}])
    return roles


def _check_password(password: str | None) -> None:
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"a password has at least {MIN_PASSWORD} characters",
            errors=[{"field": "password", "message": f"at least {MIN_PASSWORD} characters"}],
        )


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str | None,
    roles: list[str],
    department: str | None = None,
    street: str | None = None,
    grid: str | None = None,
    subject_id: str | None = None,
    at: datetime | None = None,
) -> User:
    if not actor.has("administrator", "system"):
        raise Forbidden("only administrators create users")
    at = at or utcnow()
    if not USERNAME.match(username or ""):
        raise InvalidInput("a username is 3-80 letters, digits or . _ @ -", errors=[{"field": "username", "message": "invalid"}])
    roles = _check_roles(roles, department)
    _check_password(password)
    if session.execute(select(data_user.c.id).where(data_user.c.username == username)).first() is not None:
        raise Conflict(f"username {username!r} is taken")
    public_id = next_id(session, "USR", at)
    session.execute(
        insert(data_user).values(
            public_id=public_id,
            username=username,
            password_hash=hash_password(password) if password else None,
            roles=roles,
            department=department,
            street=street,
            grid=grid,
            subject_id=subject_id,
            active=True,
            created_at=at,
            updated_at=at,
        )
    )
    audit.append(session, "admin", actor, "user.create", public_id, {"roles": roles, "department": department}, at=at)
    return get_user(session, public_id)


def get_user(session: Session, user_id: str) -> User:
    row = session.execute(select(data_user).where(data_user.c.public_id == user_id)).first()
    if row is None:
        raise NotFound(f"no user {user_id}")
    return _user(row)


def user_by_username(session: Session, username: str) -> User | None:
    row = session.execute(select(data_user).where(data_user.c.username == username)).first()
    return _user(row) if row is not None else None


def list_users(
    session: Session, actor: Actor, *, role: str | None = None, department: str | None = None, limit: int = 50, cursor: str | None = None
) -> tuple[list[User], str | None]:
    if not actor.has("administrator", "system"):
        raise Forbidden("only administrators list users")
    stmt = select(data_user).order_by(data_user.c.public_id).limit(limit + 1)
    if department:
        stmt = stmt.where(data_user.c.department == department)
    if cursor:
        stmt = stmt.where(data_user.c.public_id > cursor)
    users = [_user(r) for r in session.execute(stmt)]
    if role:
        users = [u for u in users if role in u.roles]  # roles is JSON: filter here
    nxt = users[limit - 1].id if len(users) > limit else None
    return users[:limit], nxt


def update_user(
    session: Session,
    actor: Actor,
    user_id: str,
    *,
    roles: list[str] | None = None,
    department: str | None = None,
    street: str | None = None,
    grid: str | None = None,
    subject_id: str | None = None,
    active: bool | None = None,
    password: str | None = None,
    at: datetime | None = None,
) -> User:
    if not actor.has("administrator", "system"):
        raise Forbidden("only administrators change users")
    at = at or utcnow()
    user = get_user(session, user_id)
    values: dict[str, Any] = {}
    if department is not None:
        values["department"] = department or None
    if roles is not None:
        values["roles"] = _check_roles(roles, values.get("department", user.department))
    for name, value in (("street", street), ("grid", grid), ("subject_id", subject_id), ("active", active)):
        if value is not None:
            values[name] = value
    if password is not None:
        _check_password(password)
        values["password_hash"] = hash_password(password)
    if not values:
        return user
    if actor.id == user_id and (values.get("active") is False or ("roles" in values and "administrator" not in values["roles"])):
        raise Conflict("administrators cannot lock themselves out")
    values["updated_at"] = at
    session.execute(update(data_user).where(data_user.c.public_id == user_id).values(**values))
    if values.get("active") is False or "password_hash" in values or "roles" in values:
        revoke_all_refresh(session, user_id, at)
    changed = sorted(k for k in values if k not in ("updated_at", "password_hash")) + (["password"] if password else [])
    audit.append(session, "admin", actor, "user.update", user_id, {"changed": changed}, at=at)
    return get_user(session, user_id)


def subject_of(session: Session, actor: Actor) -> str | None:
    """The person (subject id in the registries) a user account stands for, if any."""
    return session.execute(select(data_user.c.subject_id).where(data_user.c.public_id == actor.id)).scalar()


# --- throttling ---------------------------------------------------------------------------


def _throttle_row(session: Session, key: str):
    return session.execute(select(data_login_throttle).where(data_login_throttle.c.key == key)).first()


def check_throttle(session: Session, keys: list[str], now: datetime) -> None:
    for key in keys:
        row = _throttle_row(session, key)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            raise Throttled(max(1, int((row.locked_until - now).total_seconds() + 0.999)))


def record_failure(session: Session, key: str, limit: int, now: datetime) -> None:
    row = _throttle_row(session, key)
    if row is None:
        session.execute(insert(data_login_throttle).values(key=key, failures=1, window_start=now, locked_until=None))
        failures = 1
    elif now - row.window_start > WINDOW:
        session.execute(
            update(data_login_throttle).where(data_login_throttle.c.key == key).values(failures=1, window_start=now, locked_until=None)
        )
        failures = 1
    else:
        failures = row.failures + 1
        session.execute(update(data_login_throttle).where(data_login_throttle.c.key == key).values(failures=failures))
    if failures >= limit:
        session.execute(update(data_login_throttle).where(data_login_throttle.c.key == key).values(locked_until=now + LOCKOUT))


def clear_failures(session: Session, key: str) -> None:
    session.execute(delete(data_login_throttle).where(data_login_throttle.c.key == key))


# --- tokens -------------------------------------------------------------------------------


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


def issue_access_token(user: User | Actor, now: datetime | None = None, ttl_s: float | None = None) -> tuple[str, int]:
    """A signed access token for a user (or directly for an Actor: tests, service accounts)."""
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
    signing, _, alg = _signing()
    headers = {"kid": system_key().key_id} if alg == "EdDSA" else None
    return jwt.encode(claims, signing, algorithm=alg, headers=headers), ttl


def decode_access_token(token: str) -> Actor:
    """The Actor a valid access token names; Unauthorized for anything else."""
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
        raise Unauthorized("the access token has expired; refresh it") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("the access token is not valid") from exc
    if claims.get("typ") != "access":
        raise Unauthorized("not an access token")
    roles = claims.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthorized("the access token is not valid")
    return Actor(
        id=str(claims["sub"]),
        roles=frozenset(roles),
        department=claims.get("department"),
        street=claims.get("street"),
        grid=claims.get("grid"),
    )


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
    access, ttl = issue_access_token(user, now)
    refresh, rttl = _issue_refresh(session, row.id, family, now)
    return TokenPair(access, ttl, refresh, rttl, user)


_DUMMY_HASH = None


def login(session: Session, username: str, password: str, *, ip: str | None = None, now: datetime | None = None) -> TokenPair:
    """Check a password and issue tokens. Failures are counted (the caller must commit them even
    when this raises); too many lock the username (and the address) for a while: Throttled."""
    global _DUMMY_HASH
    now = now or utcnow()
    ukey = f"user:{(username or '').strip().lower()}"
    keys = [ukey] + ([f"ip:{ip}"] if ip else [])
    check_throttle(session, keys, now)
    row = session.execute(select(data_user).where(data_user.c.username == username)).first()
    ok = False
    if row is not None and row.password_hash:
        try:
            ok = HASHER.verify(row.password_hash, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
    else:  # same work for unknown users: no timing oracle for usernames
        if _DUMMY_HASH is None:
            _DUMMY_HASH = HASHER.hash(secrets.token_hex(8))
        try:
            HASHER.verify(_DUMMY_HASH, password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            pass
    if not ok or not row.active:
        record_failure(session, ukey, USER_MAX_FAILURES, now)
        if ip:
            record_failure(session, f"ip:{ip}", IP_MAX_FAILURES, now)
        audit.append(session, "auth", f"anonymous@{ip or '-'}", "login.fail", ukey[5:][:80] or "-", {}, at=now)
        raise Unauthorized("wrong username or password")
    clear_failures(session, ukey)
    if HASHER.check_needs_rehash(row.password_hash):
        session.execute(update(data_user).where(data_user.c.id == row.id).values(password_hash=hash_password(password)))
    audit.append(session, "auth", row.public_id, "login", row.public_id, {}, at=now)
    return _pair(session, row, uuid.uuid4().hex, now)


def refresh(session: Session, refresh_token: str, now: datetime | None = None) -> TokenPair:
    """Rotate a refresh token. Reusing a spent token revokes its whole family (theft signal)."""
    now = now or utcnow()
    tok = session.execute(select(data_refresh_token).where(data_refresh_token.c.token_hash == _sha(refresh_token or ""))).first()
    if tok is None:
        raise Unauthorized("the refresh token is not valid")
    if tok.used_at is not None or tok.revoked_at is not None:
        session.execute(
            update(data_refresh_token)
            .where(data_refresh_token.c.family == tok.family, data_refresh_token.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        raise Unauthorized("the refresh token was already used or revoked; sign in again")
    if tok.expires_at <= now:
        raise Unauthorized("the refresh token has expired; sign in again")
    row = session.execute(select(data_user).where(data_user.c.id == tok.user_id)).one()
    if not row.active:
        raise Unauthorized("the account is disabled")
    session.execute(update(data_refresh_token).where(data_refresh_token.c.id == tok.id).values(used_at=now))
    return _pair(session, row, tok.family, now)


def logout(session: Session, refresh_token: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    tok = session.execute(select(data_refresh_token).where(data_refresh_token.c.token_hash == _sha(refresh_token or ""))).first()
    if tok is not None:
        session.execute(
            update(data_refresh_token)
            .where(data_refresh_token.c.family == tok.family, data_refresh_token.c.revoked_at.is_(None))
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


# --- API keys -----------------------------------------------------------------------------


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
        raise Forbidden("only administrators issue API keys")
    if kind not in API_KEY_ROLES:
        raise InvalidInput(f"kind is one of {', '.join(API_KEY_ROLES)}", errors=[{"field": "kind", "message": "unknown"}])
    name = (name or "").strip()
    if not name:
        raise InvalidInput("name the client or device", errors=[{"field": "name", "message": "required"}])
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
        raise NotFound(f"no API key {key_id}")
    return _api_key(row)


def list_api_keys(session: Session, actor: Actor, *, limit: int = 50, cursor: str | None = None) -> tuple[list[ApiKey], str | None]:
    if not actor.has("administrator", "system"):
        raise Forbidden("only administrators list API keys")
    stmt = select(data_api_key).order_by(data_api_key.c.public_id).limit(limit + 1)
    if cursor:
        stmt = stmt.where(data_api_key.c.public_id > cursor)
    keys = [_api_key(r) for r in session.execute(stmt)]
    nxt = keys[limit - 1].id if len(keys) > limit else None
    return keys[:limit], nxt


def revoke_api_key(session: Session, actor: Actor, key_id: str, at: datetime | None = None) -> ApiKey:
    if not actor.has("administrator", "system"):
        raise Forbidden("only administrators revoke API keys")
    at = at or utcnow()
    key = get_api_key(session, key_id)
    if key.revoked_at is not None:
        raise Conflict(f"API key {key_id} is already revoked")
    session.execute(update(data_api_key).where(data_api_key.c.public_id == key_id).values(revoked_at=at))
    audit.append(session, "admin", actor, "api_key.revoke", key_id, {}, at=at)
    return get_api_key(session, key_id)


def authenticate_api_key(session: Session, raw: str, *, kind: str | None = None, now: datetime | None = None) -> Actor:
    """The Actor an API key stands for (id 'key:KEY-…', role open311_client or device)."""
    now = now or utcnow()
    parts = (raw or "").split("_")
    if len(parts) < 3 or parts[0] != "tnk":
        raise Unauthorized("the API key is not valid")
    row = session.execute(select(data_api_key).where(data_api_key.c.prefix == parts[1])).first()
    if row is None or not hmac.compare_digest(row.key_hash, _sha(raw)) or row.revoked_at is not None:
        raise Unauthorized("the API key is not valid")
    if kind is not None and row.kind != kind:
        raise Forbidden(f"this API key is for {row.kind}, not {kind}")
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        session.execute(update(data_api_key).where(data_api_key.c.id == row.id).values(last_used_at=now))
    return Actor(id=f"key:{row.public_id}", roles=frozenset({API_KEY_ROLES[row.kind]}), department=row.department)
