"""The command line, run as a user would (Typer's runner, a real SQLite file)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from twonets.cli import app


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    from twonets.core import config, db

    monkeypatch.setenv("TWONETS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("TWONETS_KEY_DIR", str(tmp_path / "keys"))  # a database's own keys and audit anchor
    config.settings.cache_clear()
    db.engine_for.cache_clear()
    yield tmp_path
    config.settings.cache_clear()
    db.engine_for.cache_clear()


def test_upgrade_tick_and_kpi(cli_db):
    runner = CliRunner()
    r = runner.invoke(app, ["db", "upgrade"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["tick", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["checked"] == 0
    r = runner.invoke(app, ["kpi", "--json", "--by", "source", "--csv", str(cli_db / "k.csv")])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["orders"] == 0
    assert (cli_db / "k.csv").read_text().startswith("group,orders")
    r = runner.invoke(app, ["kpi"])
    assert r.exit_code == 0 and "KPI" in r.output


def test_bad_arguments_get_a_clear_error(cli_db):
    runner = CliRunner()
    runner.invoke(app, ["db", "upgrade"])
    r = runner.invoke(app, ["kpi", "--from", "yesterday"])
    assert r.exit_code == 2 and "from must be a day" in r.output
    r = runner.invoke(app, ["tick", "--at", "soon"])
    assert r.exit_code == 2 and "ISO 8601" in r.output


def test_demo_seeds_a_district_people_can_sign_in_to(cli_db):
    from fastapi.testclient import TestClient

    from twonets.api.app import create_app
    from twonets.core.db import default_engine
    from twonets.demo.accounts import DEMO_PASSWORD

    runner = CliRunner()
    r = runner.invoke(app, ["demo", "--days", "1", "--orders-per-day", "200", "--seed", "3"])
    assert r.exit_code == 0, r.output
    assert "200 work orders" in r.output and "KPI" in r.output
    r = runner.invoke(app, ["demo", "--days", "1", "--if-empty"])
    assert r.exit_code == 0 and "work orders and" not in r.output  # nothing added the second time
    with TestClient(create_app(default_engine())) as client:
        login = client.post("/api/v1/auth/login", json={"username": "desk", "password": DEMO_PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        page = client.get("/api/v1/orders", params={"limit": 5}, headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 200 and len(page.json()["items"]) == 5
        assert client.get("/api/v1/grids").json()["features"]
        matters = client.get("/api/v1/matters", params={"limit": 5}).json()
        assert len(matters["items"]) == 5  # the services catalogue was seeded with the district
    r = runner.invoke(app, ["audit", "verify"])
    assert r.exit_code == 0, r.output
