"""Services (一网通办): matters, decision-table versions, applications and events, licences,
e-seal keys, ratings.

Revision ID: 0003_services
Revises: 0002_data
"""

import sqlalchemy as sa
from alembic import op

from twonets.core.tables import UtcDateTime as UTC

revision = "0003_services"
down_revision = "0002_data"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "svc_matter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(20), nullable=False),
        sa.Column("processing", sa.String(20), nullable=False),
        sa.Column("channels", sa.String(20), nullable=False),
        sa.Column("cross_region", sa.Boolean(), nullable=False),
        sa.Column("no_application", sa.Boolean(), nullable=False),
        sa.Column("promised_days", sa.Integer(), nullable=False),
        sa.Column("statutory_days", sa.Integer(), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_matter")),
        sa.UniqueConstraint("code", name=op.f("uq_svc_matter_code")),
    )
    op.create_index(op.f("ix_svc_matter_department"), "svc_matter", ["department"])

    op.create_table(
        "svc_rule_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_rule_version")),
        sa.UniqueConstraint("rule_id", "version", "digest", name="uq_svc_rule_version_rule_version_digest"),
    )

    op.create_table(
        "svc_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(40), nullable=False),
        sa.Column("matter", sa.String(40), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("applicant_kind", sa.String(20), nullable=False),
        sa.Column("applicant_id", sa.String(80), nullable=False),
        sa.Column("account", sa.String(80), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("staff", sa.String(80), nullable=True),
        sa.Column("state", sa.String(30), nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("prefill", sa.JSON(), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("uploads", sa.Integer(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("instant", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("submitted_at", UTC(), nullable=True),
        sa.Column("clock_started_at", UTC(), nullable=True),
        sa.Column("clock_spent_s", sa.Float(), nullable=False),
        sa.Column("due_at", UTC(), nullable=True),
        sa.Column("warn_at", UTC(), nullable=True),
        sa.Column("finished_at", UTC(), nullable=True),
        sa.Column("working_days", sa.Float(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("licence", sa.String(40), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_application")),
        sa.UniqueConstraint("public_id", name=op.f("uq_svc_application_public_id")),
    )
    op.create_index(op.f("ix_svc_application_matter"), "svc_application", ["matter"])
    op.create_index(op.f("ix_svc_application_applicant_id"), "svc_application", ["applicant_id"])
    op.create_index("ix_svc_application_department_state", "svc_application", ["department", "state"])
    op.create_index("ix_svc_application_created_at", "svc_application", ["created_at"])

    op.create_table(
        "svc_application_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_state", sa.String(30), nullable=True),
        sa.Column("to_state", sa.String(30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["svc_application.id"],
            name=op.f("fk_svc_application_event_application_id_svc_application"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_application_event")),
        sa.UniqueConstraint("application_id", "seq", name="uq_svc_application_event_application_seq"),
    )

    op.create_table(
        "svc_seal_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("public_key", sa.String(100), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("retired_at", UTC(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_seal_key")),
        sa.UniqueConstraint("key_id", name=op.f("uq_svc_seal_key_key_id")),
    )
    op.create_index(op.f("ix_svc_seal_key_department"), "svc_seal_key", ["department"])

    op.create_table(
        "svc_licence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(40), nullable=False),
        sa.Column("application", sa.String(40), nullable=True),
        sa.Column("matter", sa.String(40), nullable=False),
        sa.Column("licence_type", sa.String(80), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("holder_kind", sa.String(20), nullable=False),
        sa.Column("holder_id", sa.String(80), nullable=False),
        sa.Column("issued_at", UTC(), nullable=False),
        sa.Column("valid_until", UTC(), nullable=False),
        sa.Column("key_id", sa.String(80), nullable=False),
        sa.Column("credential", sa.Text(), nullable=False),
        sa.Column("revoked_at", UTC(), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.Column("revoked_by", sa.String(80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_licence")),
        sa.UniqueConstraint("public_id", name=op.f("uq_svc_licence_public_id")),
    )
    op.create_index("ix_svc_licence_holder_type", "svc_licence", ["holder_id", "licence_type"])

    op.create_table(
        "svc_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("matter", sa.String(40), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("follow_up", sa.String(20), nullable=False),
        sa.Column("follow_up_note", sa.Text(), nullable=True),
        sa.Column("follow_up_by", sa.String(80), nullable=True),
        sa.Column("follow_up_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"], ["svc_application.id"],
            name=op.f("fk_svc_rating_application_id_svc_application"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_svc_rating")),
        sa.UniqueConstraint("application_id", name=op.f("uq_svc_rating_application_id")),
    )


def downgrade() -> None:
    for name in (
        "svc_rating",
        "svc_licence",
        "svc_seal_key",
        "svc_application_event",
        "svc_application",
        "svc_rule_version",
        "svc_matter",
    ):
        op.drop_table(name)
