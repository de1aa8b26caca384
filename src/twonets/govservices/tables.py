"""Tables of the services package (一网通办): matters, decision-table versions, applications and
their events, licences, department e-seal keys, ratings.

Surrogate keys (`id`) never leave the service layer; public ids (`public_id`, `code`) do.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from twonets.core.tables import UtcDateTime, metadata

svc_matter = Table(
    "svc_matter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name_zh", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("department", String(40), nullable=False, index=True),
    Column("type", String(40), nullable=False),
    Column("subject", String(20), nullable=False),
    Column("processing", String(20), nullable=False),
    Column("channels", String(20), nullable=False),
    Column("cross_region", Boolean, nullable=False, default=False),
    Column("no_application", Boolean, nullable=False, default=False),
    Column("promised_days", Integer, nullable=False),
    Column("statutory_days", Integer, nullable=False),
    Column("full", Boolean, nullable=False, default=False),
    # national item code (事项编码) of an imported matter: the key of re-imports
    Column("item_code", String(80), nullable=True, unique=True),
    Column("search_text", Text, nullable=False, default=""),
    Column("spec", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Every version of every decision table ever used: a stored decision replays against it.
svc_rule_version = Table(
    "svc_rule_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule_id", String(80), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("rule_id", "version", "digest", name="uq_svc_rule_version_rule_version_digest"),
)

svc_application = Table(
    "svc_application",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("matter", String(40), nullable=False, index=True),
    Column("department", String(40), nullable=False),
    Column("applicant_kind", String(20), nullable=False),
    Column("applicant_id", String(80), nullable=False, index=True),
    Column("account", String(80), nullable=True),
    Column("channel", String(20), nullable=False),
    Column("staff", String(80), nullable=True),
    Column("state", String(30), nullable=False),
    Column("form", JSON, nullable=False),
    Column("prefill", JSON, nullable=False),
    Column("materials", JSON, nullable=False),
    Column("uploads", Integer, nullable=False, default=0),
    Column("decision", JSON, nullable=True),
    Column("outcome", String(20), nullable=True),
    Column("reason", Text, nullable=True),
    Column("instant", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("clock_started_at", UtcDateTime, nullable=True),
    Column("clock_spent_s", Float, nullable=False, default=0.0),
    Column("due_at", UtcDateTime, nullable=True),
    Column("warn_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("working_days", Float, nullable=True),
    Column("on_time", Boolean, nullable=True),
    Column("licence", String(40), nullable=True),
    Column("rating", Integer, nullable=True),
    Column("version", Integer, nullable=False, default=0),
    Index("ix_svc_application_department_state", "department", "state"),
    Index("ix_svc_application_created_at", "created_at"),
)

svc_application_event = Table(
    "svc_application_event",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("application_id", Integer, ForeignKey("svc_application.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(40), nullable=False),
    Column("from_state", String(30), nullable=True),
    Column("to_state", String(30), nullable=False),
    Column("reason", Text, nullable=True),
    Column("data", JSON, nullable=False),
    UniqueConstraint("application_id", "seq", name="uq_svc_application_event_application_seq"),
)

svc_seal_key = Table(
    "svc_seal_key",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key_id", String(80), nullable=False, unique=True),
    Column("department", String(40), nullable=False, index=True),
    Column("public_key", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime, nullable=True),
)

svc_licence = Table(
    "svc_licence",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("application", String(40), nullable=True),
    Column("matter", String(40), nullable=False),
    Column("licence_type", String(80), nullable=False),
    Column("department", String(40), nullable=False),
    Column("holder_kind", String(20), nullable=False),
    Column("holder_id", String(80), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("valid_until", UtcDateTime, nullable=False),
    Column("key_id", String(80), nullable=False),
    Column("credential", Text, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revoked_reason", Text, nullable=True),
    Column("revoked_by", String(80), nullable=True),
    Index("ix_svc_licence_holder_type", "holder_id", "licence_type"),
)

svc_rating = Table(
    "svc_rating",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("application_id", Integer, ForeignKey("svc_application.id", ondelete="CASCADE"), nullable=False, unique=True),
    Column("matter", String(40), nullable=False),
    Column("department", String(40), nullable=False),
    Column("level", Integer, nullable=False),
    Column("comment", Text, nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Column("follow_up", String(20), nullable=False),
    Column("follow_up_note", Text, nullable=True),
    Column("follow_up_by", String(80), nullable=True),
    Column("follow_up_at", UtcDateTime, nullable=True),
)

# The service hall's queue (取号叫号): a number taken at the hall, called to a window by a clerk,
# finished with the application made for the person (if any). Numbers restart each local day.
svc_hall_ticket = Table(
    "svc_hall_ticket",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("hall", String(40), nullable=False),
    Column("day", String(10), nullable=False),
    Column("number", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("called_at", UtcDateTime, nullable=True),
    Column("clerk", String(80), nullable=True),
    Column("window", String(20), nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("application", String(40), nullable=True),
    UniqueConstraint("hall", "day", "number", name="uq_svc_hall_ticket_hall_day_number"),
    Index("ix_svc_hall_ticket_hall_day_status", "hall", "day", "status"),
)
