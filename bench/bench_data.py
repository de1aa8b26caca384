"""Data-foundation benchmarks (SQLite, in a temporary directory):

- masked, audited record lookups per second through the access service (grant check, field
  minimisation, masking, one audit-chain entry and one access-log row per read, each read its
  own committed unit of work);
- `audit verify` over one million chained entries (built with bulk inserts).

    python -m bench data
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from datetime import UTC, timedelta
from pathlib import Path

READS = int(os.environ.get("TWONETS_BENCH_READS", "3000"))
PEOPLE = 10_000
AUDIT_ENTRIES = int(os.environ.get("TWONETS_BENCH_AUDIT_ENTRIES", "1000000"))


def _people(n: int) -> list[dict]:
    return [
        {
            "key": f"P{i:06d}",
            "subject_id": f"P{i:06d}",
            "data": {
                "person_id": f"P{i:06d}",
                "name": "张三丰",
                "id_number": f"310101199001{i:06d}",
                "phone": f"138{i:08d}",
                "address": "上海市黄浦区南京东路100号5室",
                "street": "nanjingdong",
            },
        }
        for i in range(n)
    ]


def bench_reads(url: str) -> tuple[float, int]:
    from twonets.core.actor import Actor
    from twonets.core.calendar import utcnow
    from twonets.core.db import make_engine, session_factory
    from twonets.data import access, catalogue, sharing

    engine = make_engine(url)
    sessions = session_factory(engine)
    owner = Actor("bench-owner", frozenset({"data_officer"}), department="gongan")
    reader = Actor("bench-reader", frozenset({"department_handler"}), department="minzheng")
    with sessions() as s:
        catalogue.sync_definitions(s)
        catalogue.upsert_records(s, owner, "population", _people(PEOPLE))
        req = sharing.request_share(
            s, reader, "population", purpose="benchmark eligibility check", valid_until=utcnow() + timedelta(days=1),
            fields=["person_id", "name", "id_number", "phone", "address"],
        )
        sharing.decide(s, owner, req.id, approve=True, reason="benchmark")
        s.commit()

    def one(i: int) -> None:
        with sessions() as s:
            out = access.read_records(
                s, reader, "population", "benchmark eligibility check", subject_ids=[f"P{(i * 7919) % PEOPLE:06d}"], matter="MT-BENCH"
            )
            s.commit()
        assert out.records and "*" in out.records[0]["data"]["id_number"]

    for i in range(100):  # warm up caches and the statement cache
        one(i)
    started = time.perf_counter()
    for i in range(READS):
        one(i)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return READS / elapsed, READS


def build_chain(path: Path, n: int) -> None:
    """n chained audit entries written straight through sqlite3 executemany (no per-entry append)."""
    import base64
    from datetime import datetime

    from twonets.core.config import settings
    from twonets.data.audit import GENESIS, canonical_data, checkpoint_message, entry_hash
    from twonets.data.keys import system_key

    key, every = system_key(), settings().audit_checkpoint_every or 1000
    checkpoints: list[tuple] = []

    start = datetime(2026, 1, 1, tzinfo=UTC)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    prev = GENESIS
    batch: list[tuple] = []
    kinds = ("access", "decision", "admin")
    sql = "INSERT INTO audit_entry (seq, at, kind, actor, action, subject, data, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)"
    for seq in range(1, n + 1):
        at = start + timedelta(microseconds=seq * 1237)
        kind = kinds[seq % 3]
        actor = f"USR-20260101-{seq % 500:06d}"
        subject = "population"
        data = canonical_data({"department": "minzheng", "purpose": "eligibility", "subjects": [f"P{seq % 1000:06d}"], "records": 1})
        digest = entry_hash(prev, seq, at, kind, actor, "read", subject, data)
        batch.append((seq, at.strftime("%Y-%m-%d %H:%M:%S.%f"), kind, actor, "read", subject, data, prev, digest))
        prev = digest
        if seq % every == 0:  # the checkpoint `append` would have signed (verify requires one per interval)
            sig = base64.b64encode(key.sign(checkpoint_message(seq, digest))).decode("ascii")
            checkpoints.append((seq, digest, at.strftime("%Y-%m-%d %H:%M:%S.%f"), key.key_id, sig))
        if len(batch) >= 50000:
            conn.executemany(sql, batch)
            batch.clear()
    if batch:
        conn.executemany(sql, batch)
    conn.executemany(
        "INSERT INTO audit_checkpoint (seq, hash, at, key_id, signature) VALUES (?,?,?,?,?)", checkpoints
    )
    conn.execute("INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)", (n, prev))
    conn.commit()
    conn.close()


def bench_verify(url: str, path: Path, n: int) -> tuple[float, bool, float]:
    from twonets.core.db import make_engine, session_factory
    from twonets.data import audit

    started = time.perf_counter()
    build_chain(path, n)
    build_s = time.perf_counter() - started
    engine = make_engine(url)
    with session_factory(engine)() as s:
        audit.checkpoint(s)
        s.commit()
    with session_factory(engine)() as s:
        started = time.perf_counter()
        result = audit.verify(s)
        elapsed = time.perf_counter() - started
    engine.dispose()
    if result.entries != n:
        raise AssertionError(f"verify saw {result.entries} entries, expected {n}")
    return elapsed, result.ok, build_s


def run() -> list[str]:
    from twonets.core.config import settings
    from twonets.core.db import upgrade

    saved = os.environ.get("TWONETS_KEY_DIR")
    with tempfile.TemporaryDirectory(prefix="twonets-bench-data-") as tmp:
        os.environ["TWONETS_KEY_DIR"] = str(Path(tmp) / "keys")
        settings.cache_clear()
        try:
            reads_db = Path(tmp) / "reads.db"
            upgrade(f"sqlite:///{reads_db}")
            rate, n = bench_reads(f"sqlite:///{reads_db}")

            os.environ["TWONETS_KEY_DIR"] = str(Path(tmp) / "audit-keys")  # a chain of its own: its own anchor
            settings.cache_clear()
            audit_db = Path(tmp) / "audit.db"
            upgrade(f"sqlite:///{audit_db}")
            seconds, ok, build_s = bench_verify(f"sqlite:///{audit_db}", audit_db, AUDIT_ENTRIES)
        finally:
            if saved is None:
                os.environ.pop("TWONETS_KEY_DIR", None)
            else:
                os.environ["TWONETS_KEY_DIR"] = saved
            settings.cache_clear()
    millions = AUDIT_ENTRIES / 1_000_000
    return [
        f"data.masked_audited_reads: {rate:,.0f} reads/s (target: >= 2,000/s on SQLite; {n} reads of {PEOPLE:,} people, "
        "one unit of work each)",
        f"data.audit_verify_{millions:g}M: {seconds:.1f} s (target: < 30 s; chain {'intact' if ok else 'BROKEN'}, "
        f"{AUDIT_ENTRIES / seconds:,.0f} entries/s; bulk build took {build_s:.0f} s)",
    ]


if __name__ == "__main__":
    for line in run():
        print(line)
