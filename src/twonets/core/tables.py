"""The one SQLAlchemy MetaData every package's tables join, plus the core tables."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, TypeDecorator

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both engines (SQLite stores naive text, so we re-attach UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; twonets stores only aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


id_sequence = Table(
    "id_sequence",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("last", BigInteger, nullable=False),
)

from sqlalchemy import Integer, Text  # noqa: E402

# Replies to POSTs that carried an Idempotency-Key: the same key returns the same result.
# scope = caller + method + path; fingerprint = SHA-256 of the request (a different one → 422).
idempotency_record = Table(
    "idempotency_record",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("scope", String(200), primary_key=True),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("fingerprint", String(64), nullable=True),
)
