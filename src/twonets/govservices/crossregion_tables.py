"""Cross-region applications (跨省通办) as the receiving hall's region records them: forwarded to
the person's home region, which decides and issues; the answer is kept here to show."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table

from twonets.core.tables import UtcDateTime, metadata

svc_crossregion = Table(
    "svc_crossregion",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("peer", String(80), nullable=False),
    Column("matter", String(40), nullable=False),
    Column("applicant_id", String(80), nullable=False),
    Column("staff", String(80), nullable=False),
    Column("state", String(30), nullable=False),
    Column("answer", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_svc_crossregion_applicant", "applicant_id", "id"),
)
