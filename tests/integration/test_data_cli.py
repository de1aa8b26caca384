"""`twonets audit verify`, `audit checkpoint`, `users create`, `users api-key`, `catalogue sync`."""

from __future__ import annotations

import json
import shutil

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from tests.unit.data.support import data_env  # noqa: F401
from twonets.core import db as core_db
from twonets.data.cli import audit_app, catalogue_app, users_app
from twonets.data.tables import audit_entry

pytestmark = pytest.mark.usefixtures("data_env")
runner = CliRunner()


@pytest.fixture
def url(tmp_path, sqlite_template):
    path = tmp_path / "cli.db"
    shutil.copy(sqlite_template, path)
    yield f"sqlite:///{path}"
    core_db.engine_for.cache_clear()


def _json(result) -> dict:
    assert result.stdout.strip(), result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_users_catalogue_and_audit_verify(url, monkeypatch):
    monkeypatch.setenv("TWONETS_NEW_PASSWORD", "correct horse battery")
    r = runner.invoke(users_app, ["create", "chen.officer", "--role", "data_officer", "--department", "gongan", "--json", "--database-url", url])
    assert r.exit_code == 0, r.output
    assert _json(r)["roles"] == ["data_officer"]
    r = runner.invoke(users_app, ["create", "bad", "--role", "wizard", "--json", "--database-url", url])
    assert r.exit_code == 2 and _json(r)["status"] == 422
    r = runner.invoke(users_app, ["api-key", "device", "gateway-1", "--json", "--database-url", url])
    assert r.exit_code == 0 and _json(r)["key"].startswith("tnk_")
    r = runner.invoke(catalogue_app, ["sync", "--json", "--database-url", url])
    assert r.exit_code == 0 and _json(r)["created"] >= 8
    r = runner.invoke(audit_app, ["checkpoint", "--json", "--database-url", url])
    assert r.exit_code == 0 and _json(r)["seq"] >= 3

    r = runner.invoke(audit_app, ["verify", "--json", "--database-url", url])
    assert r.exit_code == 0, r.output
    ok = _json(r)
    assert ok["ok"] and ok["entries"] >= 3 and ok["checkpoints"] == 1

    engine = core_db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(update(audit_entry).where(audit_entry.c.seq == 2).values(actor="mallory"))
    engine.dispose()
    r = runner.invoke(audit_app, ["verify", "--json", "--database-url", url])
    assert r.exit_code == 1
    broken = _json(r)
    assert broken["ok"] is False and broken["first_broken"] == 2
    r = runner.invoke(audit_app, ["verify", "--database-url", url])
    assert r.exit_code == 1 and "entry 2" in r.output
