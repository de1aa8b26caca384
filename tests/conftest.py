"""Databases for tests: SQLite always; the real PostgreSQL at 127.0.0.1:5432 when it answers.

Each pytest run migrates once per engine (with Alembic, the only way the schema is made) and
each test starts from empty tables. PostgreSQL runs get a schema of their own so that
concurrent runs on the same server never see each other.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from twonets.core import db as core_db

# Keys (and the audit anchor file) of a test run never land in the working tree's ./var/keys,
# which a developer's own database uses; data tests give each test a key directory of its own.
os.environ["TWONETS_KEY_DIR"] = tempfile.mkdtemp(prefix="twonets-test-keys-")
# The CLI speaks Chinese unless told otherwise (--lang, TWONETS_LANG); the CLI tests read its English
# output, and tests/unit/cli/test_cli_languages.py checks both languages and the default.
os.environ.setdefault("TWONETS_LANG", "en")

PG_BASE = os.environ.get("TWONETS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_reason: str | None = None


def _pg_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    global _pg_reason
    if _pg_reason is None:
        try:
            import psycopg

            with psycopg.connect(PG_BASE.replace("+psycopg", ""), connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _pg_reason = ""
        except Exception as exc:  # any failure to connect is a reason to skip, printed
            _pg_reason = f"PostgreSQL at {PG_BASE} is not reachable: {exc}"
    return _pg_reason or None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    core_db.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_schema_url():
    reason = _pg_available()
    if reason:
        pytest.skip(reason)
    schema = f"tw_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    import psycopg

    raw = PG_BASE.replace("+psycopg", "")
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    core_db.upgrade(url)
    yield url
    core_db.engine_for.cache_clear()
    with psycopg.connect(raw, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _truncate_pg(engine) -> None:
    from twonets.schema import metadata

    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.pg)])
def engine(request, tmp_path, sqlite_template):
    """A migrated, empty database on each engine."""
    if request.param == "sqlite":
        path = tmp_path / "twonets.db"
        shutil.copy(sqlite_template, path)
        eng = core_db.make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        url = request.getfixturevalue("pg_schema_url")
        eng = core_db.make_engine(url, pool_size=5)
        _truncate_pg(eng)
        yield eng
        eng.dispose()


@pytest.fixture
def sqlite_engine(tmp_path, sqlite_template):
    """SQLite only, for tests whose subject is not the storage engine."""
    path = tmp_path / "twonets.db"
    shutil.copy(sqlite_template, path)
    eng = core_db.make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine):
    from twonets.core.db import session_factory

    s = session_factory(engine)()
    yield s
    s.rollback()
    s.close()
