"""Citizen portal render times (SQLite, in a temporary directory): the demo district with
`TWONETS_BENCH_PORTAL_DAYS` (30) days of orders and the services with 5,000 people; a citizen
who has filed reports and applications signs in through `/signin` and the pages are rendered
in-process (the server's time: routing, service calls, template), each `REPEAT` times.

    python -m bench portal
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

DAYS = int(os.environ.get("TWONETS_BENCH_PORTAL_DAYS", "30"))
PER_DAY = int(os.environ.get("TWONETS_BENCH_PORTAL_ORDERS_PER_DAY", "6000"))
PERSONS = int(os.environ.get("TWONETS_BENCH_PERSONS", "5000"))
REPEAT = int(os.environ.get("TWONETS_BENCH_PORTAL_REPEAT", "200"))
PAGES = {"home": "/portal", "search": "/portal/search?q=我想办敬老卡", "guide": "/portal/matters/MINZHENG-001",
         "services": "/portal/services", "report form": "/portal/report", "me": "/portal/me"}
PASSWORD = "bench-portal-2026"


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _setup(tmp: Path):
    os.environ["TWONETS_KEY_DIR"] = str(tmp / "keys")
    os.environ["TWONETS_MEDIA_DIR"] = str(tmp / "media")
    from twonets.core.config import settings

    settings.cache_clear()
    from twonets.cli import load_definitions
    from twonets.core import db
    from twonets.core.actor import SYSTEM
    from twonets.demo.govservices import seed_services
    from twonets.demo.orders import run_demo
    from twonets.demo.personas import PERSONAS

    url = f"sqlite:///{tmp / 'bench.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    with db.unit_of_work(engine) as session:
        load_definitions(session)
    run_demo(engine, days=DAYS, seed=7, orders_per_day=PER_DAY)
    seed_services(engine, 7, persons=PERSONS, companies=300)
    from twonets.city import orders, spatial
    from twonets.city.models import OrderCreate
    from twonets.data import identity
    from twonets.govservices import applications

    with db.unit_of_work(engine) as session:
        user = identity.create_user(session, SYSTEM, username="bench.citizen", password=PASSWORD, roles=["citizen"],
                                    subject_id=PERSONAS["elderly_local"]["person_id"])
        actor = user.actor()
        grids = spatial.feature_collection(session, "grid")["features"]
        for i in range(20):  # a citizen who reports now and then, here and there
            ring = grids[(i * 37) % len(grids)]["geometry"]["coordinates"][0][:-1]
            lon, lat = sum(c[0] for c in ring) / len(ring), sum(c[1] for c in ring) / len(ring)
            orders.create_order(session, actor, OrderCreate(source="citizen", channel="web", category="illegal_ad",
                                                            description=f"楼道小广告 {i}", lon=lon, lat=lat))
        for code in ("MINZHENG-001", "JIEDAO-001", "RENSHE-001"):
            applications.start(session, actor, code, consent=True)
    return engine


def run() -> list[str]:
    import logging
    import warnings

    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

    from twonets.api.app import create_app

    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="twonets-bench-portal-") as tmp:
        t0 = time.perf_counter()
        engine = _setup(Path(tmp))
        seed_s = time.perf_counter() - t0
        out = [f"portal bench seed ({DAYS} days of orders, {PERSONS} persons): {seed_s:.1f} s (target: —)"]
        with TestClient(create_app(engine), follow_redirects=False) as client:
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)
            r = client.post("/signin", data={"csrf_token": token, "username": "bench.citizen", "password": PASSWORD, "next": ""})
            assert r.status_code == 303, r.text
            for name, path in PAGES.items():
                assert client.get(path).status_code == 200, path  # warm
                times = []
                for _ in range(REPEAT):
                    t = time.perf_counter()
                    client.get(path)
                    times.append((time.perf_counter() - t) * 1000)
                target = "p99 < 150 ms" if name == "home" else "—"
                out.append(f"portal {name} render p50: {_pct(times, 0.5):.1f} ms (target: —)")
                out.append(f"portal {name} render p99: {_pct(times, 0.99):.1f} ms (target: {target})")
        engine.dispose()
    return out


if __name__ == "__main__":
    for line in run():
        print(line)
