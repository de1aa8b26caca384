"""AI routing (issue 14): the suggestion made for each classified order and the dispatchers'
corrections that become training data.

Revision ID: 0009_ai_routing
Revises: 0009_benefits_policies
"""

import sqlalchemy as sa
from alembic import op

from twonets.core.tables import UtcDateTime

revision = "0009_ai_routing"
down_revision = "0009_benefits_policies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_suggestion",
        sa.Column("order_id", sa.String(40), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("model", sa.String(80), nullable=False),
        sa.Column("category", sa.String(60), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("auto_routed", sa.Boolean(), nullable=False),
        sa.Column("suggestion", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name="pk_routing_suggestion"),
    )
    op.create_table(
        "routing_correction",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(40), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("suggested", sa.String(60), nullable=True),
        sa.Column("category", sa.String(60), nullable=False),
        sa.Column("department", sa.String(40), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_routing_correction"),
    )
    op.create_index("ix_routing_correction_order_id", "routing_correction", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_routing_correction_order_id", table_name="routing_correction")
    op.drop_table("routing_correction")
    op.drop_table("routing_suggestion")
