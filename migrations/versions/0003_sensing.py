"""City sensing: things, readings, rollups, latest state, quarantine, business tags,
detector state, alarms.

Revision ID: 0003_sensing
Revises: 0002_data
"""

import sqlalchemy as sa
from alembic import op

from twonets.core.tables import UtcDateTime as UTC

revision = "0003_sensing"
down_revision = "0002_data"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sensing_thing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thing_id", sa.String(80), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("grid_code", sa.String(40), nullable=True),
        sa.Column("street_code", sa.String(40), nullable=True),
        sa.Column("owner_department", sa.String(40), nullable=True),
        sa.Column("expected_interval_s", sa.Float(), nullable=True),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("registered_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensing_thing")),
        sa.UniqueConstraint("thing_id", name=op.f("uq_sensing_thing_thing_id")),
    )
    op.create_index("ix_sensing_thing_type", "sensing_thing", ["type"])

    op.create_table(
        "sensing_reading",
        sa.Column("thing_id", sa.String(80), nullable=False),
        sa.Column("attribute", sa.String(40), nullable=False),
        sa.Column("ts", UTC(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("received_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("thing_id", "attribute", "ts", name=op.f("pk_sensing_reading")),
    )
    op.create_index("ix_sensing_reading_ts", "sensing_reading", ["ts"])

    op.create_table(
        "sensing_rollup",
        sa.Column("thing_id", sa.String(80), nullable=False),
        sa.Column("attribute", sa.String(40), nullable=False),
        sa.Column("grain", sa.String(6), nullable=False),
        sa.Column("bucket", UTC(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("thing_id", "attribute", "grain", "bucket", name=op.f("pk_sensing_rollup")),
    )

    op.create_table(
        "sensing_latest",
        sa.Column("thing_id", sa.String(80), nullable=False),
        sa.Column("attribute", sa.String(40), nullable=False),
        sa.Column("ts", UTC(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("thing_id", "attribute", name=op.f("pk_sensing_latest")),
    )

    op.create_table(
        "sensing_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("received_at", UTC(), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("ref", sa.String(200), nullable=True),
        sa.Column("thing_id", sa.String(80), nullable=True),
        sa.Column("attribute", sa.String(40), nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("detail", sa.String(400), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensing_quarantine")),
        sa.UniqueConstraint("digest", name=op.f("uq_sensing_quarantine_digest")),
    )
    op.create_index("ix_sensing_quarantine_reason", "sensing_quarantine", ["reason", "received_at"])

    op.create_table(
        "sensing_tag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(60), nullable=False),
        sa.Column("subject_kind", sa.String(20), nullable=False),
        sa.Column("subject_ref", sa.String(80), nullable=False),
        sa.Column("source_department", sa.String(40), nullable=False),
        sa.Column("valid_from", UTC(), nullable=False),
        sa.Column("valid_to", UTC(), nullable=True),
        sa.Column("pushed_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensing_tag")),
        sa.UniqueConstraint("tag", "subject_kind", "subject_ref", "source_department", name="uq_sensing_tag_key"),
    )
    op.create_index("ix_sensing_tag_subject", "sensing_tag", ["subject_ref", "tag"])

    op.create_table(
        "sensing_detector_state",
        sa.Column("detector", sa.String(60), nullable=False),
        sa.Column("thing_id", sa.String(80), nullable=False),
        sa.Column("pending_since", UTC(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("alarm_id", sa.String(40), nullable=True),
        sa.Column("last_fired_at", UTC(), nullable=True),
        sa.PrimaryKeyConstraint("detector", "thing_id", name=op.f("pk_sensing_detector_state")),
    )
    op.create_index("ix_sensing_detector_state_thing", "sensing_detector_state", ["thing_id"])

    op.create_table(
        "sensing_alarm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(40), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("detector", sa.String(60), nullable=False),
        sa.Column("thing_id", sa.String(80), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("category", sa.String(60), nullable=False),
        sa.Column("opened_at", UTC(), nullable=False),
        sa.Column("last_at", UTC(), nullable=False),
        sa.Column("cleared_at", UTC(), nullable=True),
        sa.Column("repeats", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("detail", sa.String(400), nullable=False),
        sa.Column("order_id", sa.String(40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sensing_alarm")),
        sa.UniqueConstraint("public_id", name=op.f("uq_sensing_alarm_public_id")),
    )
    op.create_index("ix_sensing_alarm_key", "sensing_alarm", ["key", "status"])
    op.create_index("ix_sensing_alarm_opened", "sensing_alarm", ["opened_at"])


def downgrade() -> None:
    for name in ("sensing_alarm", "sensing_detector_state", "sensing_tag", "sensing_quarantine",
                 "sensing_latest", "sensing_rollup", "sensing_reading", "sensing_thing"):
        op.drop_table(name)
