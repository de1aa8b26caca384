"""Login throttling: failed sign-ins counted per account at one address, per account and per
address, each locking its key for a while.

Policy (why these three): an address shared by many people (an office NAT, a proxy) must not be
locked out by one person's typos or by someone spraying unknown names, and an account must not
be locked everywhere by whoever guesses at it from one place. So:

* account + address: PAIR_MAX_FAILURES failures lock that account *from that address* only;
* address: IP_MAX_FAILURES failures with any names lock the address (a much higher ceiling);
* account: ACCOUNT_MAX_FAILURES failures from all addresses lock the account (the ceiling of
  NIST SP 800-63B, against guessing spread over many addresses).

A sign-in that succeeds clears its account's counts, never the address's (else an attacker
could reset it with an account of their own). The address is the caller's as seen by
`api.security.client_ip` (a forwarded one only behind a trusted proxy). Counts live in the
database, so every server process sees the same ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from twonets.core.errors import DomainError
from twonets.core.i18n import Msg
from twonets.data.tables import data_login_throttle

# Throttling: failures per key within WINDOW lock the key for LOCKOUT.
WINDOW = timedelta(minutes=15)
PAIR_MAX_FAILURES = 5
ACCOUNT_MAX_FAILURES = 100
IP_MAX_FAILURES = 100
LOCKOUT = timedelta(minutes=5)


def login_keys(username: str, ip: str | None) -> list[tuple[str, int]]:
    """The throttle keys of a sign-in and the failures that lock each (the pair first)."""
    name = (username or "").strip().lower()[:80]
    keys = [(f"pair:{name}|{ip or '-'}", PAIR_MAX_FAILURES), (f"user:{name}", ACCOUNT_MAX_FAILURES)]
    if ip:
        keys.append((f"ip:{ip}", IP_MAX_FAILURES))
    return keys


class Throttled(DomainError):
    status = 429
    title = Msg("Too many requests")

    def __init__(self, retry_after: int):
        super().__init__(Msg("Too many failed logins; try again in {retry_after} seconds.", retry_after=retry_after),
                         retry_after=retry_after)
        self.retry_after = retry_after


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


def record_login_failure(session: Session, username: str, ip: str | None, now: datetime) -> None:
    for key, limit in login_keys(username, ip):
        record_failure(session, key, limit, now)


def clear_login_failures(session: Session, username: str, ip: str | None) -> None:
    """After a successful sign-in: the account's counts go, the address's stay."""
    for key, _ in login_keys(username, ip):
        if not key.startswith("ip:"):
            clear_failures(session, key)
