"""The migrations form one line: one head, so `twonets db upgrade` has one target."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from twonets.core.db import alembic_config


def test_one_alembic_head():
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"several Alembic heads: {heads}; add a merge revision"
