"""`twonets <noun> <verb>`: the command line (Typer + Rich)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Optional

import typer
import typer.core
from rich.console import Console
from rich.table import Table

from twonets.core import i18n
from twonets.core.i18n import tr
from twonets.data.cli import DB_OPTION  # one --database-url option, the same on every command

# Commands that may make a missing SQLite database; every other one refuses to (see _start).
MAKES_DATABASE = frozenset({"db", "demo", "restore"})


def database_problem(exc: BaseException) -> str | None:
    """One line saying what is wrong with the database behind `exc`, or None if it is no such error."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from twonets.core.db import DatabaseMissing

    if isinstance(exc, DatabaseMissing):
        return tr("{problem}: run `twonets db upgrade` (or `twonets demo`) to make it", problem=i18n.translate(exc.args[0], i18n.current()))
    if not isinstance(exc, (OperationalError, ProgrammingError)):
        return None
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
    if isinstance(exc, ProgrammingError) or "no such table" in reason or "no such column" in reason:
        return tr("the database has no schema or an old one ({reason}): run `twonets db upgrade`", reason=reason)
    return tr("cannot use the database ({reason}): check TWONETS_DATABASE_URL or --database-url, then run "
              "`twonets db upgrade`", reason=reason)


class _Root(typer.core.TyperGroup):
    """The root group: a database that is missing, un-migrated or unreachable is one line, exit 2."""

    def invoke(self, ctx):  # type: ignore[override]
        from twonets.core.db import require_existing_sqlite

        try:
            return super().invoke(ctx)
        except Exception as exc:
            problem = database_problem(exc)
            if problem is None:
                raise
            Console(stderr=True).print("[bold red]" + tr("error") + f":[/] {problem}", soft_wrap=True, highlight=False)
            raise typer.Exit(2) from None
        finally:  # the guard is the CLI's (set in _start): leave the process as it was
            require_existing_sqlite(False)


app = typer.Typer(help="twonets — 一网统管 · 一网通办: run the city and serve the people.", no_args_is_help=True,
                  cls=_Root)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()


@app.callback()
def _start(ctx: typer.Context,
           lang: Optional[str] = typer.Option(None, "--lang", envvar=i18n.ENV,
                                              help="Language of the output: zh_CN (中文, the default) or en.")) -> None:
    """Every command starts from the composition root: definitions loaded, sources and handlers wired."""
    from twonets import bootstrap
    from twonets.core.db import require_existing_sqlite

    i18n.use(lang)
    require_existing_sqlite(ctx.invoked_subcommand not in MAKES_DATABASE)
    bootstrap.start()


def _fail(message: str, code: int = 2) -> None:
    console.print("[bold red]" + tr("error") + f":[/] {i18n.translate(message, i18n.current())}", soft_wrap=True)
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head"), database_url: Optional[str] = DB_OPTION) -> None:
    """Migrate the database to the latest schema and load the reference data."""
    from sqlalchemy.engine import make_url

    from twonets.core.config import settings
    from twonets.core.db import unit_of_work, upgrade

    url = database_url or settings().database_url
    upgrade(url, revision)
    with unit_of_work(_engine(database_url)) as session:
        load_definitions(session)
    console.print("[green]" + tr("database at {revision}", revision=revision)
                  + f"[/] ({make_url(url).render_as_string(hide_password=True)})")


def load_definitions(session) -> None:
    """The definitions into their tables (idempotent): see `twonets.bootstrap.sync_definitions`."""
    from twonets.bootstrap import sync_definitions

    sync_definitions(session)


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument("base")) -> None:
    """Step the schema back (base: drop everything)."""
    from twonets.core.db import downgrade

    downgrade(revision=revision)
    console.print("[yellow]" + tr("database at {revision}", revision=revision) + "[/]")


def _engine(database_url: Optional[str]):
    from twonets.core.db import default_engine, engine_for

    return engine_for(database_url) if database_url else default_engine()


