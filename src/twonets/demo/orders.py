"""The demo: a synthetic district and DAYS of work orders, as the district would have lived them.

    created = run_demo(engine, days=7, seed=7, orders_per_day=None, if_empty=True, console=console)

Each simulated order goes through the same pure functions as a real one
(`lifecycle.creation_event`, `decide`, `apply`, `timer_events`), in memory and in time order,
so its stored projection is the replay of its stored events by construction. The timer is
simulated too: warnings, overdue flags and automatic escalation appear at the moments the
server's timer would have raised them. Each day is handed to the city's service layer in one
call, `orders.import_history` (one transaction per day, public ids reserved in blocks), which
checks every history against the lifecycle and writes it in bulk: a service call per
transition would be far too slow for the ~200,000 orders of a month.

The mix follows the district's figures: 5,000–8,000 orders a day (fewer on rest days), about
40% auto-detected, 35% found by inspectors and 25% from citizens; auto orders are mostly
resolved the same day; some orders are returned and re-dispatched (ping-pong), run late,
are suspended, escalated, cancelled or merged into a master as duplicates; citizens are
sometimes dissatisfied or say the problem is not actually resolved (the order reopens); orders
of the last days are still open. Everything depends only on the seed and the days: one
`random.Random(seed)`, and the wall clock only to pick "yesterday".

The parts: `demo_mix` (who reports what, and how it goes), `demo_district` (where),
`demo_life` (one order's life), `simulation` (a day of orders); here, the bulk writing per day
and the entry point.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from datetime import UTC, date, timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from twonets.city import orders as work_orders
from twonets.city import routing
from twonets.city.models import Reporter
from twonets.core import calendar, ids
from twonets.core.db import unit_of_work
from twonets.core.i18n import tr
from twonets.demo import district as district_mod
from twonets.demo.simulation import Simulator

UTC = UTC


# --- writing -----------------------------------------------------------------------------------


def _cached_router(session: Session) -> Callable[[str, str, str], str]:
    """routing.route, cached; the grid matters only for categories that have grid rules."""
    grid_rules = routing.categories_with_grid_rules(session)
    any_grid = None in grid_rules
    cache: dict[tuple[str, str, str | None], str] = {}

    def route(category: str, street: str, grid: str) -> str:
        key = (category, street, grid if any_grid or category in grid_rules else None)
        if key not in cache:
            cache[key] = routing.route(session, category, street, key[2])
        return cache[key]

    return route


def yesterday() -> date:
    return calendar.local_date(calendar.utcnow()) - timedelta(days=1)


def simulate_days(engine: Engine, simulator: Simulator, days: list[date], orders_per_day: int | None,
                  on_day: Callable[[date, int, int], None] | None = None, *,
                  with_reporters: bool = True) -> tuple[int, int]:
    """Simulate and store the given days (one transaction each). Returns (orders, events)."""
    total_orders = total_events = 0
    for day in days:
        n = simulator.volume(day, orders_per_day)
        specs = simulator.specs(day, n)
        with unit_of_work(engine) as session:
            for spec, pid in zip(specs, ids.reserve(session, "WO", calendar.local_midnight(day), len(specs))):
                spec.public_id = pid
            simulator.prune(calendar.local_midnight(day) - timedelta(days=1))
            lives = [simulator.live(spec) for spec in specs]
            histories = [work_orders.History(life.events, Reporter(name=spec.reporter[0], phone=spec.reporter[1])
                                             if with_reporters and spec.reporter else None)
                         for spec, life in zip(specs, lives)]
            _, n_events = work_orders.import_history(session, histories)
        total_orders += len(lives)
        total_events += n_events
        if on_day:
            on_day(day, len(lives), n_events)
    return total_orders, total_events


def prepare(engine: Engine, seed: int) -> list[dict[str, Any]]:
    """Reference data and the synthetic district (with its street routing rules)."""
    with unit_of_work(engine) as session:
        work_orders.sync_reference(session)
        return district_mod.seed_district(session, seed)


def run_demo(engine: Engine, *, days: int, seed: int, orders_per_day: int | None = None, if_empty: bool = False,
             console: Console | None = None, end_day: date | None = None) -> int:
    """Seed the district and simulate DAYS of orders ending `end_day` (default: yesterday, local).
    Returns the number of orders created (0 when `if_empty` and orders exist)."""
    console = console or Console()
    if days < 1:
        raise ValueError("days must be at least 1")
    with unit_of_work(engine) as session:
        existing = work_orders.count_orders(session)
    if if_empty and existing:
        console.print("[yellow]" + tr("demo skipped:") + "[/] "
                      + tr("the database already holds {count} work orders", count=f"{existing:,}"))
        return 0
    started = _time.perf_counter()
    rows = prepare(engine, seed)
    end_day = end_day or yesterday()
    first = end_day - timedelta(days=days - 1)
    the_days = [first + timedelta(days=i) for i in range(days)]
    end = calendar.local_midnight(end_day + timedelta(days=1))
    counts = {lvl: sum(1 for r in rows if r["level"] == lvl) for lvl in ("street", "community", "grid")}
    console.print(tr("district: {streets} streets, {communities} communities, {grids} grids, {area} km² (seed {seed})",
                     streets=counts["street"], communities=counts["community"], grids=counts["grid"],
                     area=f"{rows[0]['area_km2']:.1f}", seed=seed))
    with unit_of_work(engine) as session:
        router = _cached_router(session)
        simulator = Simulator(rows, seed, router, end)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task(tr("simulating days"), total=days, info="")
            totals = {"orders": 0, "events": 0}

            def on_day(day: date, n: int, ev: int) -> None:
                totals["orders"] += n
                totals["events"] += ev
                progress.update(task, advance=1, info=f"{day} · {totals['orders']:,} orders · {totals['events']:,} events")

            orders, events = simulate_days(engine, simulator, the_days, orders_per_day, on_day)
    took = _time.perf_counter() - started
    console.print("[green]" + tr("demo:") + "[/] " + tr(
        "{orders} work orders and {events} events from {first} to {last} in {seconds} s", orders=f"{orders:,}",
        events=f"{events:,}", first=first, last=end_day, seconds=f"{took:.1f}"))
    return orders
