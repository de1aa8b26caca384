"""Login throttling: failed sign-ins counted per username and per address, locking either for a while."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from twonets.core.errors import DomainError
from twonets.data.tables import data_login_throttle

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
