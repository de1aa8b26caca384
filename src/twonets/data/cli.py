"""CLI of the data foundation: `twonets audit …`, `twonets users …`, `twonets catalogue …`.

The top-level app adds these with `app.add_typer(audit_app, name="audit")` and so on.
Exit codes: 0 fine, 1 the audit chain is broken, 2 bad input.
"""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select

from twonets.core.actor import SYSTEM
from twonets.core.db import default_engine, make_engine, unit_of_work
from twonets.core.errors import DomainError
from twonets.core.i18n import current, tr, translate

audit_app = typer.Typer(help="The tamper-evident audit chain.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts and API keys.", no_args_is_help=True)
catalogue_app = typer.Typer(help="The public-data catalogue.", no_args_is_help=True)

console = Console(stderr=True)
out = Console()  # verdicts a person or a script reads (progress and errors go to stderr)


@audit_app.callback()
@users_app.callback()
@catalogue_app.callback()
def _group() -> None:
    """Keep each app a command group even while it has one command."""


def _engine(database_url: Optional[str]):
    return make_engine(database_url) if database_url else default_engine()


def require_keys(engine) -> None:
    """Stop (exit 2, one line) when the key directory lacks keys this database was signed with."""
    from twonets.data.keys import KeysMissing
    from twonets.data.keys import require_keys as check

    try:
        check(engine)
    except KeysMissing as exc:
        console.print("[red]" + tr("error") + f":[/red] {translate(exc.args[0] if exc.args else str(exc), current())}", soft_wrap=True)
        raise typer.Exit(2)


def _fail(exc: DomainError, as_json: bool) -> None:
    """A domain error in the CLI's language (`--lang`, TWONETS_LANG): one line, then the fields; exit 2."""
    locale = current()
    errors = [{**e, "message": translate(e.get("message"), locale)} for e in exc.errors]
    if as_json:
        typer.echo(json.dumps({"ok": False, "status": exc.status, "detail": translate(exc.detail, locale), "errors": errors},
                              ensure_ascii=False))
    else:
        console.print(f"[red]{translate(exc.title, locale)}:[/red] {translate(exc.detail, locale)}")
        for e in errors:
            console.print(f"  {e.get('field')}: {e.get('message')}")
    raise typer.Exit(2)


DB_OPTION = typer.Option(None, "--database-url", help="Defaults to TWONETS_DATABASE_URL.")


@audit_app.command("verify")
def audit_verify(
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    head: Optional[str] = typer.Option(
        None, "--head", help="A head published earlier (SEQ:HASH from `twonets audit head`) the chain must still hold."
    ),
    database_url: Optional[str] = DB_OPTION,
) -> None:
    """Check every link of the chain, every signed checkpoint (one per interval), the anchor file
    in the key directory and a published head; name the first broken entry."""
    from twonets.data import audit, audit_verify
    from twonets.data.tables import audit_entry

    try:
        published = audit_verify.parse_head(head) if head is not None else None
    except DomainError as exc:
        _fail(exc, as_json)
    engine = _engine(database_url)
    require_keys(engine)
    with unit_of_work(engine) as session:
        total = session.execute(select(func.count()).select_from(audit_entry)).scalar_one()
        show = not as_json and sys.stderr.isatty()
        with Progress(
            TextColumn(tr("verifying")), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=console, disable=not show, transient=True,
        ) as progress:
            task = progress.add_task("verify", total=total)
            result = audit.verify(session, head=published, progress=lambda n: progress.advance(task, n))
    if database_url:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    elif result.ok:
        out.print("[green]" + tr("audit chain intact") + "[/green]: " + tr(
            "{entries} entries, {checkpoints} checkpoints ({anchored} anchored), {unsigned} entries after the last "
            "checkpoint, {seconds} s", entries=result.entries, checkpoints=result.checkpoints, anchored=result.anchored,
            unsigned=result.unsigned, seconds=f"{result.seconds:.2f}"))
    else:
        reason = translate(result.reason, current())
        out.print("[red]" + tr("audit chain broken at entry {seq}", seq=result.first_broken) + f"[/red]: {reason}")
        for p in result.problems[1:10]:
            out.print("  " + tr("also: {reason}", reason=translate(p["reason"], current())))
    raise typer.Exit(0 if result.ok else 1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    as_json: bool = typer.Option(False, "--json"),
    database_url: Optional[str] = DB_OPTION,
) -> None:
    """Sign the head of the chain with the system key now."""
    from twonets.data import audit

    engine = _engine(database_url)
    require_keys(engine)
    try:
        with unit_of_work(engine) as session:
            cp = audit.checkpoint(session)
            if cp is not None:
                audit.append(session, "admin", SYSTEM, "audit.checkpoint", str(cp["seq"]), {"hash": cp["hash"]})
    except DomainError as exc:  # a broken chain is never signed
        _fail(exc, as_json)
    if as_json:
        typer.echo(json.dumps(cp))
    elif cp is None:
        console.print(tr("the audit log is empty: nothing to sign"))
    else:
        console.print(tr("signed entry {seq} ({hash}…) with key {key_id}", seq=cp["seq"], hash=cp["hash"][:16], key_id=cp["key_id"]))


@audit_app.command("head")
def audit_head(
    as_json: bool = typer.Option(False, "--json"),
    database_url: Optional[str] = DB_OPTION,
) -> None:
    """Print the chain's head as SEQ:HASH, to publish (a report, another system); a later
    `twonets audit verify --head SEQ:HASH` proves the chain still holds it."""
    from twonets.data import audit

    with unit_of_work(_engine(database_url)) as session:
        h = audit.head(session)
    if as_json:
        typer.echo(json.dumps(h))
    elif h is None:
        console.print(tr("the audit log is empty"))
    else:
        typer.echo(h["head"])


