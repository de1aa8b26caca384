"""JSON columns hold JSON on both databases: NaN and Infinity are refused by the engine's
serializer, so SQLite never stores the text no JSON reader accepts (issue 11 item 9)."""

from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError

from twonets.core.db import make_engine

DOCS = Table("docs", MetaData(), Column("id", Integer, primary_key=True), Column("doc", JSON))


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_a_json_column_refuses_non_finite_numbers(tmp_path, number):
    engine = make_engine(f"sqlite:///{tmp_path / 'j.db'}")
    DOCS.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(DOCS).values(id=1, doc={"x": 1.5}))
    with pytest.raises(StatementError), engine.begin() as conn:
        conn.execute(insert(DOCS).values(id=2, doc={"x": number}))
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT doc FROM docs")).scalars().all()
        assert [json.loads(raw, parse_constant=lambda t: pytest.fail(f"stored {t}")) for raw in stored] == [{"x": 1.5}]
        assert conn.execute(select(DOCS.c.doc)).scalars().all() == [{"x": 1.5}]
    engine.dispose()
