"""Backfills from files (`twonets ingest FILE`): CSV or Parquet with the columns
thing_id, attribute, ts, value — through the same validated pipeline, in batches, with a
Rich progress bar."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from twonets.city.sensing import pipeline
from twonets.city.sensing.readings import Item, Rejected
from twonets.core.calendar import utcnow
from twonets.core.db import default_engine, unit_of_work
from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg

COLUMNS = ("thing_id", "attribute", "ts", "value")


def _number(raw):
    if isinstance(raw, (int, float)) or raw is None:
        return raw
    try:
        return float(raw)
    except ValueError:
        return raw


def _csv_rows(path: Path) -> Iterator[dict]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(Msg("{name}: missing column(s) {missing}; expected {columns}", name=path.name, missing=', '.join(missing), columns=', '.join(COLUMNS)))
        yield from reader


def _parquet_rows(path: Path) -> Iterator[dict]:
    import polars as pl

    frame = pl.read_parquet(path)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(Msg("{name}: missing column(s) {missing}; expected {columns}", name=path.name, missing=', '.join(missing), columns=', '.join(COLUMNS)))
    for row in frame.select(COLUMNS).iter_rows(named=True):
        if isinstance(row["ts"], datetime):
            row["ts"] = row["ts"].isoformat() if row["ts"].tzinfo else row["ts"].isoformat() + "+00:00"
        yield row


def rows_of(path: Path) -> Iterator[dict]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path)
    if suffix in (".parquet", ".pq"):
        return _parquet_rows(path)
    raise InvalidInput(Msg("{name}: use a .csv or .parquet file", name=path.name))


def count_rows(path: Path) -> int | None:
    if path.suffix.lower() == ".csv":
        with path.open("rb") as fh:
            return max(sum(1 for _ in fh) - 1, 0)
    import polars as pl

    return pl.scan_parquet(path).select(pl.len()).collect().item()


def ingest_file(path: Path, *, engine: Engine | None = None, detect: bool = False, batch: int = 5000,
                progress: bool = True, received_at: datetime | None = None) -> pipeline.IngestResult:
    engine = engine or default_engine()
    total = pipeline.IngestResult()
    ref = path.name

    def flush(items: list[Item], bad: list) -> None:
        with unit_of_work(engine) as session:
            total.add(pipeline.ingest_items(session, items, bad, source="file", received_at=received_at or utcnow(),
                                            detect=detect, ref=ref))

    bar = None
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("[bold]ingest[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeRemainingColumn())
        task = bar.add_task(ref, total=count_rows(path))
        bar.start()
    try:
        items: list[Item] = []
        bad: list[tuple[Rejected, str | None]] = []
        for n, row in enumerate(rows_of(path), start=1):
            items.append(Item(n, row.get("thing_id") or None, row.get("ts") or None, row.get("attribute") or None,
                              _number(row.get("value")), row))
            if len(items) >= batch:
                flush(items, bad)
                items, bad = [], []
                if bar is not None:
                    bar.update(task, completed=n)
        if items or bad:
            flush(items, bad)
        if bar is not None:
            bar.update(task, completed=bar.tasks[0].total)
    finally:
        if bar is not None:
            bar.stop()
    return total
