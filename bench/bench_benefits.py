"""Benefits without application (免申即享) benchmarks, SQLite in a temporary directory:

- the sweep over 100,000 persons (and their companies) × the 24 policies: paging the
  registries, batched screening reads through the access service (recorded), the screened-in
  read again as each policy's own read and stored with their facts. Two figures: the first run
  over a registry loaded without events (it grants and offers to everyone eligible: a backfill),
  and the nightly sweep after it, which finds the births registered that day whose events were
  missed (loaded without announcing them);
- the event-triggered path: a birth registered through the data foundation (`upsert_records`,
  commit) → the `RecordsChanged` handler → the policies evaluated → the grant committed; the
  latency from the registry change to the committed grant, per birth.

The seeded 100,000-person registry is cached under /tmp (seeding takes minutes), keyed by size.

    python -m bench benefits          # TWONETS_BENCH_BENEFIT_PERSONS=10000 for a quicker look
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

PERSONS = int(os.environ.get("TWONETS_BENCH_BENEFIT_PERSONS", "100000"))
COMPANIES = PERSONS // 20
BIRTHS = int(os.environ.get("TWONETS_BENCH_BIRTHS", "300"))
CACHE_DIR = Path(os.environ.get("TWONETS_BENCH_CACHE", "/tmp/twonets-bench"))
VERSION = 1  # bump when the seed changes


def note(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _database(tmp: Path) -> str:
    """A copy of the cached seeded database (made on first use) with its key directory."""
    from twonets.core import db
    from twonets.core.config import settings

    cached = CACHE_DIR / f"benefits-v{VERSION}-{PERSONS}"
    if not (cached / "bench.db").exists():
        note(f"seeding {PERSONS:,} persons and {COMPANIES:,} companies (cached in {cached})")
        building = CACHE_DIR / f"benefits-building-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        os.environ["TWONETS_KEY_DIR"] = str(building / "keys")
        settings.cache_clear()
        url = f"sqlite:///{building / 'bench.db'}"
        db.upgrade(url)
        from twonets.demo.govservices import seed_services

        engine = db.make_engine(url)
        seed_services(engine, 7, persons=PERSONS, companies=COMPANIES)
        engine.dispose()
        shutil.rmtree(cached, ignore_errors=True)
        building.rename(cached)
    shutil.copytree(cached, tmp / "db")
    os.environ["TWONETS_KEY_DIR"] = str(tmp / "db" / "keys")
    settings.cache_clear()
    return f"sqlite:///{tmp / 'db' / 'bench.db'}"


MISSED = 200  # births registered without their event reaching the services, before the nightly sweep


def bench_sweep(engine) -> tuple[float, dict]:
    from twonets.core.calendar import utcnow
    from twonets.core.db import unit_of_work
    from twonets.govservices import benefits

    t0 = time.perf_counter()
    with unit_of_work(engine) as s:
        counts = benefits.sweep(s, at=utcnow(), commit_every=25)
    return time.perf_counter() - t0, counts


def miss_births(engine) -> None:
    """Births of insured parents registered with their events lost (not announced)."""
    from sqlalchemy import select

    from twonets.core.actor import SYSTEM
    from twonets.core.db import unit_of_work
    from twonets.data import catalogue
    from twonets.govservices.benefit_tables import svc_benefit

    with unit_of_work(engine) as s:
        have = set(s.execute(select(svc_benefit.c.subject_id).where(svc_benefit.c.policy == "BEN-NEWBORN-INSURANCE")).scalars())
        parents = [f"P{i:06d}" for i in range(PERSONS, 0, -1) if f"P{i:06d}" not in have][:MISSED]
        catalogue.upsert_records(s, SYSTEM, "births", [{"key": f"M{n:06d}-{p}", "subject_id": p, "data": {
            "parent_id": p, "child_id": f"M{n:06d}"}} for n, p in enumerate(parents)], announce=False)


def bench_events(engine) -> list[float]:
    """ms from the registry change (upsert + commit, handlers included) to the committed grant."""
    from sqlalchemy import select

    from twonets import bootstrap
    from twonets.core.actor import SYSTEM
    from twonets.core.db import session_factory, unit_of_work
    from twonets.data import catalogue
    from twonets.govservices.benefit_tables import svc_benefit

    bootstrap.start()
    with session_factory(engine)() as s:  # insured parents without a childbirth allowance yet
        have = set(s.execute(select(svc_benefit.c.subject_id).where(svc_benefit.c.policy == "BEN-CHILDBIRTH")).scalars())
    latencies = []
    n = 0
    for i in range(1, PERSONS + 1):
        parent = f"P{i:06d}"
        if parent in have:
            continue
        t0 = time.perf_counter()
        with unit_of_work(engine) as s:
            catalogue.upsert_records(s, SYSTEM, "births", [{"key": f"B{n:06d}-{parent}", "subject_id": parent, "data": {
                "parent_id": parent, "child_id": f"B{n:06d}"}}])
        elapsed = (time.perf_counter() - t0) * 1000
        with session_factory(engine)() as s:
            if s.execute(select(svc_benefit.c.id).where(svc_benefit.c.subject_id == parent,
                                                        svc_benefit.c.policy == "BEN-NEWBORN-INSURANCE")).first() is None:
                raise AssertionError(f"the birth of {parent}'s child granted nothing")
        latencies.append(elapsed)
        n += 1
        if n >= BIRTHS:
            break
    return latencies


def run() -> list[str]:
    from twonets.core import db

    with tempfile.TemporaryDirectory(prefix="twonets-bench-benefits-") as tmpdir:
        url = _database(Path(tmpdir))
        engine = db.make_engine(url)
        from twonets.govservices.policies import all_policies

        note(f"first sweep (backfill) over {PERSONS:,} persons × {len(all_policies())} policies")
        first, counts = bench_sweep(engine)
        note(f"first sweep: {counts}")
        miss_births(engine)
        note(f"nightly sweep, {MISSED} births' events missed")
        took, nightly = bench_sweep(engine)
        note(f"nightly sweep: {nightly}")
        if nightly["granted"] < MISSED:
            raise AssertionError(f"the nightly sweep granted {nightly['granted']}, fewer than the {MISSED} missed births")
        lat = bench_events(engine)
        engine.dispose()
    k, n = PERSONS // 1000, len(all_policies())
    return [
        f"benefits_first_sweep_{k}k_persons_x_{n}_policies: {first:.1f} s (target: none, a backfill granting "
        f"{counts['granted'] + counts['offered']} benefits)",
        f"benefits_nightly_sweep_{k}k_persons_x_{n}_policies: {took:.1f} s (target: < 60 s)",
        f"benefits_event_to_grant_p50: {statistics.median(lat):.1f} ms (target: none)",
        f"benefits_event_to_grant_p99: {_pct(lat, 0.99):.1f} ms (target: < 200 ms)",
    ]
