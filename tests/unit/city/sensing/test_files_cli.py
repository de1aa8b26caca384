"""Backfills from CSV/Parquet through the pipeline, Parquet export and DuckDB analytics, and
the `twonets ingest` / `twonets sensing …` commands run as a user would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from twonets.city.sensing import analytics, files, store, things
from twonets.cli import app
from twonets.core.actor import SYSTEM
from twonets.core.db import session_factory

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


def _register(engine):
    with session_factory(engine)() as s:
        things.register(s, SYSTEM, [things.ThingIn(thing_id="bin-1", type="waste_bin", name="Bin 1"),
                                    things.ThingIn(thing_id="aq-1", type="air_quality_station", name="AQ 1")])
        s.commit()


def _csv(path, n=50):
    lines = ["thing_id,attribute,ts,value"]
    for i in range(n):
        lines.append(f"bin-1,fill_pct,{(T0 + timedelta(minutes=i)).isoformat()},{i % 100}")
        lines.append(f"aq-1,aqi,{(T0 + timedelta(minutes=i)).isoformat()},{50 + i}")
    lines += ["bin-1,fill_pct,not-a-time,3", "ghost,fill_pct,2026-01-01T00:00:00Z,3", "bin-1,fill_pct,"
              f"{T0.isoformat()},abc", f"aq-1,aqi,{T0.isoformat()},900"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_csv_backfill_parquet_export_and_duckdb(sqlite_engine, tmp_path):
    _register(sqlite_engine)
    result = files.ingest_file(_csv(tmp_path / "r.csv"), engine=sqlite_engine, batch=30, progress=False)
    assert (result.stored, result.rejected, result.quarantined) == (100, 4, 4)
    assert set(result.reasons) == {"bad_timestamp", "unknown_thing", "not_a_number", "out_of_range"}
    again = files.ingest_file(tmp_path / "r.csv", engine=sqlite_engine, progress=False)
    assert (again.stored, again.duplicates, again.quarantined) == (0, 100, 0)

    out = tmp_path / "lake" / "day.parquet"
    assert analytics.export_parquet(out, T0, T0 + timedelta(days=1), engine=sqlite_engine) == 100
    rows = {r["attribute"]: r for r in analytics.summarise(out, "attribute")}
    assert rows["aqi"]["count"] == 50 and rows["aqi"]["min"] == 50 and rows["aqi"]["max"] == 99
    assert rows["fill_pct"]["mean"] == pytest.approx(24.5)
    assert len(analytics.summarise(str(tmp_path / "lake" / "*.parquet"), "hour")) >= 1
    with pytest.raises(ValueError):
        analytics.summarise(out, "colour")

    # the exported Parquet backfills another database the same way
    with session_factory(sqlite_engine)() as s:
        before = store.counts(s)["readings"]
    replay = files.ingest_file(out, engine=sqlite_engine, progress=False)
    assert replay.duplicates == 100 and before == 100


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    from twonets.core import config, db

    monkeypatch.setenv("TWONETS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    config.settings.cache_clear()
    db.engine_for.cache_clear()
    yield tmp_path
    config.settings.cache_clear()
    db.engine_for.cache_clear()


def test_cli_ingest_export_analyse_tick(cli_db):
    from twonets.core.db import default_engine

    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    _register(default_engine())
    r = runner.invoke(app, ["ingest", str(_csv(cli_db / "r.csv", 10)), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.strip().splitlines()[-1])["stored"] == 20
    r = runner.invoke(app, ["sensing", "ingest", str(cli_db / "r.csv")])
    assert r.exit_code == 0 and "duplicates 20" in r.output, r.output
    r = runner.invoke(app, ["sensing", "export", str(cli_db / "x.parquet"), "--from", (T0 - timedelta(hours=1)).isoformat(),
                            "--to", (T0 + timedelta(days=1)).isoformat()])
    assert r.exit_code == 0 and "20 readings" in r.output, r.output
    r = runner.invoke(app, ["sensing", "analyse", str(cli_db / "x.parquet"), "--json"])
    assert r.exit_code == 0 and {row["attribute"] for row in json.loads(r.output)} == {"aqi", "fill_pct"}
    r = runner.invoke(app, ["sensing", "tick", "--at", (T0 + timedelta(days=1)).isoformat()])
    assert r.exit_code == 0 and "fired" in r.output
    r = runner.invoke(app, ["sensing", "prune", "--at", (T0 + timedelta(days=60)).isoformat()])
    assert r.exit_code == 0 and "pruned 20 readings" in r.output, r.output
    r = runner.invoke(app, ["sensing", "tick", "--at", "yesterday"])
    assert r.exit_code == 2 and "ISO 8601" in r.output
    r = runner.invoke(app, ["ingest", str(cli_db / "nope.txt")])
    assert r.exit_code != 0
