"""Data foundation: catalogue, records, sharing, access log, audit chain, identity.

Revision ID: 0002_data
Revises: 0001_city
"""

import sqlalchemy as sa
from alembic import op

import twonets.core.tables

revision = "0002_data"
down_revision = "0001_city"
branch_labels = None
depends_on = None

UTC = twonets.core.tables.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "data_dataset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(80), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("owner_department", sa.String(40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("update_frequency", sa.String(20), nullable=False),
        sa.Column("last_updated_at", UTC(), nullable=True),
        sa.Column("sharing_class", sa.String(20), nullable=False),
        sa.Column("open_data", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_dataset")),
        sa.UniqueConstraint("code", name=op.f("uq_data_dataset_code")),
    )
    op.create_index(op.f("ix_data_dataset_owner_department"), "data_dataset", ["owner_department"])

    op.create_table(
        "data_field",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("sensitivity", sa.String(20), nullable=False),
        sa.Column("mask", sa.String(20), nullable=True),
        sa.Column("generalise", sa.String(40), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["data_dataset.id"], name=op.f("fk_data_field_dataset_id_data_dataset"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_field")),
        sa.UniqueConstraint("dataset_id", "name", name="uq_data_field_dataset_name"),
    )

    op.create_table(
        "data_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("record_key", sa.String(120), nullable=False),
        sa.Column("subject_id", sa.String(80), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["data_dataset.id"], name=op.f("fk_data_record_dataset_id_data_dataset"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_record")),
        sa.UniqueConstraint("dataset_id", "record_key", name="uq_data_record_dataset_key"),
    )
    op.create_index("ix_data_record_dataset_subject", "data_record", ["dataset_id", "subject_id", "record_key"])

    op.create_table(
        "data_share_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(40), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("requested_by", sa.String(80), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("unmasked", sa.Boolean(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("valid_from", UTC(), nullable=False),
        sa.Column("valid_until", UTC(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("decided_at", UTC(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["data_dataset.id"], name=op.f("fk_data_share_request_dataset_id_data_dataset")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_share_request")),
        sa.UniqueConstraint("public_id", name=op.f("uq_data_share_request_public_id")),
    )
    op.create_index(op.f("ix_data_share_request_department"), "data_share_request", ["department"])

    op.create_table(
        "data_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(40), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("unmasked", sa.Boolean(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("valid_from", UTC(), nullable=False),
        sa.Column("expires_at", UTC(), nullable=False),
        sa.Column("revoked_at", UTC(), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["data_dataset.id"], name=op.f("fk_data_grant_dataset_id_data_dataset")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["data_share_request.id"], name=op.f("fk_data_grant_request_id_data_share_request")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_grant")),
        sa.UniqueConstraint("public_id", name=op.f("uq_data_grant_public_id")),
    )
    op.create_index("ix_data_grant_dataset_department", "data_grant", ["dataset_id", "department"])

    op.create_table(
        "data_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("subject_id", sa.String(80), nullable=False),
        sa.Column("dataset_code", sa.String(80), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("department", sa.String(40), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("matter", sa.String(120), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("unmasked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_access")),
    )
    op.create_index("ix_data_access_subject_at", "data_access", ["subject_id", "at"])

    op.create_table(
        "audit_entry",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entry")),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoint")),
    )
    op.create_index(op.f("ix_audit_checkpoint_seq"), "audit_checkpoint", ["seq"])

    op.create_table(
        "data_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(40), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=True),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("department", sa.String(40), nullable=True),
        sa.Column("street", sa.String(40), nullable=True),
        sa.Column("grid", sa.String(40), nullable=True),
        sa.Column("subject_id", sa.String(80), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_user")),
        sa.UniqueConstraint("public_id", name=op.f("uq_data_user_public_id")),
        sa.UniqueConstraint("username", name=op.f("uq_data_user_username")),
    )
    op.create_table(
        "data_refresh_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(40), nullable=False),
        sa.Column("expires_at", UTC(), nullable=False),
        sa.Column("used_at", UTC(), nullable=True),
        sa.Column("revoked_at", UTC(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["data_user.id"], name=op.f("fk_data_refresh_token_user_id_data_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_refresh_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_data_refresh_token_token_hash")),
    )
    op.create_index(op.f("ix_data_refresh_token_user_id"), "data_refresh_token", ["user_id"])
    op.create_table(
        "data_api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(40), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("department", sa.String(40), nullable=True),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("last_used_at", UTC(), nullable=True),
        sa.Column("revoked_at", UTC(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_api_key")),
        sa.UniqueConstraint("public_id", name=op.f("uq_data_api_key_public_id")),
        sa.UniqueConstraint("prefix", name=op.f("uq_data_api_key_prefix")),
    )
    op.create_table(
        "data_login_throttle",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", UTC(), nullable=False),
        sa.Column("locked_until", UTC(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_data_login_throttle")),
    )


def downgrade() -> None:
    for name in (
        "data_login_throttle",
        "data_api_key",
        "data_refresh_token",
        "data_user",
        "audit_checkpoint",
        "audit_head",
        "audit_entry",
        "data_access",
        "data_grant",
        "data_share_request",
        "data_record",
        "data_field",
        "data_dataset",
    ):
        op.drop_table(name)
