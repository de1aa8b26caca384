"""The service hall's queue numbers (取号叫号) for the hall window.

Revision ID: 0009_workbench_hall_ticket
Revises: 0009_perf_kpi_day
"""

import sqlalchemy as sa
from alembic import op

from twonets.core.tables import UtcDateTime

revision = "0009_workbench_hall_ticket"
down_revision = "0009_perf_kpi_day"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "svc_hall_ticket",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("hall", sa.String(40), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("issued_at", UtcDateTime, nullable=False),
        sa.Column("called_at", UtcDateTime, nullable=True),
        sa.Column("clerk", sa.String(80), nullable=True),
        sa.Column("window", sa.String(20), nullable=True),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("application", sa.String(40), nullable=True),
        sa.UniqueConstraint("hall", "day", "number", name="uq_svc_hall_ticket_hall_day_number"),
    )
    op.create_index("ix_svc_hall_ticket_hall_day_status", "svc_hall_ticket", ["hall", "day", "status"])


def downgrade() -> None:
    op.drop_index("ix_svc_hall_ticket_hall_day_status", "svc_hall_ticket")
    op.drop_table("svc_hall_ticket")
