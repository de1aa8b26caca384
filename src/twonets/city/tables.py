"""Tables of the city package: reference data, spatial units, routing rules, work orders."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from twonets.core.tables import UtcDateTime, metadata

KPI_FLAGS = ("auto_n", "auto_same_day", "pro_n", "pro_resolved", "cit_n", "callbacks", "cit_resolved",
             "cit_satisfied", "cit_both", "resolved", "on_time", "overdue", "reopened", "duplicates")

department = Table(
    "department",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("name_zh", String(100), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("level", String(20), nullable=False),
    Column("contact", String(60), nullable=False),
)

category = Table(
    "category",
    metadata,
    Column("code", String(60), primary_key=True),
    Column("major_code", String(60), nullable=False),
    Column("name_zh", String(100), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("major_name_zh", String(100), nullable=False),
    Column("major_name_en", String(200), nullable=False),
    Column("department", String(40), nullable=False),
    Column("limits", JSON, nullable=False),
)

# district → street → community → grid, one table; geometry is a GeoJSON geometry.
area = Table(
    "area",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("level", String(20), nullable=False),
    Column("parent_code", String(40), nullable=True),
    Column("street_code", String(40), nullable=True),
    Column("community_code", String(40), nullable=True),
    Column("name_zh", String(100), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("geometry", JSON, nullable=False),
    Column("center_lon", Float, nullable=False),
    Column("center_lat", Float, nullable=False),
    Column("area_km2", Float, nullable=False),
    Index("ix_area_level", "level"),
)

routing_rule = Table(
    "routing_rule",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("category", String(60), nullable=True),  # None: any category
    Column("street_code", String(40), nullable=True),  # None: any street
    Column("grid_code", String(40), nullable=True),  # None: any grid
    Column("department", String(40), ForeignKey("department.code"), nullable=False),
    Column("note", String(400), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(80), nullable=False),
    UniqueConstraint("category", "street_code", "grid_code", name="uq_routing_rule_scope"),
)

# Personal data of reporters lives apart from orders; listings show it masked.
reporter = Table(
    "reporter",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=True),
    Column("phone", String(40), nullable=True),
)

# The current state of each order: a projection that always equals the replay of its events.
work_order = Table(
    "work_order",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("public_id", String(40), nullable=False, unique=True),
    Column("source", String(20), nullable=False),
    Column("channel", String(30), nullable=False),
    Column("category", String(60), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("department", String(40), nullable=True),
    Column("street_code", String(40), nullable=True),
    Column("community_code", String(40), nullable=True),
    Column("grid_code", String(40), nullable=True),
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("address", String(400), nullable=True),
    Column("description", Text, nullable=False),
    Column("photos", JSON, nullable=False),
    Column("reporter_id", ForeignKey("reporter.id"), nullable=True),
    # The account that filed the order (a citizen, an inspector): it may follow its own reports.
    Column("reporter_account", String(80), nullable=True),
    Column("master_id", String(40), nullable=True),
    Column("external_ref", String(200), nullable=True),
    Column("escalation_level", Integer, nullable=False),
    Column("flag", String(10), nullable=False),
    Column("was_overdue", Boolean, nullable=False),
    Column("returns_count", Integer, nullable=False),
    Column("reopen_count", Integer, nullable=False),
    Column("limit_clock", String(20), nullable=False),
    Column("limit_seconds", Float, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("clock_start", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("warn_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("suspended_from", String(20), nullable=True),
    Column("suspended_at", UtcDateTime, nullable=True),
    Column("suspended_s", Float, nullable=False),
    Column("suspended_working_s", Float, nullable=False),
    Column("spent_s", Float, nullable=False),
    Column("resolution_s", Float, nullable=True),
    Column("resolution_working_s", Float, nullable=True),
    Column("resolved_same_day", Boolean, nullable=True),
    Column("on_time", Boolean, nullable=True),
    Column("actually_resolved", Boolean, nullable=True),
    Column("satisfaction", String(20), nullable=True),
    Column("condition_cleared_at", UtcDateTime, nullable=True),
    Column("event_count", Integer, nullable=False),
    # The order's contribution to the KPI counters (city/kpi.py `flags`), kept with every write.
    *[Column(f"k_{name}", SmallInteger, nullable=False) for name in KPI_FLAGS],
    Index("ix_work_order_created", "created_at"),
    # Covering index: the KPI table over a year is read from it alone.
    Index("ix_work_order_kpi", "created_at", *[f"k_{name}" for name in KPI_FLAGS], "resolution_s",
          "resolution_working_s", "returns_count", "source", "department", "category", "street_code", "channel"),
    Index("ix_work_order_status_due", "status", "due_at"),
    Index("ix_work_order_dup", "category", "status", "created_at"),
    Index("ix_work_order_department", "department", "created_at"),
    Index("ix_work_order_external", "external_ref"),
    Index("ix_work_order_reporter_account", "reporter_account", "id"),
)

work_order_event = Table(
    "work_order_event",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("order_id", ForeignKey("work_order.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(30), nullable=False),
    Column("from_status", String(20), nullable=True),
    Column("to_status", String(20), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=True),
    Column("data", JSON, nullable=False),
    UniqueConstraint("order_id", "seq", name="uq_work_order_event_seq"),
)

# Daily KPI rollup: the KPI counters of the orders created on a local day, summed per source,
# department and street (city/kpi_rollup.py). The order repository keeps it in the same
# transaction as the order rows; the year's grouped KPI table is a sum over these rows.
# '' stands for "none" (a key column cannot be NULL); times are summed in milliseconds.
ROLLUP_KEY = ("day", "source", "department", "street_code")
order_kpi_day = Table(
    "order_kpi_day",
    metadata,
    Column("day", Date, primary_key=True),
    Column("source", String(20), primary_key=True),
    Column("department", String(40), primary_key=True),
    Column("street_code", String(40), primary_key=True),
    Column("orders", Integer, nullable=False),
    *[Column(f"k_{name}", Integer, nullable=False) for name in KPI_FLAGS],
    Column("resolution_ms", BigInteger, nullable=False),
    Column("resolution_working_ms", BigInteger, nullable=False),
    Column("returns", Integer, nullable=False),
)
