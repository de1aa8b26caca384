"""Identity and access: users with roles, argon2 passwords and password sign-in live here; signed
JWT access tokens with rotating refresh tokens (`tokens`), API keys for Open311 clients and devices
(`apikeys`) and login throttling (`throttle`) live in modules of their own and are re-exported, so
`identity` stays the one place callers import from.

Access tokens are short-lived JWTs with OIDC-style claims (iss, aud, sub, exp, iat, nbf,
jti, roles, department, street, grid, preferred_username). They are signed with the system's
Ed25519 key (EdDSA) unless TWONETS_JWT_SECRET is set, in which case HS256 with that secret.
Refresh tokens and API keys are random strings of which only a SHA-256 is stored.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import ROLES, Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from twonets.core.i18n import Msg
from twonets.core.ids import next_id
from twonets.data import audit
from twonets.data.account import User, _user
from twonets.data.apikeys import (  # noqa: F401  (part of the identity API)
    API_KEY_ROLES,
    ApiKey,
    authenticate_api_key,
    create_api_key,
    get_api_key,
    list_api_keys,
    revoke_api_key,
)
from twonets.data.keys import system_key  # noqa: F401  (part of the identity API)
from twonets.data.tables import data_user
from twonets.data.throttle import (  # noqa: F401  (part of the identity API)
    ACCOUNT_MAX_FAILURES,
    IP_MAX_FAILURES,
    LOCKOUT,
    PAIR_MAX_FAILURES,
    WINDOW,
    Throttled,
    check_throttle,
    clear_failures,
    clear_login_failures,
    login_keys,
    record_failure,
    record_login_failure,
)
from twonets.data.tokens import (  # noqa: F401  (part of the identity API)
    TokenPair,
    _pair,
    decode_access_claims,
    decode_access_token,
    issue_access_token,
    jwks,
    logout,
    refresh,
    revoke_all_refresh,
    session_is_live,
)

USER_ROLES = tuple(r for r in ROLES if r != "system")
STAFF_ROLES = frozenset(USER_ROLES) - {"citizen", "company_agent"}
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{3,80}$")
MIN_PASSWORD = 10

HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


# --- users --------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def _check_roles(roles: list[str], department: str | None) -> list[str]:
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in USER_ROLES]
    if not roles or unknown:
        raise InvalidInput(
            f"unknown role(s): {', '.join(unknown)}" if unknown else "a user has at least one role",
            errors=[{"field": "roles", "message": Msg("use {user_roles}", user_roles=', '.join(USER_ROLES))}],
        )
    if set(roles) & (STAFF_ROLES - {"administrator"}) and not department:
        raise InvalidInput(Msg("staff belong to a department"), errors=[{"field": "department", "message": Msg("required for staff roles")}])
    return roles


def _check_password(password: str | None) -> None:
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(
            Msg("a password has at least {least} characters", least=MIN_PASSWORD),
            errors=[{"field": "password", "message": Msg("at least {least} characters", least=MIN_PASSWORD)}],
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
        raise Forbidden(Msg("only administrators create users"))
    at = at or utcnow()
    if not USERNAME.match(username or ""):
        raise InvalidInput(Msg("a username is 3-80 letters, digits or . _ @ -"), errors=[{"field": "username", "message": Msg("invalid")}])
    roles = _check_roles(roles, department)
    _check_password(password)
    if session.execute(select(data_user.c.id).where(data_user.c.username == username)).first() is not None:
        raise Conflict(Msg("username {username!r} is taken", username=username))
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
        raise NotFound(Msg("no user {user_id}", user_id=user_id))
    return _user(row)


def user_by_username(session: Session, username: str) -> User | None:
    row = session.execute(select(data_user).where(data_user.c.username == username)).first()
    return _user(row) if row is not None else None


def list_users(
    session: Session, actor: Actor, *, role: str | None = None, department: str | None = None, limit: int = 50, cursor: str | None = None
) -> tuple[list[User], str | None]:
    if not actor.has("administrator", "system"):
        raise Forbidden(Msg("only administrators list users"))
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
        raise Forbidden(Msg("only administrators change users"))
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
        raise Conflict(Msg("administrators cannot lock themselves out"))
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


# --- sign-in ------------------------------------------------------------------------------


_DUMMY_HASH = None


def login(session: Session, username: str, password: str, *, ip: str | None = None, now: datetime | None = None) -> TokenPair:
    """Check a password and issue tokens. Failures are counted (the caller must commit them even
    when this raises); too many lock the account at that address, the address, or the account
    for a while (policy in `throttle`): Throttled."""
    global _DUMMY_HASH
    now = now or utcnow()
    name = (username or "").strip().lower()
    check_throttle(session, [key for key, _ in login_keys(username, ip)], now)
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
        record_login_failure(session, username, ip, now)
        audit.append(session, "auth", f"anonymous@{ip or '-'}", "login.fail", name[:80] or "-", {}, at=now)
        raise Unauthorized(Msg("wrong username or password"))
    clear_login_failures(session, username, ip)
    if HASHER.check_needs_rehash(row.password_hash):
        session.execute(update(data_user).where(data_user.c.id == row.id).values(password_hash=hash_password(password)))
    audit.append(session, "auth", row.public_id, "login", row.public_id, {}, at=now)
    return _pair(session, row, uuid.uuid4().hex, now)
