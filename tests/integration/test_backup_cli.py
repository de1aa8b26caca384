"""`twonets backup` / `twonets restore` through the CLI, on SQLite and PostgreSQL: a restore
reproduces the KPIs and passes `audit verify`; a database whose keys are missing refuses to
start instead of making new ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.data.support import ADMIN, data_env  # noqa: F401
from twonets.core import db as core_db
from twonets.core.config import settings
from twonets.core.db import session_factory

pytestmark = pytest.mark.usefixtures("data_env")
runner = CliRunner()


def _cli(*args: str):
    from twonets.cli import app

    return runner.invoke(app, list(args))


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _use(monkeypatch, url: str, key_dir: Path) -> None:
    monkeypatch.setenv("TWONETS_DATABASE_URL", url)
    monkeypatch.setenv("TWONETS_KEY_DIR", str(key_dir))
    settings.cache_clear()
    core_db.engine_for.cache_clear()


def _populate(engine) -> None:
    """Orders (for the KPIs), audit entries with signed checkpoints, a department e-seal."""
    from twonets.data import audit
    from twonets.demo.orders import run_demo
    from twonets.govservices import eseal

    run_demo(engine, days=2, seed=11, orders_per_day=40)
    with session_factory(engine)() as s:
        for i in range(10):
            audit.append(s, "admin", ADMIN, "thing.change", f"T-{i}", {"i": i})
        eseal.signing_key(s, "minzheng")
        s.commit()
    assert _cli("audit", "checkpoint", "--json").exit_code == 0


@pytest.fixture
def every4(monkeypatch):
    monkeypatch.setenv("TWONETS_AUDIT_CHECKPOINT_EVERY", "4")
    settings.cache_clear()


def test_restore_reproduces_kpis_and_passes_audit_verify(engine, tmp_path, monkeypatch, every4):
    url = engine.url.render_as_string(hide_password=False)
    _use(monkeypatch, url, tmp_path / "keys")
    _populate(engine)
    kpis = _json(_cli("kpi", "--json"))
    assert kpis and kpis[0]["orders"] > 0, kpis
    before = _json(_cli("audit", "verify", "--json"))
    assert before["ok"] and before["checkpoints"] >= 3 and before["anchored"] >= 3, before

    archive = tmp_path / "backups" / "twonets.tar.gz"
    done = _json(_cli("backup", str(archive), "--json"))
    assert archive.exists() and done["audit_head_seq"] == before["head_seq"]
    assert oct(archive.stat().st_mode & 0o777) == "0o600"  # it holds private keys

    # the machine is lost: a new database and an empty key directory
    engine.dispose()
    core_db.engine_for.cache_clear()
    if engine.dialect.name == "sqlite":
        target = f"sqlite:///{tmp_path / 'restored' / 'twonets.db'}"
    else:
        from tests.conftest import _truncate_pg

        _truncate_pg(engine)  # (trigger or not, the owner's TRUNCATE empties it)
        target = url
    _use(monkeypatch, target, tmp_path / "new-keys")
    if engine.dialect.name == "postgresql":
        assert _cli("restore", str(archive), "--json").exit_code == 2  # not into a database that exists
        restored = _json(_cli("restore", str(archive), "--force", "--json"))
    else:
        restored = _json(_cli("restore", str(archive), "--json"))
    assert restored["audit"]["ok"], restored

    assert _json(_cli("kpi", "--json")) == kpis
    after = _json(_cli("audit", "verify", "--json"))
    assert after["ok"] and (after["entries"], after["checkpoints"], after["anchored"]) == (
        before["entries"], before["checkpoints"], before["anchored"])
    assert (tmp_path / "new-keys" / "eseals").is_dir()
    assert _cli("tick", "--json").exit_code == 0
    core_db.engine_for.cache_clear()


def test_a_database_without_its_keys_refuses_to_start(engine, tmp_path, monkeypatch, every4):
    url = engine.url.render_as_string(hide_password=False)
    _use(monkeypatch, url, tmp_path / "keys")
    _populate(engine)
    assert _cli("audit", "verify").exit_code == 0

    empty = tmp_path / "no-keys"
    _use(monkeypatch, url, empty)
    for args in (["audit", "verify"], ["audit", "checkpoint"], ["tick"], ["serve", "--port", "1"]):
        r = _cli(*args)
        assert r.exit_code == 2, (args, r.output)
        message = " ".join(r.output.split())
        assert "signing keys of this database are missing" in message and "twonets restore" in message, message
    assert not empty.exists() or not any(empty.rglob("*.pem"))  # no new key was made

    # the system key is back but a department's e-seal is not
    import shutil

    shutil.copytree(tmp_path / "keys", empty)
    shutil.rmtree(empty / "eseals")
    r = _cli("audit", "verify")
    assert r.exit_code == 2 and "e-seal" in r.output
    core_db.engine_for.cache_clear()


def test_restore_refuses_what_is_not_a_backup(engine, tmp_path, monkeypatch):
    url = engine.url.render_as_string(hide_password=False)
    _use(monkeypatch, url, tmp_path / "keys")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    r = _cli("restore", str(junk), "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["status"] == 422
    core_db.engine_for.cache_clear()
