"""The router's tables: the suggestion made for each classified order, and the dispatchers'
corrections that become training data."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, Index, Integer, String, Table, Text

from twonets.core.tables import UtcDateTime, metadata

routing_suggestion = Table(
    "routing_suggestion",
    metadata,
    Column("order_id", String(40), primary_key=True),  # the work order's public id
    Column("created_at", UtcDateTime, nullable=False),
    Column("model", String(80), nullable=False),  # when the model was trained (its identity)
    Column("category", String(60), nullable=False),
    Column("department", String(40), nullable=False),
    Column("probability", Float, nullable=False),  # of the department
    Column("auto_routed", Boolean, nullable=False),
    Column("suggestion", JSON, nullable=False),  # top categories and departments, reasons, threshold
)

routing_correction = Table(
    "routing_correction",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("order_id", String(40), nullable=True),
    Column("text", Text, nullable=False),
    Column("suggested", String(60), nullable=True),  # the router's category, if it made one
    Column("category", String(60), nullable=False),  # the dispatcher's
    Column("department", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(80), nullable=False),
    Index("ix_routing_correction_order_id", "order_id"),
)
