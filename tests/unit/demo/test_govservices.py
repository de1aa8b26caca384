"""The simulated applications of the demo: through the real service functions, replayable."""

from __future__ import annotations

import random

from sqlalchemy import select

from tests.unit.govservices.support import local
from twonets.core.actor import SYSTEM
from twonets.core.db import session_factory
from twonets.demo.applications import example
from twonets.demo.govservices import seed_services
from twonets.govservices import forms, history, matters, stats
from twonets.govservices.tables import svc_application


def test_example_forms_are_valid():
    rng = random.Random(1)
    for m in matters.written_out():
        assert forms.form_errors(m, example(m.form, rng)) == [], m.code


def test_simulated_days_replay(sqlite_engine):
    end = local(2026, 11, 20, 12)
    result = seed_services(sqlite_engine, 3, persons=150, companies=10, days=2, per_day=12, at=end)
    assert result["applications"]["applications"] >= 12
    # the demo district's catalogue: the written-out matters and the real district's imported list
    imported = result["matters"]["imported"]
    assert imported["rows"] == 1135 and imported["created"] > 1000 and imported["unmapped"]
    assert result["matters"]["total"] == len(matters.written_out()) + imported["created"]
    with session_factory(sqlite_engine)() as s:
        ids = list(s.execute(select(svc_application.c.public_id).order_by(svc_application.c.id)).scalars())
        assert len(ids) == result["applications"]["applications"]
        for app_id in ids[:: max(1, len(ids) // 8)]:
            out = history.replay(s, SYSTEM, app_id)
            assert out["state_matches"] is True
            assert "decision" not in out or out["decision"]["same"] is True
        assert {row.matter for row in s.execute(select(svc_application.c.matter))} <= {m.code for m in matters.written_out()}
        figures = stats.stats(s, now=end)
        assert figures["applications"] == len(ids) and sum(d["total"] for d in figures["per_day"]) == len(ids)
