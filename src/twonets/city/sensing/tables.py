"""Tables of city sensing: things, readings (raw, rollups, latest), quarantine, business tags,
detector state and alarms. Readings are keyed by (thing, attribute, timestamp): a redelivered
reading stores nothing twice."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, Index, Integer, String, Table, Text, UniqueConstraint

from twonets.core.tables import UtcDateTime, metadata

thing = Table(
    "sensing_thing",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("thing_id", String(80), nullable=False, unique=True),
    Column("type", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("grid_code", String(40), nullable=True),
    Column("street_code", String(40), nullable=True),
    Column("owner_department", String(40), nullable=True),
    Column("expected_interval_s", Float, nullable=True),  # None: the type's interval
    # who or what the thing serves: [{"kind": "person"|"place"|"organisation", "ref": "..."}]
    Column("subjects", JSON, nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    Index("ix_sensing_thing_type", "type"),
)

reading = Table(
    "sensing_reading",
    metadata,
    Column("thing_id", String(80), primary_key=True),
    Column("attribute", String(40), primary_key=True),
    Column("ts", UtcDateTime, primary_key=True),
    Column("value", Float, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_sensing_reading_ts", "ts"),
)

# Minute and hour rollups, kept up to date by the pipeline from newly stored readings only.
rollup = Table(
    "sensing_rollup",
    metadata,
    Column("thing_id", String(80), primary_key=True),
    Column("attribute", String(40), primary_key=True),
    Column("grain", String(6), primary_key=True),  # minute | hour
    Column("bucket", UtcDateTime, primary_key=True),
    Column("n", Integer, nullable=False),
    Column("total", Float, nullable=False),
    Column("min", Float, nullable=False),
    Column("max", Float, nullable=False),
)

latest = Table(
    "sensing_latest",
    metadata,
    Column("thing_id", String(80), primary_key=True),
    Column("attribute", String(40), primary_key=True),
    Column("ts", UtcDateTime, nullable=False),
    Column("value", Float, nullable=False),
)

quarantine = Table(
    "sensing_quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False, unique=True),  # a redelivered bad message is kept once
    Column("received_at", UtcDateTime, nullable=False),
    Column("source", String(20), nullable=False),  # mqtt | http | file
    Column("ref", String(200), nullable=True),  # topic, file name, gateway
    Column("thing_id", String(80), nullable=True),
    Column("attribute", String(40), nullable=True),
    Column("reason", String(40), nullable=False),
    Column("detail", String(400), nullable=False),
    Column("payload", Text, nullable=False),
    Index("ix_sensing_quarantine_reason", "reason", "received_at"),
)

tag = Table(
    "sensing_tag",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tag", String(60), nullable=False),
    Column("subject_kind", String(20), nullable=False),  # person | place | organisation | thing
    Column("subject_ref", String(80), nullable=False),
    Column("source_department", String(40), nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=True),
    Column("pushed_at", UtcDateTime, nullable=False),
    UniqueConstraint("tag", "subject_kind", "subject_ref", "source_department", name="uq_sensing_tag_key"),
    Index("ix_sensing_tag_subject", "subject_ref", "tag"),
)

# Per (detector, thing): where its evaluation stands. Rows exist only for pairs that triggered.
detector_state = Table(
    "sensing_detector_state",
    metadata,
    Column("detector", String(60), primary_key=True),
    Column("thing_id", String(80), primary_key=True),
    Column("pending_since", UtcDateTime, nullable=True),
    Column("active", Boolean, nullable=False),
    Column("alarm_id", String(40), nullable=True),
    Column("last_fired_at", UtcDateTime, nullable=True),
    Index("ix_sensing_detector_state_thing", "thing_id"),
)

alarm = Table(
    "sensing_alarm",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("key", String(200), nullable=False),  # detector:thing, the order's external_ref
    Column("detector", String(60), nullable=False),
    Column("thing_id", String(80), nullable=False),
    Column("status", String(10), nullable=False),  # active | cleared
    Column("severity", String(10), nullable=False),
    Column("category", String(60), nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("last_at", UtcDateTime, nullable=False),
    Column("cleared_at", UtcDateTime, nullable=True),
    Column("repeats", Integer, nullable=False),
    Column("value", Float, nullable=True),
    Column("detail", String(400), nullable=False),
    Column("order_id", String(40), nullable=True),
    Index("ix_sensing_alarm_key", "key", "status"),
    Index("ix_sensing_alarm_opened", "opened_at"),
)
