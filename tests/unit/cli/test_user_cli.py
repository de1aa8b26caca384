"""Issue 12, CLI: what a person running `twonets` meets (Typer's runner, and subprocesses where a
terminal width or a live server matters)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

import twonets
from twonets.cli import app

SRC = str(Path(twonets.__file__).resolve().parents[1])
FUTURE = "2031-01-10T00:00:00+08:00"


@pytest.fixture
def default_db(tmp_path, monkeypatch):
    """TWONETS_DATABASE_URL names a file that does not exist (and must not come to exist)."""
    from twonets.core import config, db

    path = tmp_path / "default.db"
    monkeypatch.setenv("TWONETS_DATABASE_URL", f"sqlite:///{path}")
    config.settings.cache_clear()
    db.engine_for.cache_clear()
    yield path
    config.settings.cache_clear()
    db.engine_for.cache_clear()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """A small demo district made once (with --database-url); tests work on copies of it."""
    from twonets.core import config
    from twonets.core.db import engine_for

    home = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{home / 'demo.db'}"
    with pytest.MonkeyPatch.context() as mp:  # the demo's own keys and audit anchor, copied with it
        mp.setenv("TWONETS_KEY_DIR", str(home / "keys"))
        config.settings.cache_clear()
        r = CliRunner().invoke(app, ["demo", "--days", "1", "--orders-per-day", "200", "--seed", "3", "--database-url", url])
    config.settings.cache_clear()
    assert r.exit_code == 0, r.output
    engine_for(url).dispose()  # every change in the main file before it is copied
    return home / "demo.db", r.output


@pytest.fixture
def demo_copy(demo_db, tmp_path, monkeypatch):
    """A copy of the demo database with a copy of its key directory (a database is bound to its keys)."""
    from twonets.core import config

    path = tmp_path / "copy.db"
    shutil.copy(demo_db[0], path)
    shutil.copytree(demo_db[0].parent / "keys", tmp_path / "keys")
    monkeypatch.setenv("TWONETS_KEY_DIR", str(tmp_path / "keys"))
    config.settings.cache_clear()
    yield f"sqlite:///{path}"
    config.settings.cache_clear()


def _env(url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC, "TWONETS_DATABASE_URL": url, "TWONETS_LOG_JSON": "0", **extra}


def _orders(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute("SELECT count(*) FROM work_order").fetchone()[0]


def _events(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute("SELECT count(*) FROM work_order_event").fetchone()[0]


# --- 13: a missing, un-migrated or unreachable database ------------------------------------


@pytest.mark.parametrize("args", [["kpi"], ["tick"], ["audit", "verify"], ["catalogue", "sync"],
                                  ["users", "api-key", "open311", "client"], ["kpi", "--by", "source"]])
def test_a_missing_database_is_one_line_and_is_not_created(default_db, args):
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    assert "no database file" in lines[0] and "twonets db upgrade" in lines[0]
    assert not default_db.exists() and not list(default_db.parent.glob("default.db*"))


def test_an_unmigrated_database_or_an_unreachable_postgres_is_one_line(tmp_path):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a file without tables
    runner = CliRunner()
    r = runner.invoke(app, ["audit", "verify", "--database-url", f"sqlite:///{empty}"])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "no schema" in r.output and "twonets db upgrade" in r.output
    r = runner.invoke(app, ["kpi", "--database-url", "postgresql://postgres@127.0.0.1:1/nothing"])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "cannot use the database" in r.output and "Traceback" not in r.output


def test_db_upgrade_still_makes_a_missing_database(default_db):
    r = CliRunner().invoke(app, ["db", "upgrade"])
    assert r.exit_code == 0, r.output
    assert default_db.exists()
    assert CliRunner().invoke(app, ["tick", "--json"]).exit_code == 0


def test_serve_on_a_missing_database_says_so_instead_of_serving(tmp_path):
    missing = tmp_path / "none.db"
    done = subprocess.run([sys.executable, "-m", "twonets.cli", "serve", "--port", str(_free_port())],
                          env=_env(f"sqlite:///{missing}"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "twonets db upgrade" in done.stderr and "Traceback" not in done.stderr
    assert not missing.exists()


# --- 14: re-seeding and ticking into the future do not write by accident ---------------------


def test_demo_again_needs_append(demo_copy):
    before = _orders(demo_copy)
    runner = CliRunner()
    r = runner.invoke(app, ["demo", "--days", "1", "--orders-per-day", "50", "--database-url", demo_copy])
    assert r.exit_code == 2 and "--append" in r.output and len(r.output.strip().splitlines()) == 1, r.output
    assert _orders(demo_copy) == before
    r = runner.invoke(app, ["demo", "--days", "1", "--if-empty", "--database-url", demo_copy])
    assert r.exit_code == 0 and _orders(demo_copy) == before
    r = runner.invoke(app, ["demo", "--days", "1", "--orders-per-day", "50", "--append", "--database-url", demo_copy])
    assert r.exit_code == 0, r.output
    assert _orders(demo_copy) == before + 50


def test_tick_at_a_time_is_a_dry_run_unless_applied(demo_copy):
    runner = CliRunner()
    events = _events(demo_copy)
    r = runner.invoke(app, ["tick", "--at", FUTURE, "--json", "--database-url", demo_copy])
    assert r.exit_code == 0, r.output
    dry = json.loads(r.output)
    assert dry["dry_run"] is True and dry["escalated"] > 0
    assert _events(demo_copy) == events  # nothing written
    r = runner.invoke(app, ["tick", "--at", FUTURE, "--database-url", demo_copy])
    assert r.exit_code == 0 and "dry run" in r.output and "--apply" in r.output
    r = runner.invoke(app, ["tick", "--at", FUTURE, "--apply", "--json", "--database-url", demo_copy])
    applied = json.loads(r.output)
    assert applied["dry_run"] is False and applied["escalated"] == dry["escalated"]
    assert _events(demo_copy) > events
    again = json.loads(runner.invoke(app, ["tick", "--at", FUTURE, "--json", "--database-url", demo_copy]).output)
    assert again["escalated"] == 0  # applied: there is nothing left to do at that time


# --- 15: one --database-url, verdicts on stdout, an 80-column KPI table, a progress bar --------


def test_every_database_command_takes_database_url(default_db, demo_copy):
    runner = CliRunner()
    for args in (["kpi", "--json"], ["tick", "--json"], ["demo", "--days", "1", "--if-empty"],
                 ["db", "upgrade"], ["audit", "verify"]):
        r = runner.invoke(app, [*args, "--database-url", demo_copy])
        assert r.exit_code == 0, (args, r.output)
    assert not default_db.exists()  # none of them touched the default database
    r = runner.invoke(app, ["serve", "--help"])
    assert "--database-url" in r.output


def test_audit_verify_prints_its_verdict_on_stdout(demo_copy):
    r = CliRunner().invoke(app, ["audit", "verify", "--database-url", demo_copy])
    assert r.exit_code == 0
    assert "audit chain intact" in r.stdout


def test_kpi_by_department_reads_at_80_columns(demo_copy):
    from rich.cells import cell_len

    from twonets.city.kpi import COLUMNS, fmt

    env = _env(demo_copy, COLUMNS="80")
    done = subprocess.run([sys.executable, "-m", "twonets.cli", "kpi", "--by", "department"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "…" not in text
    assert max(cell_len(line) for line in text.splitlines()) <= 80
    rows = json.loads(subprocess.run([sys.executable, "-m", "twonets.cli", "kpi", "--by", "department", "--json"],
                                     env=env, capture_output=True, text=True, timeout=120).stdout)
    assert len(rows) > 7  # the wide layout: a row per department
    cells = text.replace("│", " ").replace("┃", " ").split()
    for row in rows:
        assert row["group"] in cells
        for col, _zh, _en in COLUMNS[1:]:
            assert fmt(col, row[col]) in cells, (row["group"], col)


def test_demo_shows_the_government_services_seeding_as_a_progress_bar(demo_db):
    from twonets.demo.govservices import SEED_STEPS

    output = demo_db[1]
    assert "government services" in output and f"{len(SEED_STEPS)}/{len(SEED_STEPS)}" in output


# --- 16: serve says where it is and logs each request ---------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(url: str, log: Path, *flags: str):
    port = _free_port()
    out = log.open("w")
    proc = subprocess.Popen([sys.executable, "-m", "twonets.cli", "serve", "--port", str(port), "--no-tick", *flags],
                            env=_env(url), stdout=out, stderr=subprocess.STDOUT, cwd=log.parent)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"{base}/healthz?probe=1", timeout=2) as r:
                if r.status == 200:
                    return proc, out, base
        except OSError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def _stop(proc, out) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    out.close()


def _wait_for(log: Path, needle: str) -> str:
    deadline = time.monotonic() + 10
    while needle not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    return log.read_text()


def test_serve_prints_its_url_and_one_line_per_request(demo_copy, tmp_path):
    log = tmp_path / "serve.log"
    proc, out, base = _serve(demo_copy, log)
    try:
        with urllib.request.urlopen(f"{base}/api/v1/departments?api_key=secret", timeout=5) as r:
            assert r.status == 200
        try:
            urllib.request.urlopen(f"{base}/api/v1/orders", timeout=5)
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        text = _wait_for(log, "GET /api/v1/orders 401")
    finally:
        _stop(proc, out)
    assert base in text.splitlines()[0], text
    lines = text.splitlines()
    assert any(line.startswith("GET /api/v1/departments 200 ") and line.endswith(" ms") for line in lines), text
    assert any(line.startswith("GET /api/v1/orders 401 ") for line in lines), text
    assert "secret" not in text  # the path only: query strings can carry API keys


def test_serve_without_access_log_prints_only_the_start_line(demo_copy, tmp_path):
    log = tmp_path / "quiet.log"
    proc, out, base = _serve(demo_copy, log, "--no-access-log")
    try:
        with urllib.request.urlopen(f"{base}/api/v1/departments", timeout=5) as r:
            assert r.status == 200
        time.sleep(0.5)
        text = log.read_text()
    finally:
        _stop(proc, out)
    assert base in text and "GET /" not in text, text