def require_schema(engine) -> None:
    """Fail (one line, exit 2, through _Root) unless the database exists and has been migrated."""
    from sqlalchemy import text

    with engine.connect() as conn:
        conn.execute(text("SELECT version_num FROM alembic_version"))


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          tick: bool = typer.Option(True, help="run the deadline timer inside the server"),
          workers: int = typer.Option(1, min=1, max=16, help="server processes (use the machine's cores)"),
          access_log: bool = typer.Option(True, "--access-log/--no-access-log",
                                          help="print one line per request (method, path, status, ms)"),
          database_url: Optional[str] = DB_OPTION) -> None:
    """Serve the API, console and portal (and the deadline timer)."""
    import os

    from twonets.api import server
    from twonets.core import config

    if database_url:  # as a setting, so that worker processes (which start afresh) use it too
        os.environ["TWONETS_DATABASE_URL"] = database_url
        config.settings.cache_clear()
    require_schema(_engine(None))
    _require_keys(_engine(None))
    if not (os.environ.get("TWONETS_PUBLIC_BASE_URL") or os.environ.get("TWONETS_PUBLIC_URL")):
        # Unset, the URLs the server issues name the address it listens on (worker processes too).
        os.environ["TWONETS_PUBLIC_BASE_URL"] = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        config.settings.cache_clear()
    if workers == 1:
        server.run(served_app(timer=tick), host=host, port=port, access_log=access_log)
        return
    # Worker processes import the factory afresh, so the choice reaches them the way every
    # setting does: as its TWONETS_* variable. The timer is idempotent across processes.
    os.environ["TWONETS_SERVE_TIMER"] = "1" if tick else "0"
    server.run("twonets.cli:served_app_logged", host=host, port=port, workers=workers, factory=True,
               access_log=access_log)


def served_app(timer: bool | None = None):
    """The app as `serve` runs it: the API plus the deadline timer (unless `timer` is False, or
    None and the setting TWONETS_SERVE_TIMER is 0)."""
    from twonets.api.app import create_app
    from twonets.core.config import settings
    from twonets.data.keys import require_keys

    require_keys()  # each worker too: never serve a signed database with new keys
    api = create_app()
    if settings().serve_timer if timer is None else timer:
        from twonets.city.timer import start_background_timer

        start_background_timer(api)
    return api


def _require_keys(engine) -> None:
    from twonets.data.cli import require_keys

    require_keys(engine)


def served_app_logged():
    """served_app with the access log when `serve --workers N` asked for it (TWONETS_ACCESS_LOG)."""
    from twonets.api.server import access_logged

    return access_logged(served_app)()


@app.command()
def tick(at: Optional[str] = typer.Option(None, help="ISO time to evaluate at (default: now)"),
         apply: bool = typer.Option(False, "--apply", help="with --at: write the changes (default: a dry run)"),
         as_json: bool = typer.Option(False, "--json"),
         database_url: Optional[str] = DB_OPTION) -> None:
    """Run the deadline timer once: warnings, overdue flags, automatic escalation (idempotent).

    With --at it is a dry run: it reports what would change at that time and writes nothing,
    unless --apply is given (an --at in the future would otherwise escalate live orders early)."""
    from twonets.city.orders import tick as run_tick
    from twonets.core.db import session_factory

    now = _parse_time(at) if at else None
    dry_run = now is not None and not apply
    engine = _engine(database_url)
    _require_keys(engine)
    session = session_factory(engine)()
    try:
        result = run_tick(session, now)
        session.rollback() if dry_run else session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    if as_json:
        print(json.dumps({**result.model_dump(mode="json"), "dry_run": dry_run}))
        return
    figures = tr("checked {checked}, warnings {warnings}, overdue {overdue}, escalated {escalated}",
                 checked=result.checked, warnings=result.warnings, overdue=result.overdue, escalated=result.escalated)
    if dry_run:
        console.print(tr("dry run at {at}: would have {figures}; nothing written (add --apply to write)",
                         at=now.isoformat(), figures=figures), highlight=False, soft_wrap=True)
    else:
        console.print(figures)


