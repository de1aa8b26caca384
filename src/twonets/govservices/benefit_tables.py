"""Tables of benefits without application (免申即享) — one row per (policy, subject), never two,
and its events — and of one-thing bundles (一件事一次办): a case and its events. Each stored
state is the replay of its events (`benefit_lifecycle.replay`, `bundle_cases.replay`)."""

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


# --- one-thing bundles (一件事一次办): one case per submission, its steps' states, its events ------

svc_bundle_case = Table(
    "svc_bundle_case",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("bundle", String(60), nullable=False),
    Column("subject_id", String(80), nullable=False),
    Column("account", String(80), nullable=False),
    Column("state", String(20), nullable=False),
    Column("form", JSON, nullable=False),
    Column("steps", JSON, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_svc_bundle_case_subject", "subject_id", "id"),
)

svc_bundle_event = Table(
    "svc_bundle_event",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("case_id", Integer, ForeignKey("svc_bundle_case.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(40), nullable=False),
    Column("step", String(40), nullable=True),
    Column("data", JSON, nullable=False),
    UniqueConstraint("case_id", "seq", name="uq_svc_bundle_event_case_seq"),
)
