"""Readings for analysis: export to Parquet (Polars), questions over Parquet with DuckDB.

Exports go by period, so a data lake of daily files is `export --from D --to D+1` per day;
DuckDB reads one file or a glob of them in place, without loading anything into the
operational database.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, select

from twonets.city.sensing.tables import reading as reading_t
from twonets.core.db import default_engine

GROUPS = {"attribute": "attribute", "thing_id": "thing_id", "hour": "date_trunc('hour', CAST(ts AS TIMESTAMP))"}


def export_parquet(out: Path, start: datetime, end: datetime, *, engine: Engine | None = None,
                   chunk: int = 200_000) -> int:
    """Raw readings in [start, end) to one Parquet file (UTC timestamps). Returns the count."""
    import polars as pl

    engine = engine or default_engine()
    schema = {"thing_id": pl.String, "attribute": pl.String, "ts": pl.Datetime("us", "UTC"), "value": pl.Float64}
    frames = []
    q = (select(reading_t.c.thing_id, reading_t.c.attribute, reading_t.c.ts, reading_t.c.value)
         .where(reading_t.c.ts >= start, reading_t.c.ts < end).order_by(reading_t.c.ts))
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=chunk).execute(q)
        for part in result.partitions(chunk):
            frames.append(pl.DataFrame([tuple(r) for r in part], schema=schema, orient="row"))
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(out)
    return frame.height


def summarise(files: str | Path, by: str = "attribute") -> list[dict]:
    """count, mean, min, max and p95 of the values per attribute, thing or hour (DuckDB)."""
    import duckdb

    if by not in GROUPS:
        raise ValueError(f"group by one of {', '.join(GROUPS)}")
    con = duckdb.connect()
    try:
        rel = con.execute(
            f"SELECT {GROUPS[by]} AS {by}, count(*) AS count, avg(value) AS mean, min(value) AS min, "
            f"max(value) AS max, quantile_cont(value, 0.95) AS p95 "
            f"FROM read_parquet(?) GROUP BY 1 ORDER BY 1", [str(files)])
        cols = [d[0] for d in rel.description]
        rows = [dict(zip(cols, row)) for row in rel.fetchall()]
        if by == "hour":  # naive UTC from DuckDB: say so
            for r in rows:
                r["hour"] = r["hour"].isoformat() + "Z"
        return rows
    finally:
        con.close()
