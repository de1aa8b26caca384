"""Authorization hardening: access tokens checked against their session (an index on the
refresh-token family), and idempotency records bound to the request that made them.

Revision ID: 0007_authz
Revises: 0006_trust
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_authz"
down_revision = "0006_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_data_refresh_token_family"), "data_refresh_token", ["family"])
    with op.batch_alter_table("idempotency_record") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_record") as batch:
        batch.drop_column("fingerprint")
    op.drop_index(op.f("ix_data_refresh_token_family"), table_name="data_refresh_token")
