"""CLI of the services: `twonets licence verify FILE`, `twonets matters import|export`
(`matters import FILE --mapping MAP.yaml` for a district's published matter list).

The top-level app adds these with `app.add_typer(licence_app, name="licence")` and
`app.add_typer(matters_app, name="matters")`. Exit codes: 0 fine, 1 the licence fails
verification, 2 bad input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from twonets.core.db import default_engine, make_engine, unit_of_work
from twonets.core.errors import DomainError
from twonets.core.i18n import Msg, current, tr, translate

licence_app = typer.Typer(help="Electronic licences (电子证照).", no_args_is_help=True)
matters_app = typer.Typer(help="The matter catalogue (事项目录).", no_args_is_help=True)
console = Console(stderr=True)
DB_OPTION = typer.Option(None, "--database-url", help="Defaults to TWONETS_DATABASE_URL.")


@licence_app.callback()
@matters_app.callback()
def _group() -> None:
    """Keep each app a command group even while it has one command."""


def _engine(url: Optional[str]):
    return make_engine(url) if url else default_engine()


def _fail(message: str, as_json: bool = False) -> None:
    message = translate(message, current())
    if as_json:
        typer.echo(json.dumps({"ok": False, "detail": message}, ensure_ascii=False))
    else:
        console.print("[red]" + tr("error") + f":[/red] {message}", soft_wrap=True)
    raise typer.Exit(2)


@licence_app.command("verify")
def licence_verify(
    file: Path = typer.Argument(..., help="The licence credential (JSON) to check."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    keys: Optional[Path] = typer.Option(None, "--keys", help="Trusted e-seal keys (JSON of GET /api/v1/services/seals, or a department's DID document): no database."),
    revocations: Optional[Path] = typer.Option(None, "--revocations", help="Revocation list (JSON of GET /api/v1/licences/revocations)."),
    database_url: Optional[str] = DB_OPTION,
) -> None:
    """Check a licence offline (no server): signature against the registered e-seal keys,
    issuer, validity period and revocation — from the database, or from published key and
    revocation lists (`--keys`, `--revocations`) with no database at all."""
    from twonets.core.calendar import utcnow
    from twonets.govservices import licences

    def read(path: Path):
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            _fail(f"cannot read {path}: {exc}", as_json)

    credential = read(file)
    if not isinstance(credential, dict):
        _fail(f"{file} is not a credential (a JSON object)", as_json)
    if keys is not None:
        try:
            trusted = licences.keys_from_json(read(keys))
        except DomainError as exc:
            _fail(exc.detail, as_json)
        revoked = None
        if revocations is not None:
            raw = read(revocations)
            items = raw.get("items", []) if isinstance(raw, dict) else raw
            revoked = {str(i.get("licence")): str(i.get("reason") or "revoked") for i in items if isinstance(i, dict)}
        result = licences.verify_credential(credential, trusted, revoked, utcnow())
        if revoked is None:
            result.reasons.append("revocation not checked: pass --revocations")
    else:
        with unit_of_work(_engine(database_url)) as session:
            result = licences.verify(session, credential)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        colour = "green" if result.valid else "red"
        verdict = tr("VALID") if result.valid else tr("INVALID")
        console.print(f"[{colour}]{verdict}[/{colour}] {result.licence or '?'}")
        for name, value in result.checks.items():
            console.print(f"  {name}: {value}")
        for reason in result.reasons:
            console.print(f"  - {reason}")
    raise typer.Exit(0 if result.valid else 1)


@matters_app.command("export")
def matters_export(
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="File to write (default: stdout)."),
    fmt: str = typer.Option("json", "--format", help="json or csv"),
    database_url: Optional[str] = DB_OPTION,
) -> None:
    """Export the catalogue as JSON (full definitions) or CSV (guide columns)."""
    from twonets.govservices import matters

    if fmt not in ("json", "csv"):
        _fail("--format is json or csv")
    with unit_of_work(_engine(database_url)) as session:
        text = matters.export_json(session) if fmt == "json" else matters.export_csv(session)
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"[green]exported[/green] to {out}")
    else:
        typer.echo(text)


@matters_app.command("import")
def matters_import(
    file: Path = typer.Argument(..., help="A published matter list (CSV, with --mapping), or JSON / CSV of `matters export`."),
    mapping: Optional[Path] = typer.Option(
        None, "--mapping", help="Department and task-type mapping (YAML) of a published matter list, "
        "e.g. src/twonets/govservices/definitions/department-map-guangan.yaml.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    database_url: Optional[str] = DB_OPTION,
) -> None:
    """Add or update catalogue entries. With --mapping: a district's published matter list
    (department, group, name, item_code, task_type, dept_code), keyed by national item code,
    never touching a written-out matter; unmapped departments are reported. Without: the JSON
    or CSV of `matters export`. Every error names the row (line) and column; exit 2."""
    if mapping is not None:
        _import_list(file, mapping, as_json, database_url)
        return
    from twonets.govservices import matters

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(tr("cannot read {path}: {reason}", path=file, reason=exc), as_json)
    if file.suffix.lower() == ".csv" and text.lstrip("\ufeff").startswith("department,"):
        _fail(tr("{file} looks like a published matter list: pass --mapping MAP.yaml", file=file), as_json)
    try:
        with unit_of_work(_engine(database_url)) as session:
            result = matters.import_csv(session, text) if file.suffix.lower() == ".csv" else matters.import_json(session, text)
    except DomainError as exc:
        locale = current()
        errors = [{**e, "message": translate(e.get("message"), locale)} for e in exc.errors]
        if as_json:
            typer.echo(json.dumps({"ok": False, "detail": translate(exc.detail, locale), "errors": errors}, ensure_ascii=False))
        else:
            console.print(f"[red]{translate(exc.title, locale)}:[/red] {translate(exc.detail, locale)}")
            for e in errors:
                console.print(f"  {e.get('field')}: {e.get('message')}")
        raise typer.Exit(2)
    if as_json:
        typer.echo(json.dumps({"ok": True, **result}))
    else:
        console.print(tr("created {created}, updated {updated}, total {total}", **result))


def _import_list(file: Path, mapping: Path, as_json: bool, database_url: Optional[str]) -> None:
    from rich.progress import Progress

    from twonets.core.definitions import DefinitionError
    from twonets.govservices import matter_list

    try:
        the_map = matter_list.load_mapping(mapping)
    except DefinitionError as exc:
        _fail(f"mapping {exc}", as_json)
    except OSError as exc:
        _fail(tr("cannot read the mapping {mapping}: {reason}", mapping=mapping, reason=exc.strerror or exc), as_json)
    try:
        listed = matter_list.read_file(file)
        with unit_of_work(_engine(database_url)) as session:
            with Progress(console=console, transient=True, disable=as_json) as bar:
                task = bar.add_task(tr("importing {file}", file=file.name), total=len(listed))
                summary = matter_list.import_list(session, listed, the_map, progress=lambda n: bar.advance(task, n))
    except DomainError as exc:
        _fail(Msg("{file}: {detail}", file=file, detail=exc.detail), as_json)
    if as_json:
        typer.echo(json.dumps({"ok": True, **summary}, ensure_ascii=False))
        return
    console.print(tr(
        "{rows} listed: created {created}, updated {updated}, unchanged {unchanged}; {written_out} left to written-out "
        "matters; catalogue now {catalogue} matters", rows=summary["rows"], created=summary["created"],
        updated=summary["updated"], unchanged=summary["unchanged"], written_out=len(summary["written_out"]),
        catalogue=summary["catalogue"]))
    if summary["unmapped"]:
        skipped = sum(summary["unmapped"].values())
        console.print("[yellow]" + tr("not imported") + "[/yellow]: " + tr(
            "{skipped} matters of {departments} unmapped departments (map them in {mapping} to import them):",
            skipped=skipped, departments=len(summary["unmapped"]), mapping=mapping))
        for name, n in summary["unmapped"].items():
            console.print(f"  {name}: {n}")
