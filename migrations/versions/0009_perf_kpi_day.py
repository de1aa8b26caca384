"""Daily KPI rollup of work orders (order_kpi_day), filled from the orders already stored.

Revision ID: 0009_perf_kpi_day
Revises: 0008_order_reporter_account
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_perf_kpi_day"
down_revision = "0008_order_reporter_account"
branch_labels = None
depends_on = None

FLAGS = ("auto_n", "auto_same_day", "pro_n", "pro_resolved", "cit_n", "callbacks", "cit_resolved",
         "cit_satisfied", "cit_both", "resolved", "on_time", "overdue", "reopened", "duplicates")
KEY = ("day", "source", "department", "street_code")
SUMS = ("orders", *[f"k_{f}" for f in FLAGS], "resolution_ms", "resolution_working_ms", "returns")


def upgrade() -> None:
    op.create_table(
        "order_kpi_day",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("source", sa.String(20), primary_key=True),
        sa.Column("department", sa.String(40), primary_key=True),
        sa.Column("street_code", sa.String(40), primary_key=True),
        sa.Column("orders", sa.Integer, nullable=False),
        *[sa.Column(f"k_{f}", sa.Integer, nullable=False) for f in FLAGS],
        sa.Column("resolution_ms", sa.BigInteger, nullable=False),
        sa.Column("resolution_working_ms", sa.BigInteger, nullable=False),
        sa.Column("returns", sa.Integer, nullable=False),
    )
    # The orders stored so far, summed as city/kpi_rollup.py keeps them (local day: UTC+8, no DST;
    # times in whole milliseconds, rounded down; '' for no department or street).
    if op.get_bind().dialect.name == "sqlite":
        day, ms = "date(created_at, '+480 minutes')", "CAST({} * 1000 AS INTEGER)"
    else:
        day, ms = "CAST(timezone('Asia/Shanghai', created_at) AS DATE)", "CAST(floor({} * 1000) AS BIGINT)"
    flags = ", ".join(f"SUM(k_{f})" for f in FLAGS)
    op.execute(
        f"INSERT INTO order_kpi_day ({', '.join(KEY + SUMS)}) "
        f"SELECT {day}, source, COALESCE(department, ''), COALESCE(street_code, ''), COUNT(*), {flags}, "
        f"SUM(COALESCE({ms.format('resolution_s')}, 0)), SUM(COALESCE({ms.format('resolution_working_s')}, 0)), "
        f"SUM(returns_count) FROM work_order "
        f"GROUP BY {day}, source, COALESCE(department, ''), COALESCE(street_code, '')"
    )


def downgrade() -> None:
    op.drop_table("order_kpi_day")
