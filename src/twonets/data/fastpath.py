"""DBAPI-level statements for the hottest writes of the data foundation (the audit chain's
head bump and entry insert, and the per-subject access rows), run on the unit of work's own
connection and transaction.

Every read of shared data writes these, so they skip SQLAlchemy's per-statement machinery
(about a third of a read's cost on SQLite). Only SQLite (pysqlite) and PostgreSQL (psycopg)
are supported, as everywhere in twonets; values are converted the way the tables' column
types would convert them (UtcDateTime → UTC text on SQLite, JSON → text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

_NAMED = re.compile(r":([a-z_]+)")


@lru_cache(maxsize=64)
def _sql(dialect: str, template: str) -> str:
    """`:name` placeholders for sqlite3, `%(name)s` for psycopg."""
    if dialect == "sqlite":
        return template
    return _NAMED.sub(r"%(\1)s", template.replace("%", "%%"))


class Raw:
    """The DBAPI cursor of a unit of work, with parameter conversion for its dialect."""

    __slots__ = ("dialect", "cursor")

    def __init__(self, unit: Session | Connection):
        conn = unit.connection() if isinstance(unit, Session) else unit
        self.dialect = conn.dialect.name
        self.cursor = conn.connection.dbapi_connection.cursor()

    def at(self, value: datetime) -> Any:
        if self.dialect == "sqlite":  # as UtcDateTime stores it: naive UTC text
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    def json(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    def execute(self, template: str, params: dict[str, Any]) -> Raw:
        self.cursor.execute(_sql(self.dialect, template), params)
        return self

    def executemany(self, template: str, rows: Sequence[dict[str, Any]]) -> None:
        self.cursor.executemany(_sql(self.dialect, template), rows)

    def fetchone(self):
        return self.cursor.fetchone()

    def close(self) -> None:
        self.cursor.close()
