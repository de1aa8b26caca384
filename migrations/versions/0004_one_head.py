"""One head again: the sensing and government-services schemas both follow the data foundation.

Revision ID: 0004_one_head
Revises: 0003_sensing, 0003_services

Every later migration revises this one, so `alembic upgrade head` names one target.
"""

revision = "0004_one_head"
down_revision = ("0003_sensing", "0003_services")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
