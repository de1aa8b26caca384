"""Services benchmarks (SQLite, in a temporary directory, a seeded district of 5,000 people):

- instant decision latency in the service layer: `applications.submit` of an instant matter
  (form check, rule facts, decision table, decision stored with its inputs, audit entry,
  events, e-licence signed with the department's Ed25519 e-seal), each its own unit of work;
- applications handled per second through the HTTP API: a real uvicorn server on 127.0.0.1
  (in a thread), httpx clients posting `POST /api/v1/applications` with `submit: true`
  (prefill through the access service, decision, licence) as hall staff for many applicants.

    python -m bench services
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PERSONS = int(os.environ.get("TWONETS_BENCH_PERSONS", "5000"))
DECISIONS = int(os.environ.get("TWONETS_BENCH_DECISIONS", "400"))
HTTP_APPS = int(os.environ.get("TWONETS_BENCH_HTTP_APPS", "600"))
CLIENTS = int(os.environ.get("TWONETS_BENCH_CLIENTS", "4"))
# instant matters a person applies for, with a valid form
MATTERS = [
    ("MINZHENG-001", {"phone": "13800000000"}),
    ("GONGAN-001", {"address": "上海市黄浦区福州路1号", "phone": "13800000000"}),
    ("RENSHE-001", {}),
    ("MINZHENG-003", {}),
    ("JIEDAO-001", {"purpose": "子女入学"}),
]


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _setup(tmp: Path):
    os.environ["TWONETS_KEY_DIR"] = str(tmp / "keys")
    from twonets.core.config import settings

    settings.cache_clear()
    from twonets.core import db
    from twonets.demo.govservices import seed_services

    url = f"sqlite:///{tmp / 'bench.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    seed_services(engine, 7, persons=PERSONS, companies=300)
    return engine


def bench_decisions(engine) -> tuple[list[float], list[float]]:
    """(service-call latencies, latencies including the commit), in ms, after a warm-up that
    makes each department's e-seal key and loads each matter once."""
    from twonets.core.actor import Actor
    from twonets.core.db import session_factory
    from twonets.govservices import applications

    sessions = session_factory(engine)
    hall = Actor("bench-window", frozenset({"department_handler"}), department="shuju")
    rng = random.Random(1)
    latencies: list[float] = []
    committed: list[float] = []
    warmup = 2 * len(MATTERS)
    for i in range(DECISIONS + warmup):
        matter, form = MATTERS[i % len(MATTERS)]
        person = f"P{rng.randint(1, PERSONS):06d}"
        with sessions() as s:
            app = applications.start(s, hall, matter, applicant_id=person, consent=True, form=form)
            s.commit()
            t0 = time.perf_counter()
            applications.submit(s, hall, app.id)
            t1 = time.perf_counter()
            s.commit()
            t2 = time.perf_counter()
            if i >= warmup:
                latencies.append((t1 - t0) * 1000)
                committed.append((t2 - t0) * 1000)
    return latencies, committed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_http(engine) -> tuple[float, int, int]:
    import logging

    import httpx
    import uvicorn

    from twonets.api.app import create_app
    from twonets.core.actor import Actor
    from twonets.data.identity import issue_access_token

    logging.getLogger("httpx").setLevel(logging.WARNING)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    token = issue_access_token(Actor("bench-window", frozenset({"department_handler"}), department="shuju"), ttl_s=3600)[0]
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(2)
    jobs = [(MATTERS[i % len(MATTERS)], f"P{rng.randint(1, PERSONS):06d}") for i in range(HTTP_APPS)]
    errors = 0

    def run(chunk):
        nonlocal errors
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
            for (matter, form), person in chunk:
                r = client.post("/api/v1/applications", json={"matter": matter, "consent": True, "applicant_id": person, "form": form, "submit": True})
                if r.status_code != 201:
                    errors += 1

    chunks = [jobs[i::CLIENTS] for i in range(CLIENTS)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(run, chunks))
    elapsed = time.perf_counter() - t0
    server.should_exit = True
    thread.join(timeout=10)
    return HTTP_APPS / elapsed, HTTP_APPS, errors


def run() -> list[str]:
    with tempfile.TemporaryDirectory(prefix="twonets-bench-services-") as tmp:
        t0 = time.perf_counter()
        engine = _setup(Path(tmp))
        seed_s = time.perf_counter() - t0
        lat, committed = bench_decisions(engine)
        rate, n, errors = bench_http(engine)
        engine.dispose()
    return [
        f"services seed ({PERSONS} persons, written-out matters + imported list): {seed_s:.1f} s (target: —)",
        f"instant decision latency p50 (service layer, with e-licence): {_pct(lat, 0.5):.2f} ms (target: —)",
        f"instant decision latency p99 (service layer, with e-licence): {_pct(lat, 0.99):.2f} ms (target: < 5 ms)",
        f"instant decision latency mean: {statistics.fmean(lat):.2f} ms (target: —)",
        f"instant decision latency p99 including the commit: {_pct(committed, 0.99):.2f} ms (target: —)",
        f"applications handled through the HTTP API: {rate:.0f} /s (target: >= 100 /s on SQLite; {n} applications, {CLIENTS} clients, {errors} errors)",
    ]


if __name__ == "__main__":
    for line in run():
        print(line)
