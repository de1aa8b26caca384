"""`twonets benefits …`: the policies, the nightly sweep and the birthday check, by hand.

    twonets benefits policies [--json]
    twonets benefits sweep [--policy CODE …] [--at ISO] [--json]     # what the timer runs nightly
    twonets benefits birthdays [--on YYYY-MM-DD] [--json]
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from twonets.core.db import default_engine, make_engine, unit_of_work

benefits_app = typer.Typer(help="Benefits without application (免申即享).", no_args_is_help=True)
console = Console(stderr=True)
DB_OPTION = typer.Option(None, "--database-url", help="Defaults to TWONETS_DATABASE_URL.")


def _engine(url: Optional[str]):
    return make_engine(url) if url else default_engine()


def _time(raw: Optional[str]) -> Optional[datetime]:
    if raw is None:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise typer.BadParameter(f"{raw!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise typer.BadParameter("give the time zone, e.g. 2026-12-03T02:00:00+08:00")
    return at


@benefits_app.command("policies")
def policies_command(as_json: bool = typer.Option(False, "--json")) -> None:
    """The policies: mode, triggers, amount and legal basis."""
    from twonets.govservices.policies import all_policies

    items = [p.summary() for p in all_policies().values()]
    if as_json:
        typer.echo(json.dumps(items, ensure_ascii=False))
        return
    table = Table("code", "name", "dept", "mode", "triggers", "amount")
    for p in items:
        trig = ", ".join(f"{t['on']}:{t.get('dataset') or t.get('detector') or t.get('ages')}" for t in p["triggers"])
        table.add_row(p["code"], p["name_zh"], p["department"], p["mode"], trig,
                      f"{p['amount']['value']:g} {p['amount']['unit']}/{p['amount']['per']}")
    Console().print(table)


@benefits_app.command("sweep")
def sweep_command(policy: Optional[list[str]] = typer.Option(None, "--policy", help="Only these policies (repeat)."),
                  at: Optional[str] = typer.Option(None, help="ISO time to evaluate at (default: now)"),
                  as_json: bool = typer.Option(False, "--json"), database_url: Optional[str] = DB_OPTION) -> None:
    """Every subject of the registries against the policies: grants and offers what the events missed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from twonets.data import catalogue
    from twonets.govservices import benefits
    from twonets.govservices.policies import get

    for code in policy or []:
        get(code)  # NotFound names an unknown policy before any work
    engine = _engine(database_url)
    with unit_of_work(engine) as session:
        total = catalogue.count_records(session, "population") + catalogue.count_records(session, "legal_persons")
        with Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                      disable=as_json) as bar:
            task = bar.add_task("sweep", total=total)
            counts = benefits.sweep(session, at=_time(at), codes=policy or None, progress=lambda n: bar.advance(task, n),
                                    commit_every=25)
    if as_json:
        typer.echo(json.dumps(counts, ensure_ascii=False))
    else:
        console.print(" · ".join(f"{k} {v}" for k, v in counts.items()))


@benefits_app.command("birthdays")
def birthdays_command(on: Optional[str] = typer.Option(None, help="The day (YYYY-MM-DD, local; default today)"),
                      as_json: bool = typer.Option(False, "--json"), database_url: Optional[str] = DB_OPTION) -> None:
    """The persons turning an age a policy names that day: evaluated."""
    from twonets.govservices import benefits

    try:
        day = date.fromisoformat(on) if on else None
    except ValueError:
        raise typer.BadParameter(f"{on!r} is not a date (YYYY-MM-DD)") from None
    with unit_of_work(_engine(database_url)) as session:
        counts = benefits.benefits_of(benefits.on_birthdays(session, day))
    typer.echo(json.dumps(counts, ensure_ascii=False) if as_json else " · ".join(f"{k} {v}" for k, v in counts.items()) or "nobody")
