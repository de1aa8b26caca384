"""Readable, sortable public ids: PREFIX-YYYYMMDD-NNNNNN (a dated sequence per prefix).

The counter lives in the `id_sequence` table; it is bumped with one UPDATE ... RETURNING so
concurrent writers on PostgreSQL never hand out the same number.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from twonets.core.calendar import local_date
from twonets.core.tables import id_sequence

PUBLIC_ID = re.compile(r"^[A-Z]{2,4}-\d{8}-\d{6,}$")


def format_id(prefix: str, day: str, number: int) -> str:
    return f"{prefix}-{day}-{number:06d}"


_BUMP = (
    update(id_sequence)
    .where(id_sequence.c.key == bindparam("k"))
    .values(last=id_sequence.c.last + bindparam("n"))
    .returning(id_sequence.c.last)
)


def reserve(session: Session, prefix: str, at: datetime, count: int = 1) -> list[str]:
    """Reserve `count` consecutive ids for the local day of `at`."""
    day = local_date(at).strftime("%Y%m%d")
    params = {"k": f"{prefix}-{day}", "n": count}
    last = session.connection().execute(_BUMP, params).scalar()
    if last is None:
        try:
            with session.begin_nested():
                session.execute(insert(id_sequence).values(key=params["k"], last=count))
            last = count
        except IntegrityError:  # another writer created the row first
            last = session.execute(_BUMP, params).scalar_one()
    return [format_id(prefix, day, n) for n in range(last - count + 1, last + 1)]


def next_id(session: Session, prefix: str, at: datetime) -> str:
    return reserve(session, prefix, at, 1)[0]


def peek(session: Session, prefix: str, at: datetime) -> int:
    day = local_date(at).strftime("%Y%m%d")
    return session.execute(
        select(id_sequence.c.last).where(id_sequence.c.key == f"{prefix}-{day}")
    ).scalar() or 0
