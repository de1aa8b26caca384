"""The nonces of signed requests from peer regions: a nonce is accepted once (replays refused)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, UniqueConstraint

from twonets.core.tables import UtcDateTime, metadata

data_peer_nonce = Table(
    "data_peer_nonce",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("peer", String(80), nullable=False),
    Column("nonce", String(120), nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    UniqueConstraint("peer", "nonce", name="uq_data_peer_nonce"),
)
