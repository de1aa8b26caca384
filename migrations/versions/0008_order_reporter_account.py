"""Work orders record the account that filed them, so that a reporter can follow their own reports.

Revision ID: 0008_order_reporter_account
Revises: 0007_authz
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_order_reporter_account"
down_revision = "0007_authz"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_order") as batch:
        batch.add_column(sa.Column("reporter_account", sa.String(80), nullable=True))
        batch.create_index("ix_work_order_reporter_account", ["reporter_account", "id"])


def downgrade() -> None:
    with op.batch_alter_table("work_order") as batch:
        batch.drop_index("ix_work_order_reporter_account")
        batch.drop_column("reporter_account")