@users_app.command("create")
def users_create(
    username: str = typer.Argument(..., help="Login name."),
    role: list[str] = typer.Option(..., "--role", "-r", help="Repeat for several roles."),
    department: Optional[str] = typer.Option(None, "--department"),
    street: Optional[str] = typer.Option(None, "--street"),
    grid: Optional[str] = typer.Option(None, "--grid"),
    subject_id: Optional[str] = typer.Option(None, "--subject-id", help="The person a citizen account stands for."),
    password: Optional[str] = typer.Option(
        None, "--password", envvar="TWONETS_NEW_PASSWORD", help="Prompted for when omitted on a terminal."
    ),
    as_json: bool = typer.Option(False, "--json"),
    database_url: Optional[str] = DB_OPTION,
) -> None:
    """Create a user (the password is hashed with argon2)."""
    from twonets.data import identity

    if password is None and sys.stdin.isatty():
        password = typer.prompt(tr("password"), hide_input=True, confirmation_prompt=True)
    try:
        with unit_of_work(_engine(database_url)) as session:
            user = identity.create_user(
                session, SYSTEM, username=username, password=password, roles=role, department=department,
                street=street, grid=grid, subject_id=subject_id,
            )
    except DomainError as exc:
        _fail(exc, as_json)
    if as_json:
        typer.echo(json.dumps(user.as_dict(), ensure_ascii=False))
    else:
        console.print(tr("created {id} ({username}): {roles}", id=user.id, username=user.username, roles=", ".join(user.roles)))


@users_app.command("api-key")
def users_api_key(
    kind: str = typer.Argument(..., help="open311 or device"),
    name: str = typer.Argument(..., help="The client or device."),
    department: Optional[str] = typer.Option(None, "--department"),
    as_json: bool = typer.Option(False, "--json"),
    database_url: Optional[str] = DB_OPTION,
) -> None:
    """Issue an API key; the key is shown once and only its hash is stored."""
    from twonets.data import identity

    try:
        with unit_of_work(_engine(database_url)) as session:
            key, raw = identity.create_api_key(session, SYSTEM, kind=kind, name=name, department=department)
    except DomainError as exc:
        _fail(exc, as_json)
    if as_json:
        typer.echo(json.dumps({**key.as_dict(), "key": raw}))
    else:
        console.print(f"{key.id} ({key.kind}, {key.name})")
        typer.echo(raw)


@catalogue_app.command("sync")
def catalogue_sync(
    as_json: bool = typer.Option(False, "--json"),
    database_url: Optional[str] = DB_OPTION,
) -> None:
    """Load the catalogue definitions (data/definitions/catalogue.yaml) into the database."""
    from twonets.data import catalogue

    try:
        with unit_of_work(_engine(database_url)) as session:
            counts = catalogue.sync_definitions(session)
    except catalogue.DefinitionError as exc:
        console.print("[red]" + tr("bad definition") + f"[/red]: {exc}")
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps(counts))
    else:
        console.print(tr("catalogue: {created} created, {updated} updated, {total} defined", **counts))


# --- backup and restore (mounted at the top level: `twonets backup FILE`) -------------------


def backup_command(
    file: str = typer.Argument(..., help="The archive to write (.tar.gz): the database and the key directory."),
    as_json: bool = typer.Option(False, "--json"),
    database_url: Optional[str] = DB_OPTION,
) -> None:
    """Back up the database (SQLite online backup, or pg_dump) with its key directory in one archive."""
    from twonets.core.config import settings
    from twonets.data import backup

    url = database_url or settings().database_url
    try:
        manifest = backup.backup(url, settings().key_dir, file)
    except DomainError as exc:
        _fail(exc, as_json)
    if as_json:
        typer.echo(json.dumps({"file": file, **manifest}))
    else:
        console.print(tr("backed up {dialect} database (audit head {seq}) and keys ({key_id}) to {file}; it holds private "
                         "keys: keep it safe", dialect=manifest["dialect"], seq=manifest["audit_head_seq"],
                         key_id=manifest["system_key_id"], file=file))


def restore_command(
    file: str = typer.Argument(..., help="An archive written by `twonets backup`."),
    force: bool = typer.Option(False, "--force", help="Overwrite a database or key directory that is not empty."),
    as_json: bool = typer.Option(False, "--json"),
    database_url: Optional[str] = DB_OPTION,
) -> None:
    """Restore a backup: the database and the key directory; then check the keys and the audit chain."""
    from twonets.core.config import settings
    from twonets.data import audit, backup

    url = database_url or settings().database_url
    try:
        manifest = backup.restore(file, url, settings().key_dir, force=force)
    except DomainError as exc:
        _fail(exc, as_json)
    engine = make_engine(url)
    try:
        require_keys(engine)
        with unit_of_work(engine) as session:
            result = audit.verify(session)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps({"restored": manifest, "audit": result.as_dict()}))
    elif result.ok:
        console.print(tr("restored {file} (taken {taken}); audit chain intact: {entries} entries", file=file,
                         taken=manifest["created_at"], entries=result.entries))
    else:
        console.print("[red]" + tr("restored {file}, but the audit chain is broken at entry {seq}", file=file,
                                   seq=result.first_broken) + f"[/red]: {translate(result.reason, current())}")
    raise typer.Exit(0 if result.ok else 1)