def _parse_time(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        _fail(tr("not an ISO 8601 time: {raw!r} (e.g. 2026-10-08T09:00:00+08:00)", raw=raw))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@app.command()
def demo(days: int = typer.Option(30, min=1, max=400, help="days of orders to simulate"),
         seed: int = typer.Option(7, help="random seed: the same seed gives the same district"),
         orders_per_day: Optional[int] = typer.Option(None, help="default: 5,000–8,000 a day"),
         if_empty: bool = typer.Option(False, "--if-empty", help="do nothing when orders exist already"),
         append: bool = typer.Option(False, "--append", help="add another set of orders to a database that has some"),
         database_url: Optional[str] = DB_OPTION) -> None:
    """Build the demo district and simulate DAYS of work orders, then print the KPI table.

    A database that already holds orders is left alone with --if-empty, gets another set with
    --append, and is refused otherwise (a second run would silently double the orders)."""

    from twonets.city.orders import count_orders
    from twonets.core.db import unit_of_work, upgrade
    from twonets.demo.accounts import DEMO_PASSWORD, seed_demo_users
    from twonets.demo.orders import run_demo

    engine = _engine(database_url)
    upgrade(database_url)
    _require_keys(engine)
    with unit_of_work(engine) as session:
        existing = count_orders(session)
    if existing and not (if_empty or append):
        _fail(tr("the database already holds {count} work orders: add --append to add another set, "
                 "or --if-empty to leave it as it is", count=f"{existing:,}"))
    with unit_of_work(engine) as session:
        load_definitions(session)
        users = seed_demo_users(session)
    if users:
        console.print(tr("demo accounts: {users} (password {password})", users=", ".join(users), password=DEMO_PASSWORD))
    created = run_demo(engine, days=days, seed=seed, orders_per_day=orders_per_day,
                       if_empty=if_empty, console=console)
    if created:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from twonets.demo.govservices import SEED_STEPS, seed_services

        with Progress(TextColumn("[bold]government services"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task("", total=len(SEED_STEPS))
            done = {"n": 0}

            def step(name: str) -> None:
                progress.update(task, completed=done["n"], description=name)
                done["n"] += 1

            summary = seed_services(engine, seed, days=days, progress=step)
            progress.update(task, completed=len(SEED_STEPS), description="done")
        records = sum(summary.get("records", {}).values())
        apps = summary.get("applications", {}).get("applications", 0)
        console.print(tr("services: {matters} matters, {records} base-registry records, {applications} applications",
                         matters=summary["matters"]["total"], records=f"{records:,}", applications=f"{apps:,}"))
        from twonets.demo.sensing import ensure_things  # `twonets simulate` brings them alive
        console.print(tr("sensing: {count} things registered", count=f"{len(ensure_things(engine, 2000, seed)):,}"))
    if created:
        kpi(group_by=None, date_from=None, date_to=None, csv_out=None, as_json=False, database_url=database_url)


@app.command()
def kpi(group_by: Optional[str] = typer.Option(None, "--by", help="department, source, category, street, grid or channel"),
        date_from: Optional[str] = typer.Option(None, "--from", help="first local day, YYYY-MM-DD"),
        date_to: Optional[str] = typer.Option(None, "--to", help="last local day, YYYY-MM-DD"),
        csv_out: Optional[str] = typer.Option(None, "--csv", help="also write the table to this CSV file"),
        as_json: bool = typer.Option(False, "--json"),
        database_url: Optional[str] = DB_OPTION) -> None:
    """The KPI table the district is judged by."""
    from twonets.city import kpi as kpis
    from twonets.core.db import unit_of_work
    from twonets.core.errors import DomainError

    try:
        query = kpis.KpiQuery.parse(date_from=date_from, date_to=date_to, group_by=group_by)
        with unit_of_work(_engine(database_url)) as session:
            rows = kpis.compute(session, query)
    except DomainError as exc:
        _fail(exc.detail)  # said in the CLI's language by _fail
    if csv_out:
        with open(csv_out, "w", encoding="utf-8", newline="") as fh:
            fh.write(kpis.to_csv(rows))
    if as_json:
        print(json.dumps([r.model_dump() for r in rows], ensure_ascii=False, indent=2))
        return
    console.print(kpi_table(rows, group_by, width=console.width))


def kpi_table(rows, group_by: str | None, width: int = 200):
    """Few groups: one column per group, figures down the side. Many: a row per group. Either
    way the columns are split over as many tables as it takes to fit `width` terminal cells, each
    repeating the label column, so that no cell is cut to `…` on an 80-column terminal."""
    from rich.cells import cell_len
    from rich.console import Group

    from twonets.city import kpi as kpis

    title = "KPI · 考核指标" + (f" · by {group_by}" if group_by else "")
    if len(rows) <= 7:
        label = ("指标 / figure", [f"{zh} [dim]{en}[/]" for _c, zh, en in kpis.COLUMNS[1:]],
                 [f"{zh} {en}" for _c, zh, en in kpis.COLUMNS[1:]])
        columns = [(r.group, [kpis.fmt(col, getattr(r, col)) for col, _, _ in kpis.COLUMNS[1:]]) for r in rows]
    else:
        groups = [str(r.group) for r in rows]
        label = ("group", groups, groups)
        columns = [(en, [kpis.fmt(col, getattr(r, col)) for r in rows]) for col, _zh, en in kpis.COLUMNS[1:]]

    def needed(header: str, cells: list[str]) -> int:  # widest cell or header word: wrap, never cut
        return max([cell_len(c) for c in cells] + [cell_len(w) for w in header.split()] + [1])

    widest = max(needed(h, cells) for h, cells in columns) + 3 if columns else 0
    label_w = min(max(cell_len(c) for c in label[2] + [label[0]]), max(width - 4 - widest, 12))  # + one column
    chunks: list[list[tuple[str, list[str]]]] = [[]]
    used = label_w + 4  # borders and padding of the label column
    for header, cells in columns:
        w = needed(header, cells) + 3
        if chunks[-1] and used + w > width:
            chunks.append([])
            used = label_w + 4
        chunks[-1].append((header, cells))
        used += w
    tables = []
    for i, chunk in enumerate(chunks):
        part = f" ({i + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        table = Table(title=title + part)
        table.add_column(label[0], justify="left", max_width=label_w, overflow="fold")
        for header, cells in chunk:
            table.add_column(header, justify="right", width=needed(header, cells), overflow="fold")
        for r, name in enumerate(label[1]):
            table.add_row(name, *[cells[r] for _h, cells in chunk])
        tables.append(table)
    return tables[0] if len(tables) == 1 else Group(*tables)


def _mount() -> None:
    """Each package's own command groups."""
    from twonets.data.cli import audit_app, backup_command, catalogue_app, restore_command, users_app

    app.add_typer(audit_app, name="audit")
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
    app.add_typer(users_app, name="users")
    app.add_typer(catalogue_app, name="catalogue")
    from twonets import metrics
    from twonets.city.sensing import cli as sensing_cli
    from twonets.city.sensing.cli import ingest, sensing_app

    sensing_cli.serve_metrics = metrics.serve  # the worker's own /metrics endpoint
    from twonets.demo.cli import simulate

    sensing_app.command("simulate")(simulate)
    app.add_typer(sensing_app, name="sensing")
    app.command("ingest", help="Backfill readings from a CSV/Parquet file (= twonets sensing ingest).")(ingest)
    app.command("simulate", help="Publish simulated readings to MQTT (= twonets sensing simulate).")(simulate)
    from twonets.govservices.cli import licence_app, matters_app

    app.add_typer(licence_app, name="licence")
    app.add_typer(matters_app, name="matters")


_mount()


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
