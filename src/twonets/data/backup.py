"""Backup and restore: the database and the key directory in one archive.

`backup(url, key_dir, file)` writes a gzipped tar holding

- `manifest.json` — format, time, dialect, schema revision, the system key id, the audit head;
- `keys/…` — the key directory: the system key (audit checkpoints, JWTs), the department
  e-seals (licences) and the audit anchor file;
- `database.sqlite` — an SQLite online backup (a consistent copy while the server runs), or
  `database.pgdump` — `pg_dump --format=custom` of the database (of the schema named by a
  `search_path` option in the URL, if any).

The anchor file is copied before the database (so every anchored checkpoint is in the copy)
and the private keys after it (so every key the copy names is in the archive).

`restore(file, url, key_dir)` puts both back; it refuses a target database or key directory
that already holds something unless `force`. PostgreSQL restores with `pg_restore --clean
--if-exists --no-owner --single-transaction` into the same database and schema names (pg_dump
and pg_restore come from the `postgresql-client` package; `make install` adds it when
missing). A restore is checked: the keys the database needs are there and the audit chain
verifies. Limits: the archive holds private keys in clear — store it as you would the keys;
writes made after the backup are lost; a PostgreSQL archive restores into the schema it was
taken from.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, InvalidInput
from twonets.core.i18n import Msg
from twonets.data.audit_anchor import ANCHOR_FILE

FORMAT = 1
SQLITE_MEMBER = "database.sqlite"
PG_MEMBER = "database.pgdump"


@dataclass(frozen=True)
class Target:
    dialect: str  # sqlite | postgresql
    path: Path | None = None  # SQLite file
    libpq: str | None = None  # PostgreSQL connection URI for pg_dump / pg_restore
    schema: str | None = None


def target_of(url: str) -> Target:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if not u.database or u.database == ":memory:":
            raise InvalidInput(Msg("an in-memory SQLite database cannot be backed up"))
        return Target("sqlite", path=Path(u.database).resolve())
    if u.get_backend_name() != "postgresql":
        raise InvalidInput(Msg("backup supports SQLite and PostgreSQL, not {backend}", backend=u.get_backend_name()))
    schema = None
    options = u.query.get("options") or ()
    for opt in (options,) if isinstance(options, str) else options:
        for part in opt.split():
            if part.startswith("-csearch_path="):
                schema = part.split("=", 1)[1].split(",")[0].strip('"') or None
    plain = u.set(drivername="postgresql", query={})
    return Target("postgresql", libpq=plain.render_as_string(hide_password=False), schema=schema)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise Conflict(Msg("{name} is not installed: `apt-get install postgresql-client` (or `make install`)", name=name))
    return path


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(utcnow().timestamp())
    tar.addfile(info, io.BytesIO(data))


def _key_files(key_dir: Path) -> list[Path]:
    if not key_dir.is_dir():
        return []
    return sorted(p for p in key_dir.rglob("*") if p.is_file() and not p.name.endswith(".tmp"))


def _manifest(url: str, key_dir: Path, dialect: str) -> dict[str, Any]:
    from sqlalchemy import text

    from twonets.core.db import make_engine
    from twonets.data.keys import load_system_key

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            revisions = sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
            head = conn.execute(text("SELECT seq FROM audit_head WHERE id = 1")).scalar()
    finally:
        engine.dispose()
    key = load_system_key(key_dir)
    return {
        "format": FORMAT, "created_at": utcnow().isoformat(), "dialect": dialect, "revisions": revisions,
        "system_key_id": key.key_id if key else None, "audit_head_seq": int(head or 0),
    }


def backup(url: str, key_dir: str | os.PathLike, file: str | os.PathLike) -> dict[str, Any]:
    """Write the database and the key directory to `file` (.tar.gz); returns the manifest."""
    target = target_of(url)
    key_dir = Path(key_dir).resolve()
    file = Path(file)
    manifest = _manifest(url, key_dir, target.dialect)
    with tempfile.TemporaryDirectory(prefix="twonets-backup-") as tmp:
        anchor = key_dir / ANCHOR_FILE
        anchor_copy = anchor.read_bytes() if anchor.exists() else None  # before the database (see above)
        if target.dialect == "sqlite":
            if not target.path.exists():
                raise InvalidInput(Msg("no database at {path}", path=target.path))
            dump, member = Path(tmp) / SQLITE_MEMBER, SQLITE_MEMBER
            src, dst = sqlite3.connect(target.path), sqlite3.connect(dump)
            try:
                src.backup(dst)  # the online backup API: consistent while others write
            finally:
                dst.close()
                src.close()
        else:
            dump, member = Path(tmp) / PG_MEMBER, PG_MEMBER
            cmd = [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={dump}"]
            if target.schema:
                cmd.append(f"--schema={target.schema}")
            _run([*cmd, target.libpq], "pg_dump")
        manifest["database"] = member
        manifest["schema"] = target.schema
        file.parent.mkdir(parents=True, exist_ok=True)
        partial = file.with_name(file.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds private keys
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
            tar.add(dump, arcname=member)
            if anchor_copy is not None:
                _add_bytes(tar, f"keys/{ANCHOR_FILE}", anchor_copy)
            for path in _key_files(key_dir):  # after the database: every key it names
                rel = path.relative_to(key_dir).as_posix()
                if rel != ANCHOR_FILE:
                    _add_bytes(tar, f"keys/{rel}", path.read_bytes())
        os.replace(partial, file)
    return manifest


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise Conflict(Msg("{what} failed: {reason}", what=what, reason=done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode))


def _members(tar: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    out = {}
    for m in tar.getmembers():
        name = m.name
        if not m.isfile() or name.startswith("/") or ".." in Path(name).parts:
            raise InvalidInput(Msg("unexpected member {name!r} in the archive: not a twonets backup", name=name))
        out[name] = m
    if "manifest.json" not in out:
        raise InvalidInput(Msg("no manifest.json in the archive: not a twonets backup"))
    return out


def _database_holds_data(target: Target, url: str) -> bool:
    if target.dialect == "sqlite":
        return target.path.exists() and target.path.stat().st_size > 0
    from sqlalchemy import inspect

    from twonets.core.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return "alembic_version" in inspect(conn).get_table_names()
    finally:
        engine.dispose()


def restore(file: str | os.PathLike, url: str, key_dir: str | os.PathLike, *, force: bool = False) -> dict[str, Any]:
    """Put the database and the key directory of a backup back; returns its manifest."""
    target = target_of(url)
    key_dir = Path(key_dir).resolve()
    try:
        tar = tarfile.open(file, mode="r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise InvalidInput(Msg("{file} is not a readable backup archive: {exc}", file=file, exc=exc))
    with tar:
        members = _members(tar)
        manifest = json.loads(tar.extractfile(members["manifest.json"]).read())
        if manifest.get("format") != FORMAT or manifest.get("dialect") != target.dialect:
            raise InvalidInput(
                Msg("the archive holds a {archive} database (format {format}); the target is {dialect}", archive=manifest.get('dialect'), format=manifest.get('format'), dialect=target.dialect)
            )
        member = manifest["database"]
        if member not in members:
            raise InvalidInput(Msg("the archive lacks {member}", member=member))
        if not force:
            if _database_holds_data(target, url):
                raise Conflict(Msg("the target database already exists: restore into an empty one, or pass --force"))
            if _key_files(key_dir):
                raise Conflict(Msg("the key directory {key_dir} is not empty: use an empty one, or pass --force", key_dir=key_dir))
        with tempfile.TemporaryDirectory(prefix="twonets-restore-") as tmp:
            dump = Path(tmp) / member
            with open(dump, "wb") as out:
                shutil.copyfileobj(tar.extractfile(members[member]), out)
            if target.dialect == "sqlite":
                target.path.parent.mkdir(parents=True, exist_ok=True)
                for suffix in ("-wal", "-shm"):
                    Path(str(target.path) + suffix).unlink(missing_ok=True)
                src, dst = sqlite3.connect(dump), sqlite3.connect(target.path)
                try:
                    src.backup(dst)
                finally:
                    dst.close()
                    src.close()
            else:
                if manifest.get("schema"):
                    _ensure_schema(url, manifest["schema"])
                _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                      f"--dbname={target.libpq}", str(dump)], "pg_restore")
        key_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(key_dir, 0o700)
        for name, m in members.items():
            if not name.startswith("keys/"):
                continue
            path = key_dir / name[len("keys/"):]
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(tar.extractfile(m), out)
    from twonets.data import keys

    keys._cache.pop(str(key_dir), None)  # a key loaded before the restore is not the restored one
    return manifest


def _ensure_schema(url: str, schema: str) -> None:
    from sqlalchemy import text

    from twonets.core.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema.replace(chr(34), "")}"'))
    finally:
        engine.dispose()

