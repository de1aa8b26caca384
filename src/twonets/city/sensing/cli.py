"""`twonets sensing …`: the ingestion worker, the simulator, file backfills, the absence timer,
Parquet export and DuckDB analytics."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from twonets.core.i18n import current, tr, translate

sensing_app = typer.Typer(help="City sensing: things, readings, detectors (物联感知).", no_args_is_help=True)
console = Console()


def _fail(message: str, code: int = 2) -> None:
    console.print("[bold red]" + tr("error") + f":[/] {translate(message, current())}")
    raise typer.Exit(code)


def _time(raw: Optional[str]) -> Optional[datetime]:
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        _fail(tr("{raw!r} is not an ISO 8601 time", raw=raw))
    if value.tzinfo is None:
        _fail(tr("{raw!r} needs a time zone, e.g. +08:00", raw=raw))
    return value


# Serves this process's domain metrics on (port, host): set by the composition (twonets/cli.py
# to `twonets.metrics.serve`), since the domain does not import the metrics it feeds.
serve_metrics: Callable[[int, str], object] | None = None


@sensing_app.command("worker")
def worker(
    client_id: str = typer.Option("twonets-worker-1", help="MQTT client id: keep it stable, the broker keeps its session"),
    group: str = typer.Option("twonets", help="shared-subscription group ($share/GROUP/…)"),
    root: str = typer.Option("twonets", help="topic root"),
    shared: bool = typer.Option(True, help="use the shared subscription (several workers share the load)"),
    detect: bool = typer.Option(True, help="run the detectors (off: ingestion only)"),
    timer: bool = typer.Option(True, help="run the absence timer and retention here (one worker only)"),
    duration: Optional[float] = typer.Option(None, help="stop after this many seconds"),
    batch: int = typer.Option(200, min=1, help="messages per unit of work at most"),
    session_expiry: int = typer.Option(3600, min=0, help="seconds the broker keeps this worker's session (and queues for it)"),
    metrics_port: int = typer.Option(0, min=0, envvar="TWONETS_WORKER_METRICS_PORT",
                                     help="serve this worker's /metrics (readings, quarantine, lag, alarms) on this port; 0: off"),
    metrics_host: str = typer.Option("127.0.0.1", envvar="TWONETS_WORKER_METRICS_HOST", help="address of that endpoint"),
) -> None:
    """Consume readings from MQTT (QoS 1, acked after commit) into the pipeline."""
    from twonets.city.sensing.mqtt import Worker

    if metrics_port and serve_metrics is not None:
        serve_metrics(metrics_port, metrics_host)

    w = Worker(client_id=client_id, group=group, root=root, shared=shared, detect=detect, timer=timer,
               batch_messages=batch, session_expiry_s=session_expiry)
    signal.signal(signal.SIGTERM, lambda *_: w.stop())
    console.print(tr("worker {client_id} on {host}:{port}, topics {topics}", client_id=client_id, host=w.host, port=w.port,
                     topics=", ".join(w.subscriptions())))
    try:
        stats = w.run(duration)
    except KeyboardInterrupt:
        stats = w.stats
    print(json.dumps(stats.__dict__))


@sensing_app.command("broker")
def broker(
    port: int = typer.Option(1883, help="port to listen on"),
    bind: str = typer.Option("127.0.0.1", help="address to listen on"),
    data: Path = typer.Option(Path("var/mosquitto"), help="persistence directory (sessions and queued readings)"),
) -> None:
    """Run the project's Mosquitto (deploy/mosquitto.conf: no per-session queue limit, persistent)."""
    import os

    from twonets.city.sensing import broker as project_broker

    data.mkdir(parents=True, exist_ok=True)
    conf = data / "mosquitto.conf"
    conf.write_text(project_broker.render(port, data, bind))
    console.print(f"mosquitto on {bind}:{port}, data in {data} (from {project_broker.config_path()})")
    os.execv(project_broker.executable(), ["mosquitto", "-c", str(conf)])


@sensing_app.command("tick")
def tick(at: Optional[str] = typer.Option(None, help="ISO time to evaluate at (default: now)")) -> None:
    """Run the absence rules once (offline sensors, no water use…)."""
    from twonets.city.sensing import pipeline
    from twonets.core.db import unit_of_work

    with unit_of_work() as session:
        result = pipeline.run_absence(session, _time(at))
    console.print(tr("absence alarms fired {fired}, repeated {repeated}", fired=result.fired, repeated=result.repeated))


@sensing_app.command("prune")
def prune(at: Optional[str] = typer.Option(None, help="ISO time to prune as of (default: now)")) -> None:
    """Drop raw readings past the retention (and minute rollups past theirs)."""
    from datetime import timedelta

    from twonets.city.sensing import store
    from twonets.city.sensing.config import sensing_settings
    from twonets.core.calendar import utcnow
    from twonets.core.db import unit_of_work

    cfg = sensing_settings()
    with unit_of_work() as session:
        gone = store.prune(session, _time(at) or utcnow(), cfg.retention, timedelta(days=cfg.minute_rollup_days))
    console.print(tr("pruned {readings} readings, {rollups} minute rollups", readings=gone["readings"],
                     rollups=gone["minute_rollups"]))


@sensing_app.command("ingest")
def ingest(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV (thing_id,attribute,ts,value) or Parquet"),
    detect: bool = typer.Option(False, help="run the detectors on the backfill (off by default: history)"),
    batch: int = typer.Option(5000, min=1),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Backfill readings from a file through the validated pipeline, with a progress bar."""
    from twonets.city.sensing.files import ingest_file

    result = ingest_file(file, detect=detect, batch=batch, progress=not as_json)
    if as_json:
        print(json.dumps(result.as_dict()))
    else:
        console.print(tr("stored {stored}, duplicates {duplicates}, quarantined {quarantined} (rejected {rejected}: "
                         "{reasons}), alarms {fired}", stored=result.stored, duplicates=result.duplicates,
                         quarantined=result.quarantined, rejected=result.rejected,
                         reasons=result.reasons or tr("none"), fired=result.fired))


@sensing_app.command("export")
def export(
    out: Path = typer.Argument(..., help="Parquet file to write"),
    start: str = typer.Option(..., "--from", help="ISO time, inclusive"),
    end: str = typer.Option(..., "--to", help="ISO time, exclusive"),
) -> None:
    """Export raw readings of a period to Parquet (for DuckDB, Polars, a data lake)."""
    from twonets.city.sensing.analytics import export_parquet

    n = export_parquet(out, _time(start), _time(end))
    console.print(tr("{count} readings → {out}", count=n, out=out))


@sensing_app.command("analyse")
def analyse(
    files: str = typer.Argument(..., help="Parquet file or glob written by `export`"),
    by: str = typer.Option("attribute", help="attribute, thing_id or hour"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """DuckDB over exported readings: count, mean, min, max, p95 per group."""
    from twonets.city.sensing.analytics import summarise

    try:
        rows = summarise(files, by)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        print(json.dumps(rows, default=str))
        return
    from rich.table import Table

    table = Table(by, "count", "mean", "min", "max", "p95")
    for r in rows:
        table.add_row(str(r[by]), str(r["count"]), f"{r['mean']:.3f}", f"{r['min']:g}", f"{r['max']:g}", f"{r['p95']:g}")
    console.print(table)
