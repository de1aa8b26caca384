"""Every shipped detector, through the real pipeline and storage (SQLite and PostgreSQL), with
injected reading times: firing and quiet sides, duration, hysteresis, window, tags, absence."""

from __future__ import annotations

import pytest

from tests.sensing_support import CASES, ingest_direct, run_case, seed
from twonets.city.sensing import pipeline
from twonets.core.db import session_factory, unit_of_work


@pytest.mark.parametrize("case", CASES, ids=[c.detector for c in CASES])
def test_detector_scenario(engine, case):
    with session_factory(engine)() as s:
        seed(s)

    def absence(now):
        with unit_of_work(engine) as s:
            pipeline.run_absence(s, now)

    run_case(case, session_factory(engine), ingest_direct(engine), run_absence=absence)
