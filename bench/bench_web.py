"""Web benchmarks on the 30-day demo (`twonets demo --days 30`, SQLite), served by `twonets serve`:

- server render time p50/p99 of the console wall, the dispatch board, an order page (a
  different order each time) and the portal home: one request at a time on a keep-alive
  connection from 127.0.0.1, signed in as the demo's dispatcher (the portal as its citizen);
  a page that answers 404 is reported as skipped, with the reason;
- the time from an alarm published on MQTT (what an ingestion worker forwards when a detector
  fires: city/sensing/bridge.py) to its entry on an open console page (Playwright driving
  Debian's Chromium, /usr/bin/chromium; never `playwright install`), on the project's broker.

The demo database is cached under TWONETS_BENCH_CACHE (default /tmp/twonets-bench), keyed by the
demo's last day (yesterday), with its key directory (a database is bound to its keys): building it
takes minutes, and is done once a day.

    python -m bench web
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx

from bench.bench_city import CACHE_DIR, Server, note

DAYS = int(os.environ.get("TWONETS_BENCH_WEB_DAYS", "30"))
SEED = 7
REQUESTS = int(os.environ.get("TWONETS_BENCH_WEB_REQUESTS", "60"))
ALARMS = int(os.environ.get("TWONETS_BENCH_WEB_ALARMS", "10"))
VERSION = 1  # bump when the demo changes in a way that matters here
PASSWORD = "twonets-demo-2026"  # the demo accounts' password (twonets/demo/accounts.py)
CHROMIUM = "/usr/bin/chromium"


def demo_db() -> tuple[str, Path, float | None]:
    """(database URL, key directory, seconds it took to build or None when cached)."""
    from twonets.core import calendar

    end = calendar.local_date(calendar.utcnow()) - timedelta(days=1)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    stem = CACHE_DIR / f"web-v{VERSION}-seed{SEED}-days{DAYS}-{end:%Y%m%d}"
    path, keys = stem.with_suffix(".db"), Path(f"{stem}-keys")
    if path.exists() and keys.exists():
        return f"sqlite:///{path}", keys, None
    for old in CACHE_DIR.glob(f"web-v{VERSION}-seed{SEED}-days{DAYS}-*"):  # another day's demo
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    started = time.perf_counter()
    building = stem.with_suffix(".building")
    env = dict(os.environ, TWONETS_KEY_DIR=str(keys), TWONETS_LOG_LEVEL="WARNING")
    note(f"building the {DAYS}-day demo (once a day; minutes)")
    subprocess.run([sys.executable, "-m", "twonets.cli", "demo", "--days", str(DAYS), "--seed", str(SEED),
                    "--database-url", f"sqlite:///{building}"], env=env, check=True, stdout=subprocess.DEVNULL)
    for suffix in ("-wal", "-shm"):
        p = Path(str(building) + suffix)
        if p.exists():
            p.unlink()
    building.rename(path)
    return f"sqlite:///{path}", keys, time.perf_counter() - started


def signed_in(base: str, username: str) -> httpx.Client:
    """A client with a web session (cookie sign-in with its CSRF token)."""
    c = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    page = c.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post("/signin", data={"csrf_token": token, "username": username, "password": PASSWORD, "next": ""})
    if r.status_code != 303:
        raise RuntimeError(f"signing in as {username} answered {r.status_code}")
    return c


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def render_times(client: httpx.Client, name: str, paths: list[str]) -> str:
    """p50/p99 of GET over `paths` (cycled), one at a time, after a warm-up."""
    first = client.get(paths[0])
    if first.status_code == 404:
        return (f"web_render_{name}: skipped (GET {paths[0]} answers 404: that page is not built on this branch; "
                f"the figure appears once it is)")
    if first.status_code in (301, 302, 303, 307):
        return (f"web_render_{name}: skipped (GET {paths[0]} redirects to {first.headers.get('location')}: "
                f"the demo account cannot open it on this branch)")
    if first.status_code != 200:
        raise RuntimeError(f"GET {paths[0]} answered {first.status_code}")
    for p in paths[:5]:
        client.get(p)
    took = []
    for i in range(REQUESTS):
        path = paths[i % len(paths)]
        started = time.perf_counter()
        r = client.get(path)
        took.append((time.perf_counter() - started) * 1000)
        if r.status_code != 200:
            raise RuntimeError(f"GET {path} answered {r.status_code}")
    return (f"web_render_{name}: p50 {_pct(took, 0.5):.1f} ms, p99 {_pct(took, 0.99):.1f} ms (target: p99 < 150 ms; "
            f"GET {paths[0] if len(paths) == 1 else paths[0].rsplit('/', 1)[0] + '/…'}, {REQUESTS} requests one at a "
            f"time, {DAYS}-day demo, SQLite, one server process)")


def order_paths(base: str, n: int) -> list[str]:
    token = httpx.post(base + "/api/v1/auth/login", json={"username": "desk", "password": PASSWORD}).json()["access_token"]
    r = httpx.get(base + "/api/v1/orders", params={"limit": n}, headers={"Authorization": f"Bearer {token}"})
    return [f"/console/orders/{o['id']}" for o in r.json()["items"]]


def alarm_latency(base: str) -> str:
    """Seconds from publishing an alarm on MQTT to its entry on an open console."""
    from playwright.sync_api import sync_playwright

    from twonets.city.sensing import bridge, mqtt

    cfg = mqtt.sensing_settings()
    pub = mqtt.client(f"bench-web-{uuid.uuid4().hex[:8]}")
    pub.connect(cfg.mqtt_host, cfg.mqtt_port)
    pub.loop_start()
    took: list[float] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(base + "/signin")
            page.fill("#username", "desk")
            page.fill("#password", PASSWORD)
            page.click("form[action='/signin'] button[type=submit]")
            page.wait_for_load_state()
            page.goto(base + "/console")
            page.wait_for_selector("#map[data-ready='1']", timeout=120_000)
            page.wait_for_selector("#live[data-state='live']", timeout=30_000)

            def one(name: str, wait_ms: int) -> float | None:
                payload = {"event": "fire", "id": f"AL-BENCH-{uuid.uuid4().hex[:8]}", "detector": "bench",
                           "thing_id": "BENCH-1", "category": "bench", "severity": "normal", "order_id": None,
                           "at": "2026-12-01T08:00:00+00:00", "detail": "bench", "name_zh": name, "name_en": name}
                started = time.perf_counter()
                pub.publish(bridge.event_topic("alarm"), json.dumps(payload, ensure_ascii=False), qos=1)
                try:
                    page.wait_for_selector(f"#alarm-list li:has-text('{name}')", timeout=wait_ms)
                except Exception:  # noqa: BLE001 - not shown in time
                    return None
                return time.perf_counter() - started

            # The server subscribes to the broker when the console opens its stream: the first
            # alarms may go out before that; publish until one shows (bounded), then measure.
            for i in range(20):
                if one(f"bench warm-up {i} {uuid.uuid4().hex[:4]}", 1000) is not None:
                    break
            for i in range(ALARMS):
                t = one(f"bench 告警 {i} {uuid.uuid4().hex[:4]}", 10_000)
                if t is None:
                    raise RuntimeError("an alarm did not appear on the console within 10 s")
                took.append(t)
            browser.close()
    finally:
        pub.loop_stop()
        pub.disconnect()
    return (f"web_alarm_to_console: p50 {statistics.median(took):.2f} s, max {max(took):.2f} s (target: < 2 s; "
            f"{ALARMS} alarms published on MQTT as an ingestion worker forwards them, until shown in the console's "
            f"alarm list in Chromium, project's broker)")


def run() -> list[str]:
    from twonets.city.sensing import broker

    lines: list[str] = []
    url, keys, built = demo_db()
    if built is not None:
        lines.append(f"web_demo_generation: {built:.0f} s (target: — ; the {DAYS}-day demo, once a day, cached)")
    saved = {k: os.environ.get(k) for k in ("TWONETS_KEY_DIR", "TWONETS_MQTT_HOST", "TWONETS_MQTT_PORT",
                                            "TWONETS_LOG_LEVEL")}
    os.environ.update(TWONETS_KEY_DIR=str(keys), TWONETS_LOG_LEVEL="WARNING")
    from twonets.core.config import settings

    settings.cache_clear()
    data = Path(tempfile.mkdtemp(prefix="twonets-bench-web-"))
    b = None
    try:
        try:
            broker.executable()
            b = broker.Broker(data / "mosquitto").start()
            os.environ.update(b.env)
        except RuntimeError as exc:
            note(f"no broker ({exc}): the alarm figure is skipped")
        with Server(url) as server:
            desk = signed_in(server.base, "desk")
            lines.append(render_times(desk, "console", ["/console"]))
            lines.append(render_times(desk, "board", ["/console/board"]))
            lines.append(render_times(desk, "order_page", order_paths(server.base, REQUESTS)))
            try:
                citizen = signed_in(server.base, "citizen")
            except RuntimeError as exc:  # no web sign-in for citizens on this branch: the anonymous page
                note(str(exc))
                citizen = httpx.Client(base_url=server.base, timeout=60, follow_redirects=False)
            lines.append(render_times(citizen, "portal_home", ["/portal"]))
            if b is None:
                lines.append("web_alarm_to_console: skipped (Mosquitto is not installed)")
            elif not os.path.exists(CHROMIUM):
                lines.append(f"web_alarm_to_console: skipped ({CHROMIUM} is missing)")
            else:
                try:
                    lines.append(alarm_latency(server.base))
                except Exception as exc:  # noqa: BLE001 - keep the render figures
                    lines.append(f"web_alarm_to_console: FAILED ({type(exc).__name__}: {str(exc).splitlines()[0]})")
    finally:
        if b is not None:
            b.stop()
        shutil.rmtree(data, ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        settings.cache_clear()
    return lines


if __name__ == "__main__":
    for line in run():
        print(line)
