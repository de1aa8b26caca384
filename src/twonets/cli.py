"""`twonets <noun> <verb>`: the command line (Typer + Rich)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="twonets — 一网统管 · 一网通办: run the city and serve the people.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console()


@app.callback()
def _start() -> None:
    """Every command starts from the composition root: definitions loaded, sources and handlers wired."""
    from twonets import bootstrap

    bootstrap.start()


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the database to the latest schema and load the reference data."""
    from twonets.core.config import settings
    from twonets.core.db import unit_of_work, upgrade

    upgrade(settings().database_url, revision)
    with unit_of_work() as session:
        load_definitions(session)
    console.print(f"[green]database at {revision}[/] ({settings().database_url})")


def load_definitions(session) -> None:
    """The definitions into their tables (idempotent): see `twonets.bootstrap.sync_definitions`."""
    from twonets.bootstrap import sync_definitions

    sync_definitions(session)


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument("base")) -> None:
    """Step the schema back (base: drop everything)."""
    from twonets.core.db import downgrade

    downgrade(revision=revision)
    console.print(f"[yellow]database at {revision}[/]")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          tick: bool = typer.Option(True, help="run the deadline timer inside the server"),
          workers: int = typer.Option(1, min=1, max=16, help="server processes (use the machine's cores)")) -> None:
    """Serve the API, console and portal (and the deadline timer)."""
    import os

    from twonets.api import server
    from twonets.core.config import settings

    if not (os.environ.get("TWONETS_PUBLIC_BASE_URL") or os.environ.get("TWONETS_PUBLIC_URL")):
        # Unset, the URLs the server issues name the address it listens on (worker processes too).
        os.environ["TWONETS_PUBLIC_BASE_URL"] = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        settings.cache_clear()
    if workers == 1:
        server.run(served_app(timer=tick), host=host, port=port)
        return
    # Worker processes import the factory afresh, so the choice reaches them the way every
    # setting does: as its TWONETS_* variable. The timer is idempotent across processes.
    os.environ["TWONETS_SERVE_TIMER"] = "1" if tick else "0"
    server.run("twonets.cli:served_app", host=host, port=port, workers=workers, factory=True)


def served_app(timer: bool | None = None):
    """The app as `serve` runs it: the API plus the deadline timer (unless `timer` is False, or
    None and the setting TWONETS_SERVE_TIMER is 0)."""
    from twonets.api.app import create_app
    from twonets.core.config import settings

    api = create_app()
    if settings().serve_timer if timer is None else timer:
        from twonets.city.timer import start_background_timer

        start_background_timer(api)
    return api


@app.command()
def tick(at: Optional[str] = typer.Option(None, help="ISO time to evaluate at (default: now)"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Run the deadline timer once: warnings, overdue flags, automatic escalation (idempotent)."""
    from twonets.city.orders import tick as run_tick
    from twonets.core.db import unit_of_work

    now = _parse_time(at) if at else None
    with unit_of_work() as session:
        result = run_tick(session, now)
    if as_json:
        print(result.model_dump_json())
    else:
        console.print(f"checked {result.checked}, warnings {result.warnings}, overdue {result.overdue}, escalated {result.escalated}")


def _parse_time(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        _fail(f"not an ISO 8601 time: {raw!r} (e.g. 2026-10-08T09:00:00+08:00)")
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@app.command()
def demo(days: int = typer.Option(30, min=1, max=400, help="days of orders to simulate"),
         seed: int = typer.Option(7, help="random seed: the same seed gives the same district"),
         orders_per_day: Optional[int] = typer.Option(None, help="default: 5,000–8,000 a day"),
         if_empty: bool = typer.Option(False, "--if-empty", help="do nothing when orders exist already")) -> None:
    """Build the demo district and simulate DAYS of work orders, then print the KPI table."""
    from twonets.demo.orders import run_demo
    from twonets.core.db import default_engine, unit_of_work, upgrade
    from twonets.demo.accounts import DEMO_PASSWORD, seed_demo_users

    upgrade()
    with unit_of_work() as session:
        load_definitions(session)
        users = seed_demo_users(session)
    if users:
        console.print(f"demo accounts: {', '.join(users)} (password {DEMO_PASSWORD})")
    created = run_demo(default_engine(), days=days, seed=seed, orders_per_day=orders_per_day,
                       if_empty=if_empty, console=console)
    if created:
        from twonets.demo.govservices import seed_services

        with console.status("government services: registries, matters (written out + imported list), applications…"):
            summary = seed_services(default_engine(), seed, days=days)
        records = sum(summary.get("records", {}).values())
        apps = summary.get("applications", {}).get("applications", 0)
        console.print(f"services: {summary['matters']['total']} matters, {records:,} base-registry records, "
                      f"{apps:,} applications")
        from twonets.demo.sensing import ensure_things  # `twonets simulate` brings them alive
        console.print(f"sensing: {len(ensure_things(default_engine(), 2000, seed)):,} things registered")
    if created:
        kpi(group_by=None, date_from=None, date_to=None, csv_out=None, as_json=False)


@app.command()
def kpi(group_by: Optional[str] = typer.Option(None, "--by", help="department, source, category, street, grid or channel"),
        date_from: Optional[str] = typer.Option(None, "--from", help="first local day, YYYY-MM-DD"),
        date_to: Optional[str] = typer.Option(None, "--to", help="last local day, YYYY-MM-DD"),
        csv_out: Optional[str] = typer.Option(None, "--csv", help="also write the table to this CSV file"),
        as_json: bool = typer.Option(False, "--json")) -> None:
    """The KPI table the district is judged by."""
    from twonets.city import kpi as kpis
    from twonets.core.db import unit_of_work
    from twonets.core.errors import DomainError

    try:
        query = kpis.KpiQuery.parse(date_from=date_from, date_to=date_to, group_by=group_by)
        with unit_of_work() as session:
            rows = kpis.compute(session, query)
    except DomainError as exc:
        _fail(exc.detail)
    if csv_out:
        with open(csv_out, "w", encoding="utf-8", newline="") as fh:
            fh.write(kpis.to_csv(rows))
    if as_json:
        print(json.dumps([r.model_dump() for r in rows], ensure_ascii=False, indent=2))
        return
    console.print(kpi_table(rows, group_by))


def kpi_table(rows, group_by: str | None) -> Table:
    """Few groups: one column per group, figures down the side (fits a terminal). Many: a row each."""
    from twonets.city import kpi as kpis

    title = "KPI · 考核指标" + (f" · by {group_by}" if group_by else "")
    if len(rows) <= 7:
        table = Table(title=title)
        table.add_column("指标 / figure")
        for r in rows:
            table.add_column(r.group, justify="right")
        for col, zh, en in kpis.COLUMNS[1:]:
            table.add_row(f"{zh} [dim]{en}[/]", *[kpis.fmt(col, getattr(r, col)) for r in rows])
        return table
    table = Table(title=title)
    for _col, _zh, en in kpis.COLUMNS:
        table.add_column(en, justify="left" if _col == "group" else "right")
    for r in rows:
        table.add_row(*[kpis.fmt(col, getattr(r, col)) for col, _, _ in kpis.COLUMNS])
    return table


def _mount() -> None:
    """Each package's own command groups."""
    from twonets.data.cli import audit_app, catalogue_app, users_app

    app.add_typer(audit_app, name="audit")
    app.add_typer(users_app, name="users")
    app.add_typer(catalogue_app, name="catalogue")
    from twonets.city.sensing.cli import ingest, sensing_app
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
