"""Matters keep the national item code (事项编码) of an imported matter list.

Revision ID: 0005_matter_item_code
Revises: 0004_one_head
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_matter_item_code"
down_revision = "0004_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("svc_matter") as batch:
        batch.add_column(sa.Column("item_code", sa.String(80), nullable=True))
        batch.create_unique_constraint(op.f("uq_svc_matter_item_code"), ["item_code"])


def downgrade() -> None:
    with op.batch_alter_table("svc_matter") as batch:
        batch.drop_constraint(op.f("uq_svc_matter_item_code"), type_="unique")
        batch.drop_column("item_code")
