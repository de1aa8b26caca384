"""Engine, sessions (the unit of work) and migrations. Alembic is the only way the schema is made."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.config import settings
from twonets.core.i18n import Msg

REPO_ROOT = Path(__file__).resolve().parents[3]
MIGRATIONS = REPO_ROOT / "migrations"


class DatabaseMissing(Exception):
    """A SQLite file that does not exist was opened while `require_existing_sqlite(True)` holds."""

    def __init__(self, path: str):
        super().__init__(Msg("no database file at {path}", path=path))
        self.path = path


# Opening a missing SQLite file creates it, empty. The CLI forbids that for every command but the
# few that make a database (db upgrade, demo, restore): see twonets.cli.
_sqlite_must_exist = False


def require_existing_sqlite(flag: bool) -> None:
    """From now on, connecting to a missing SQLite file raises DatabaseMissing (flag) or creates it."""
    global _sqlite_must_exist
    _sqlite_must_exist = flag


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = url or settings().database_url
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        path = engine.url.database

        @event.listens_for(engine, "do_connect")
        def _must_exist(_dialect, _record, _cargs, _cparams):  # checked per connection: the flag may change
            if _sqlite_must_exist and path and path != ":memory:" and not path.startswith("file:") \
                    and not Path(path).exists():
                raise DatabaseMissing(path)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL: readers never block the writer
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, pool_pre_ping=True, **kwargs)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def default_engine() -> Engine:
    return engine_for(settings().database_url)


_factories: weakref.WeakKeyDictionary[Engine, sessionmaker[Session]] = weakref.WeakKeyDictionary()


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    """The session factory of an engine, made once (making one sets up event dispatch: ~0.2 ms)."""
    engine = engine or default_engine()
    factory = _factories.get(engine)
    if factory is None:
        factory = _factories[engine] = sessionmaker(bind=engine, expire_on_commit=False)
    return factory


@contextmanager
def unit_of_work(engine: Engine | None = None, *, sessions: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error. `sessions` reuses an existing
    session factory (the app's) instead of making one for `engine`."""
    session = (sessions or session_factory(engine))()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url or settings().database_url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(url or settings().database_url), revision)
