"""Tables of benefits without application (免申即享): one row per (policy, subject) — never two —
and its events; the stored state is the replay of the events (`benefit_lifecycle.replay`)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from twonets.core.tables import UtcDateTime, metadata

svc_benefit = Table(
    "svc_benefit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("policy", String(40), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("department", String(40), nullable=False),
    Column("subject_kind", String(20), nullable=False),
    Column("subject_id", String(80), nullable=False),
    Column("state", String(20), nullable=False),
    Column("amount", Float, nullable=False),
    Column("unit", String(20), nullable=False),
    Column("per", String(20), nullable=False),
    Column("trigger", String(120), nullable=False),
    # what made the subject eligible: the decision (inputs, row, reason) and the reads (audit seqs)
    Column("facts", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("policy", "subject_id", name="uq_svc_benefit_policy_subject"),
    Index("ix_svc_benefit_subject", "subject_id", "id"),
    Index("ix_svc_benefit_policy_state", "policy", "state", "id"),
)

svc_benefit_event = Table(
    "svc_benefit_event",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("benefit_id", Integer, ForeignKey("svc_benefit.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(40), nullable=False),
    Column("from_state", String(20), nullable=True),
    Column("to_state", String(20), nullable=False),
    Column("reason", Text, nullable=True),
    Column("data", JSON, nullable=False),
    UniqueConstraint("benefit_id", "seq", name="uq_svc_benefit_event_benefit_seq"),
)
