"""Benefits without application (免申即享): one grant or offer per policy and subject, and its events;
one-thing bundles (一件事一次办): a case per submission with its steps, and its events;
cross-region handling (跨省通办): the forwarded applications and the peers' nonces.

Revision ID: 0009_benefits_policies
Revises: 0009_workbench_hall_ticket
"""

import sqlalchemy as sa
from alembic import op

from twonets.core.tables import UtcDateTime

revision = "0009_benefits_policies"
down_revision = "0009_workbench_hall_ticket"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "svc_benefit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("public_id", sa.String(40), nullable=False, unique=True),
        sa.Column("policy", sa.String(40), nullable=False),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(80), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("per", sa.String(20), nullable=False),
        sa.Column("trigger", sa.String(120), nullable=False),
        sa.Column("facts", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("policy", "subject_id", name="uq_svc_benefit_policy_subject"),
    )
    op.create_index("ix_svc_benefit_subject", "svc_benefit", ["subject_id", "id"])
    op.create_index("ix_svc_benefit_policy_state", "svc_benefit", ["policy", "state", "id"])
    op.create_table(
        "svc_benefit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("benefit_id", sa.Integer, sa.ForeignKey("svc_benefit.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.UniqueConstraint("benefit_id", "seq", name="uq_svc_benefit_event_benefit_seq"),
    )
    op.create_table(
        "svc_bundle_case",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("public_id", sa.String(40), nullable=False, unique=True),
        sa.Column("bundle", sa.String(60), nullable=False),
        sa.Column("subject_id", sa.String(80), nullable=False),
        sa.Column("account", sa.String(80), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("form", sa.JSON, nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_svc_bundle_case_subject", "svc_bundle_case", ["subject_id", "id"])
    op.create_table(
        "svc_bundle_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("svc_bundle_case.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("step", sa.String(40), nullable=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.UniqueConstraint("case_id", "seq", name="uq_svc_bundle_event_case_seq"),
    )
    op.create_table(
        "svc_crossregion",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("public_id", sa.String(40), nullable=False, unique=True),
        sa.Column("peer", sa.String(80), nullable=False),
        sa.Column("matter", sa.String(40), nullable=False),
        sa.Column("applicant_id", sa.String(80), nullable=False),
        sa.Column("staff", sa.String(80), nullable=False),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("answer", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_svc_crossregion_applicant", "svc_crossregion", ["applicant_id", "id"])
    op.create_table(
        "data_peer_nonce",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("peer", sa.String(80), nullable=False),
        sa.Column("nonce", sa.String(120), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("peer", "nonce", name="uq_data_peer_nonce"),
    )
    op.create_index("ix_data_peer_nonce_created_at", "data_peer_nonce", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_data_peer_nonce_created_at", table_name="data_peer_nonce")
    op.drop_table("data_peer_nonce")
    op.drop_index("ix_svc_crossregion_applicant", table_name="svc_crossregion")
    op.drop_table("svc_crossregion")
    op.drop_table("svc_bundle_event")
    op.drop_index("ix_svc_bundle_case_subject", table_name="svc_bundle_case")
    op.drop_table("svc_bundle_case")
    op.drop_table("svc_benefit_event")
    op.drop_index("ix_svc_benefit_policy_state", table_name="svc_benefit")
    op.drop_index("ix_svc_benefit_subject", table_name="svc_benefit")
    op.drop_table("svc_benefit")
