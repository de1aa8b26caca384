"""Tables of the data foundation: catalogue, records, sharing, access log, audit chain, identity.

Surrogate keys (`id`) never leave the service layer; public ids (`public_id`, `code`) do.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from twonets.core.tables import UtcDateTime, metadata

# --- catalogue ----------------------------------------------------------------------------

data_dataset = Table(
    "data_dataset",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(80), nullable=False, unique=True),
    Column("name_zh", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("owner_department", String(40), nullable=False, index=True),
    Column("description", Text, nullable=False, default=""),
    Column("kind", String(40), nullable=False, default="registry"),
    Column("keywords", JSON, nullable=False, default=list),
    Column("update_frequency", String(20), nullable=False),
    Column("last_updated_at", UtcDateTime, nullable=True),
    Column("sharing_class", String(20), nullable=False),
    Column("open_data", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

data_field = Table(
    "data_field",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", Integer, ForeignKey("data_dataset.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", String(80), nullable=False),
    Column("title", String(200), nullable=False, default=""),
    Column("type", String(20), nullable=False, default="string"),
    Column("sensitivity", String(20), nullable=False),
    Column("mask", String(20), nullable=True),
    Column("generalise", String(40), nullable=True),
    UniqueConstraint("dataset_id", "name", name="uq_data_field_dataset_name"),
)

# Rows of datasets whose records the data foundation holds itself (base registries, extracts).
data_record = Table(
    "data_record",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("dataset_id", Integer, ForeignKey("data_dataset.id", ondelete="CASCADE"), nullable=False),
    Column("record_key", String(120), nullable=False),
    Column("subject_id", String(80), nullable=True),
    Column("data", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("dataset_id", "record_key", name="uq_data_record_dataset_key"),
    Index("ix_data_record_dataset_subject", "dataset_id", "subject_id", "record_key"),
)

# --- sharing ------------------------------------------------------------------------------

data_share_request = Table(
    "data_share_request",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("dataset_id", Integer, ForeignKey("data_dataset.id"), nullable=False),
    Column("department", String(40), nullable=False, index=True),
    Column("requested_by", String(80), nullable=False),
    Column("fields", JSON, nullable=False),
    Column("unmasked", Boolean, nullable=False, default=False),
    Column("purpose", Text, nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_until", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("decided_by", String(80), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("reason", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

data_grant = Table(
    "data_grant",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("request_id", Integer, ForeignKey("data_share_request.id"), nullable=False),
    Column("dataset_id", Integer, ForeignKey("data_dataset.id"), nullable=False),
    Column("department", String(40), nullable=False),
    Column("fields", JSON, nullable=False),
    Column("unmasked", Boolean, nullable=False, default=False),
    Column("purpose", Text, nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revoked_reason", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_data_grant_dataset_department", "dataset_id", "department"),
    # one decision per request: an approval produces exactly one grant
    UniqueConstraint("request_id", name="uq_data_grant_request_id"),
)

# One row per subject touched by a read: answers "who used my data".
data_access = Table(
    "data_access",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("audit_seq", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("subject_id", String(80), nullable=False),
    Column("dataset_code", String(80), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("department", String(40), nullable=True),
    Column("purpose", Text, nullable=False),
    Column("matter", String(120), nullable=True),
    Column("fields", JSON, nullable=False),
    Column("unmasked", Boolean, nullable=False, default=False),
    Index("ix_data_access_subject_at", "subject_id", "at"),
)

# --- audit chain --------------------------------------------------------------------------

audit_entry = Table(
    "audit_entry",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(80), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("data", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# The chain's head, one row (id = 1): `seq` is the live counter that appenders bump (taking
# the row lock, so the chain never forks); `hash` is the hash of the last checkpointed entry.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_checkpoint = Table(
    "audit_checkpoint",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False, index=True),
    Column("hash", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", String(200), nullable=False),
)

# --- identity -----------------------------------------------------------------------------

data_user = Table(
    "data_user",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("username", String(80), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=True),
    Column("roles", JSON, nullable=False),
    Column("department", String(40), nullable=True),
    Column("street", String(40), nullable=True),
    Column("grid", String(40), nullable=True),
    Column("subject_id", String(80), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

data_refresh_token = Table(
    "data_refresh_token",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("data_user.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("family", String(40), nullable=False, index=True),  # the session id: checked on each request
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

data_api_key = Table(
    "data_api_key",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("department", String(40), nullable=True),
    Column("created_by", String(80), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)

# Failed logins per key ("user:<name>" or "ip:<addr>"): throttles guessing.
data_login_throttle = Table(
    "data_login_throttle",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("window_start", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime, nullable=True),
)
